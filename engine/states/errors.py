"""Retry and Catch: what happens when a state fails with an ASL error."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.dataflow import catcher_output
from engine.errors import UNCATCHABLE_ERRORS, StatesError, StatesFailure
from engine.model import Wait

if TYPE_CHECKING:
    from engine.interpreter import Interpreter
    from engine.model import Frame

_DEFAULT_MAX_ATTEMPTS = 3
_DEFAULT_INTERVAL_SECONDS = 1
_DEFAULT_BACKOFF_RATE = 2.0


def error_matches(patterns: list[str], error: str) -> bool:
    """AWS's ErrorEquals rules: exact names, States.ALL, and States.TaskFailed's wildcard."""
    for pattern in patterns:
        if pattern == error or pattern == StatesError.ALL:
            return True
        # AWS: States.TaskFailed "matches any known error name except for States.Timeout".
        if pattern == StatesError.TASK_FAILED and error != StatesError.TIMEOUT:
            return True
    return False


def handle_error(it: Interpreter, frame: Frame, error: str, cause: str | None) -> None:
    """Apply the current state's Retry then Catch to an error, or fail the frame."""
    state = it.definition.state(frame.scope, frame.state)
    it.release_wait(frame)
    if error not in UNCATCHABLE_ERRORS:
        if _schedule_retry(it, frame, state, error):
            return
        catcher = next((c for c in state.get("Catch", []) if error_matches(c["ErrorEquals"], error)), None)
        if catcher is not None:
            _catch(it, frame, state, catcher, error, cause)
            return
    it.frame_failed(frame, error, cause)


def _schedule_retry(it: Interpreter, frame: Frame, state: dict[str, Any], error: str) -> bool:
    for index, retrier in enumerate(state.get("Retry", [])):
        if not error_matches(retrier["ErrorEquals"], error):
            continue
        key = str(index)
        attempts = frame.retry_counts.get(key, 0)
        if attempts >= retrier.get("MaxAttempts", _DEFAULT_MAX_ATTEMPTS):
            return False  # the first matching retrier decides; exhausted means go to Catch
        frame.retry_counts[key] = attempts + 1
        jitter = it.rng().random() if retrier.get("JitterStrategy") == "FULL" else 1.0
        delay = retry_delay(retrier, attempts, jitter)
        timer = it.schedule_timer(frame, it.now + delay, "retry")
        it.block(frame, Wait(kind="retry", timer=timer))
        return True
    return False


def retry_delay(retrier: dict[str, Any], attempts: int, unit_random: float) -> float:
    """Seconds before retry number ``attempts + 1``: interval x backoff^attempts, capped, jittered."""
    interval = retrier.get("IntervalSeconds", _DEFAULT_INTERVAL_SECONDS)
    delay = float(interval) * float(retrier.get("BackoffRate", _DEFAULT_BACKOFF_RATE)) ** attempts
    if "MaxDelaySeconds" in retrier:
        delay = min(delay, float(retrier["MaxDelaySeconds"]))
    if retrier.get("JitterStrategy") == "FULL":
        delay *= unit_random
    return delay


def _catch(it: Interpreter, frame: Frame, state: dict[str, Any], catcher: dict[str, Any],
           error: str, cause: str | None) -> None:
    error_output: dict[str, Any] = {"Error": error}
    if cause is not None:
        error_output["Cause"] = cause
    data = it.state_data(frame, state)
    try:
        output, assigned = catcher_output(data, catcher, error_output)
    except StatesFailure as failure:
        # A Catch whose ResultPath or Output cannot be applied fails the state for good.
        it.frame_failed(frame, str(failure.error), failure.cause)
        return
    it.leave(frame, output, assigned, next_state=catcher["Next"])
