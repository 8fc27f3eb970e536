"""Checks of paths, payload templates, intrinsic functions, JSONata and Choice rules.

The grammars live in their own modules (engine.jsonpath, engine.payload, engine.jsonata,
engine.choice); this module only calls them, so validation and evaluation agree on what a
valid expression is. Each call is guarded: a helper that raises on a strange value yields a
problem at that value instead of breaking the promise that validation never raises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine import jsonata, payload
from engine.choice import choice_rule_problems as _choice_rule_problems
from engine.errors import Problem
from engine.jsonpath import DATA, PathSyntaxError, compile_path
from engine.validation.common import describe


def guarded(pointer: str, check: Callable[[], list[Problem]]) -> list[Problem]:
    """Run a helper's check; an exception from it becomes a problem at ``pointer``."""
    try:
        return list(check())
    except RecursionError:
        return [Problem(pointer, "value is nested too deeply to be checked")]
    except Exception as exc:  # noqa: BLE001 - a helper's bug must not escape validation
        return [Problem(pointer, f"value could not be checked (internal error {type(exc).__name__}: {exc})")]


def path_problems(
    value: Any, pointer: str, field: str, *, reference: bool = False, data_only: bool = False
) -> list[Problem]:
    """A JSONPath field: a string path; a definite (reference) path when ``reference``; a path
    into the state's data (not ``$$`` nor a ``$variable``) when ``data_only``."""
    if not isinstance(value, str):
        return [Problem(pointer, f"{field} must be a string path, not {describe(value)}")]
    return guarded(pointer, lambda: _compile_problems(value, pointer, field, reference, data_only))


def _compile_problems(text: str, pointer: str, field: str, reference: bool, data_only: bool) -> list[Problem]:
    try:
        compiled = compile_path(text)
    except PathSyntaxError as exc:
        return [Problem(pointer, f"{field} is not a valid JSONPath ({exc})")]
    if reference and not compiled.is_definite:
        return [Problem(pointer, f"{field} must be a reference path (one definite location): {text!r}")]
    if data_only and compiled.root != DATA:
        return [Problem(pointer, f"{field} must be a path into the state's data ('$...'): {text!r}")]
    return []


def intrinsic_or_path_problems(value: Any, pointer: str, field: str) -> list[Problem]:
    """A field taking a reference path or an intrinsic function call (Fail ErrorPath/CausePath)."""
    if isinstance(value, str) and value.startswith("States."):
        # The payload grammar judges ".$" values; ErrorPath and CausePath accept the same ones.
        return guarded(pointer, lambda: _single_problem(pointer, payload.expression_problem(value, field)))
    return path_problems(value, pointer, field, reference=True)


def _single_problem(pointer: str, message: str | None) -> list[Problem]:
    return [Problem(pointer, message)] if message else []


def template_problems(value: Any, pointer: str, field: str) -> list[Problem]:
    """A JSONPath payload template (Parameters, ResultSelector, ItemSelector, Assign...)."""
    if not isinstance(value, dict):
        return [Problem(pointer, f"{field} must be an object, not {describe(value)}")]
    return guarded(pointer, lambda: payload.template_problems(value, pointer))


def jsonata_problems(value: Any, pointer: str) -> list[Problem]:
    """The "{% %}" JSONata expressions anywhere inside a field value of a JSONata state."""
    return guarded(pointer, lambda: jsonata.expression_problems(value, pointer))


def choice_rule_problems(rule: Any, pointer: str) -> list[Problem]:
    """A top-level JSONPath Choice rule, as the Choice module understands rules."""
    return guarded(pointer, lambda: _choice_rule_problems(rule, pointer, top_level=True))
