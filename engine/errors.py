"""Errors of the engine: ASL error names (data) and the small Python exception hierarchy.

Two kinds of failure live here and must never be confused:

* ASL errors (``States.Timeout``, ``States.TaskFailed``, a handler's own error name...) are
  *data*: they travel through Retry and Catch and may end an execution FAILED. Inside the
  engine they are raised as :class:`StatesFailure` and caught by the interpreter, which turns
  them into transitions. They never escape :func:`engine.step`.
* Python exceptions deriving from :class:`StepstreamError` tell the caller it used the API
  wrongly (an invalid definition, a malformed snapshot). Anything else escaping is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class StatesError(StrEnum):
    """The error names the ASL specification and AWS Step Functions define."""

    ALL = "States.ALL"
    HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
    TIMEOUT = "States.Timeout"
    TASK_FAILED = "States.TaskFailed"
    PERMISSIONS = "States.Permissions"
    RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
    PARAMETER_PATH_FAILURE = "States.ParameterPathFailure"
    BRANCH_FAILED = "States.BranchFailed"
    NO_CHOICE_MATCHED = "States.NoChoiceMatched"
    INTRINSIC_FAILURE = "States.IntrinsicFailure"
    EXCEED_TOLERATED_FAILURE_THRESHOLD = "States.ExceedToleratedFailureThreshold"
    ITEM_READER_FAILED = "States.ItemReaderFailed"
    RESULT_WRITER_FAILED = "States.ResultWriterFailed"
    RUNTIME = "States.Runtime"
    DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
    QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"


#: Errors that neither Retry nor Catch can handle, even when named explicitly
#: (AWS: "A retry or catch on States.ALL won't catch States.Runtime errors", and the
#: recorded conformance case test_catch_states_runtime shows an explicit match fails too).
UNCATCHABLE_ERRORS = frozenset({StatesError.RUNTIME.value})



class StatesFailure(Exception):  # noqa: N818 - an ASL failure, not a Python error
    """An ASL error raised while evaluating a state; the interpreter turns it into data.

    Args:
        error: the ASL error name, for example ``"States.Runtime"``.
        cause: the human-readable cause, or None when there is none.
    """

    def __init__(self, error: str, cause: str | None = None) -> None:
        super().__init__(error, cause)
        self.error = error
        self.cause = cause

    def __str__(self) -> str:
        return f"{self.error}: {self.cause}" if self.cause else self.error


class EvaluationError(StatesFailure):
    """A failure while evaluating a state's own fields (paths, templates, expressions).

    AWS prefixes the cause of these with "An error occurred while executing the state
    '<name>' (entered at the event id #<n>). "; the interpreter adds that prefix.
    """


class TaskFailed(StatesFailure):
    """Raised by a task handler to fail its task with exactly this error name and cause."""


class StepstreamError(Exception):
    """Base class of the engine's Python exceptions (API misuse, never ASL errors)."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a definition: where (a JSON pointer) and what."""

    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"


class InvalidDefinition(StepstreamError):  # noqa: N818 - reads as a verdict
    """A state machine definition failed validation; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        listing = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"invalid state machine definition ({len(problems)} problem(s)):\n{listing}")


class SnapshotError(StepstreamError):
    """A snapshot could not be decoded (wrong format version or shape)."""
