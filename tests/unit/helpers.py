"""Small builders shared by the engine's unit tests (no I/O anywhere)."""

from __future__ import annotations

from typing import Any

import engine
from engine import events as ev
from engine.step import Transition

T0 = 1_700_000_000.0


def machine(states: dict[str, Any], start: str | None = None, **top: Any) -> dict[str, Any]:
    return {"StartAt": start or next(iter(states)), "States": states, **top}


def start(definition: dict[str, Any], execution_input: Any = None, now: float = T0) -> Transition:
    """Start an execution with the pure step function; returns the first transition."""
    loaded = engine.load_definition(definition)
    return engine.step(loaded, engine.new_snapshot("exec-1"), ev.Start(execution_input), now)


def effects_of(transition: Transition, kind: type) -> list[Any]:
    return [e for e in transition.effects if isinstance(e, kind)]


def history_types(outcome_or_transition: Any) -> list[str]:
    return [h.type for h in outcome_or_transition.history]
