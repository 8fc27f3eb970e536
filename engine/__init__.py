"""stepstream's engine: a pure, deterministic interpreter of Amazon States Language.

Public surface (kept small and pinned by tests/unit/test_exports.py):

* :func:`run_local` runs a definition in-process with Python handlers (virtual clock).
* :func:`validate` lists a definition's problems, each with a JSON pointer.
* :func:`step` is the pure transition function the Kafka service drives:
  ``step(definition, snapshot, event, now) -> Transition(snapshot, effects, history)``.
* :class:`TaskFailed` is what a handler raises to fail its task with an ASL error and cause.
"""

from engine import events
from engine.definition import Definition, load_definition, parse_definition_text, validate
from engine.errors import (
    EvaluationError,
    InvalidDefinition,
    Problem,
    SnapshotError,
    StatesError,
    StatesFailure,
    StepstreamError,
    TaskFailed,
)
from engine.model import Snapshot
from engine.runner import Outcome, UnknownResource, run_local
from engine.step import Transition, apply_event, new_snapshot, step

__all__ = [
    "Definition",
    "EvaluationError",
    "InvalidDefinition",
    "Outcome",
    "Problem",
    "Snapshot",
    "SnapshotError",
    "StatesError",
    "StatesFailure",
    "StepstreamError",
    "TaskFailed",
    "Transition",
    "UnknownResource",
    "apply_event",
    "events",
    "load_definition",
    "new_snapshot",
    "parse_definition_text",
    "run_local",
    "step",
    "validate",
]
