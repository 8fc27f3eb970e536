"""What expression evaluation may read besides the state's input.

Evaluation of paths, payload templates, intrinsic functions and JSONata expressions is pure:
everything it may read arrives in an :class:`EvalContext`. Random values (``States.UUID``,
``States.MathRandom``, ``$uuid()``, ``$random()``) come from ``rng``, a ``random.Random``
seeded deterministically by the interpreter (execution id and history position), so a
replayed transition draws the same values. It is created on first use: seeding a Mersenne
Twister costs more than a whole simple state, and most states never draw.
"""

from __future__ import annotations

import random
from typing import Any


class EvalContext:
    """Read-only inputs of an evaluation.

    Attributes:
        context_object: the ``$$`` context object (Execution, State, StateMachine, Task, Map).
        variables: workflow variables visible to the state (``$name`` references), by name.
        state_name: the state being evaluated, for error messages.
        seed: what ``rng`` is seeded with, unless an ``rng`` is given.
    """

    __slots__ = ("_rng", "context_object", "seed", "state_name", "variables")

    def __init__(self, context_object: dict[str, Any] | None = None, variables: dict[str, Any] | None = None,
                 rng: random.Random | None = None, state_name: str = "", seed: str = "0") -> None:
        self.context_object = context_object if context_object is not None else {}
        self.variables = variables if variables is not None else {}
        self._rng = rng
        self.state_name = state_name
        self.seed = seed

    @property
    def rng(self) -> random.Random:
        """The deterministic random source for UUIDs and random numbers."""
        if self._rng is None:
            self._rng = random.Random(self.seed)
        return self._rng
