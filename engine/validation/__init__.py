"""Validation of Amazon States Language definitions, the way AWS CreateStateMachine does it.

:func:`validate_definition` reports every problem at once, each with a JSON pointer into the
definition, and never raises: a malformed or fuzzed definition yields problems.

Modules: ``structure`` (which fields each object may hold, per state type and query
language), ``graph`` (transitions, reachability, terminal states, unique names), ``fields``
(types and values of individual fields), ``handlers`` (Retry and Catch), ``variables``
(Assign names and variable references), ``expressions`` (paths, templates, JSONata and
Choice rules, delegated to their own modules) and ``machine`` (the walk tying them together).
"""

from __future__ import annotations

from typing import Any

from engine.errors import Problem
from engine.validation.machine import express_problems, machine_problems

__all__ = ["validate_definition"]


def validate_definition(definition: Any, *, state_machine_type: str = "STANDARD") -> list[Problem]:
    """Every problem of an ASL definition (an already-parsed JSON value); [] when it is valid.

    Args:
        definition: the parsed definition.
        state_machine_type: "STANDARD" or "EXPRESS"; EXPRESS machines may not use the
            ``.sync`` and ``.waitForTaskToken`` service integration patterns.
    """
    try:
        problems = machine_problems(definition)
        if state_machine_type == "EXPRESS":
            problems += express_problems(definition)
    except RecursionError:
        return [Problem("", "the definition is nested too deeply to be validated")]
    except Exception as exc:  # noqa: BLE001 - validation promises problems, never exceptions
        return [Problem("", f"the definition could not be validated (internal error {type(exc).__name__}: {exc})")]
    return _unique(problems)


def _unique(problems: list[Problem]) -> list[Problem]:
    """The problems in order, each reported once (two checks may notice the same thing)."""
    return list(dict.fromkeys(problems))
