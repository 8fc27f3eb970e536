"""The local runner: execute a state machine in-process, with handlers as plain callables.

It drives the same pure :func:`engine.step.apply_event` the Kafka service drives, carrying
out effects itself: handlers are called in order, timers fire from a heap, and on the
virtual clock (the default) time jumps to the next due timer instead of sleeping, so a
workflow with a one-hour Wait finishes at once. With ``virtual_time=False`` it really waits.
"""

from __future__ import annotations

import heapq
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine import events as ev
from engine import resources
from engine.definition import Definition, load_definition
from engine.errors import Problem, StatesFailure, StepstreamError
from engine.model import Snapshot
from engine.step import apply_event, new_snapshot

Handler = Callable[[Any], Any]


class UnknownResource(StepstreamError):  # noqa: N818 - reads as a verdict
    """A Task names a resource no handler is registered for."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("no handler registered for: " + "; ".join(str(p) for p in problems))


@dataclass
class Outcome:
    """How a local execution ended."""

    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None
    history: list[ev.HistoryEvent] = field(default_factory=list)
    snapshot: Snapshot | None = None
    transitions: int = 0


@dataclass
class _Clock:
    now: float
    virtual: bool

    def advance_to(self, moment: float) -> None:
        if moment <= self.now:
            return
        if not self.virtual:
            time.sleep(moment - time.time())
            self.now = max(moment, time.time())
        else:
            self.now = moment


def run_local(definition: Any, input: Any = None, *, handlers: Mapping[str, Handler] | None = None,
              virtual_time: bool = True, start_time: float | None = None, execution_name: str = "local",
              state_machine_name: str = "local", state_machine_type: str = "STANDARD",
              region: str = resources.DEFAULT_REGION, account: str = resources.DEFAULT_ACCOUNT,
              messages: Mapping[tuple[str, Any], Any] | None = None) -> Outcome:
    """Run a state machine to completion in this process.

    Args:
        definition: the ASL document (dict, or JSON/YAML text).
        input: the execution input.
        handlers: callables by Task resource, Lambda function name or ARN; a handler returns
            the task result or raises :class:`engine.TaskFailed` (any other exception fails
            the task with the exception's class name as the error).
        virtual_time: jump over waits instead of sleeping.
        start_time: the execution's start time (POSIX seconds); default now.
        state_machine_type: "STANDARD" or "EXPRESS" (shapes the execution ARN as AWS does).
        region, account: the region and account id in the ARNs of the context object.
        messages: data for Message states by (correlation key, correlation value).

    Raises:
        InvalidDefinition: the definition is invalid (nothing runs).
        UnknownResource: a Task resource has no handler (nothing runs).
    """
    loaded = definition if isinstance(definition, Definition) else load_definition(definition)
    handlers = dict(handlers or {})
    _check_resources(loaded, handlers)
    clock = _Clock(time.time() if start_time is None else start_time, virtual_time)
    prefix = f"arn:aws:states:{region}:{account}"
    if state_machine_type == "EXPRESS":
        arn = f"{prefix}:express:{state_machine_name}:{execution_name}:{uuid.uuid4()}"
    else:
        arn = f"{prefix}:execution:{state_machine_name}:{execution_name}"
    snapshot = new_snapshot(arn, execution_name)
    context = {"state_machine_id": f"{prefix}:stateMachine:{state_machine_name}",
               "state_machine_name": state_machine_name, "role_arn": f"arn:aws:iam::{account}:role/stepstream",
               "state_machine_type": state_machine_type}
    driver = _Driver(loaded, snapshot, clock, handlers, dict(messages or {}), context)
    driver.run(ev.Start(input))
    return Outcome(snapshot.status, snapshot.output, snapshot.error, snapshot.cause, driver.history,
                   snapshot, snapshot.transitions)


class _Driver:
    def __init__(self, definition: Definition, snapshot: Snapshot, clock: _Clock,
                 handlers: dict[str, Handler], messages: dict[tuple[str, Any], Any],
                 context: dict[str, Any]) -> None:
        self.definition, self.snapshot, self.clock = definition, snapshot, clock
        self.handlers, self.messages, self.context = handlers, messages, context
        self.events: deque[ev.Event] = deque()
        self.timers: list[tuple[float, int, str]] = []
        self.history: list[ev.HistoryEvent] = []
        self._timer_seq = 0

    def run(self, first: ev.Event) -> None:
        self.events.append(first)
        while not self.snapshot.finished:
            if self.events:
                self._apply(self.events.popleft())
            elif self.timers:
                fire_at, _, timer_id = heapq.heappop(self.timers)
                if timer_id in self.snapshot.timers:
                    self.clock.advance_to(fire_at)
                    self.events.append(ev.TimerFired(timer_id))
            else:
                return  # blocked forever (a Message nobody sends): the execution stays RUNNING

    def _apply(self, event: ev.Event) -> None:
        transition = apply_event(self.definition, self.snapshot, event, self.clock.now, context=self.context)
        self.history.extend(transition.history)
        for effect in transition.effects:
            self._carry_out(effect)

    def _carry_out(self, effect: ev.Effect) -> None:
        if isinstance(effect, ev.RunTask):
            self.events.append(self._invoke(effect))
        elif isinstance(effect, ev.ScheduleTimer):
            self._timer_seq += 1
            heapq.heappush(self.timers, (effect.fire_at, self._timer_seq, effect.timer_id))
        elif isinstance(effect, ev.Subscribe):
            key = (effect.correlation_key, effect.correlation_value)
            if key in self.messages:
                self.events.append(ev.MessageDelivered(effect.subscription_id, self.messages[key]))

    def _invoke(self, effect: ev.RunTask) -> ev.Event:
        return call_handler(self.handlers, effect)


def find_handler(handlers: Mapping[str, Handler], effect: ev.RunTask) -> Handler | None:
    """The handler for a task: by resource, by handler name, or by Lambda function ARN."""
    handler = handlers.get(effect.resource) or handlers.get(effect.handler)
    if handler is None:
        invocation = resources.resolve(effect.resource, None)
        if invocation.function_arn:
            handler = handlers.get(invocation.function_arn)
    return handler


def call_handler(handlers: Mapping[str, Handler], effect: ev.RunTask) -> ev.Event:
    """Run a task's handler and turn what happened into the event that answers it.

    Shared by the local runner and the service's task workers, so a handler behaves the same
    in both. A missing Lambda function fails as AWS does; a handler's own exception fails its
    task (error = exception class name), never the caller.
    """
    handler = find_handler(handlers, effect)
    try:
        if handler is None:
            raise missing_handler(effect)
        return ev.TaskSucceeded(effect.token, handler(effect.payload))
    except StatesFailure as failure:
        return ev.TaskFailed(effect.token, failure.error, failure.cause)
    except Exception as exc:  # a handler's own bug fails its task, never the runner
        return ev.TaskFailed(effect.token, type(exc).__name__, _describe(exc))


def missing_handler(effect: ev.RunTask) -> StatesFailure:
    """The failure of a task nobody can run: Lambda's not-found error, or a plain TaskFailed."""
    invocation = resources.resolve(effect.resource, None)
    if invocation.is_lambda:
        return resources.function_not_found(
            resources.Invocation(invocation.kind, effect.handler, None, resources.function_arn(effect.handler)))
    return StatesFailure("States.TaskFailed", f"no handler registered for resource {effect.resource!r}")


def _describe(exc: Exception) -> str:
    frames = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return f"{exc}\n{''.join(frames[-3:])}".strip()


def _check_resources(definition: Definition, handlers: Mapping[str, Handler]) -> None:
    problems = []
    for pointer, scope in definition.scopes.items():
        for name, state in scope.states.items():
            resource = state.get("Resource")
            if state.get("Type") != "Task" or not isinstance(resource, str) or resource.startswith("{%"):
                continue
            invocation = resources.resolve(resource, None)
            if invocation.is_lambda:
                continue  # a missing function fails at run time, as on AWS
            if resource not in handlers and invocation.handler not in handlers:
                problems.append(Problem(f"{pointer}/States/{name}/Resource", f"no handler for {resource!r}"))
    if problems:
        raise UnknownResource(problems)
