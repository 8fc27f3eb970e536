"""What expression evaluation may read besides the state's input.

Evaluation of paths, payload templates, intrinsic functions and JSONata expressions is pure:
everything it may read arrives in an :class:`EvalContext`. Random values (``States.UUID``,
``States.MathRandom``, ``$uuid()``, ``$random()``) come from ``rng``, a ``random.Random``
the interpreter seeds deterministically from the execution id and a sequence number, so a
replayed transition gives the same values.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any


@dataclass
class EvalContext:
    """Read-only inputs of an evaluation.

    Attributes:
        context_object: the ``$$`` context object (Execution, State, StateMachine, Task, Map).
        variables: workflow variables visible to the state (``$name`` references), by name.
        rng: the deterministic random source for UUIDs and random numbers.
        state_name: the state being evaluated, for error messages.
    """

    context_object: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    state_name: str = ""
