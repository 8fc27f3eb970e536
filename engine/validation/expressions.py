"""Checks of paths, payload templates, intrinsic functions, JSONata and Choice rules.

The grammars live in their own modules (engine.jsonpath, engine.payload, engine.jsonata,
engine.choice); this module only calls them, so validation and evaluation agree on what a
valid expression is. Each call is guarded: a helper that raises on a strange value yields a
problem at that value instead of breaking the promise that validation never raises.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from engine.errors import Problem
from engine.validation.common import child, describe


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
    """A JSONPath field: a string path; a definite (reference) path when ``reference``; one
    into the state's data (not the context object nor a variable) when ``data_only``."""
    if not isinstance(value, str):
        return [Problem(pointer, f"{field} must be a string path, not {describe(value)}")]
    problems = guarded(pointer, lambda: _compile_problems(value, pointer, field, reference))
    if data_only and not problems and (value.startswith("$$") or not _is_data_root(value)):
        problems.append(Problem(pointer, f"{field} must be a path into the state's data ('$...'): {value!r}"))
    return problems


def _is_data_root(text: str) -> bool:
    rest = text.strip()[1:]
    return not rest or rest[0] in ".["


def _compile_problems(text: str, pointer: str, field: str, reference: bool) -> list[Problem]:
    try:
        from engine import jsonpath
    except ImportError:  # the path module is not there yet: keep to what every path looks like
        ok = text.startswith("$")
        return [] if ok else [Problem(pointer, f"{field} must be a path starting with '$': {text!r}")]
    try:
        compiled = jsonpath.compile_path(text)
    except jsonpath.PathSyntaxError as exc:
        return [Problem(pointer, f"{field} is not a valid JSONPath ({exc}): {text!r}")]
    if reference and not compiled.is_definite:
        return [Problem(pointer, f"{field} must be a reference path (one definite location): {text!r}")]
    return []


def intrinsic_or_path_problems(value: Any, pointer: str, field: str) -> list[Problem]:
    """A field taking a reference path or an intrinsic function call (Fail ErrorPath/CausePath)."""
    if isinstance(value, str) and value.startswith("States."):
        return guarded(pointer, lambda: _dollar_value_problems(field, value, pointer))
    return path_problems(value, pointer, field, reference=True)


def _helper(module: str, name: str) -> Callable[..., Any] | None:
    """A checking function of a sibling module, or None while that module does not offer it."""
    try:
        found = getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None
    return found if callable(found) else None


def _dollar_value_problems(field: str, value: str, pointer: str) -> list[Problem]:
    check = _helper("engine.payload", "expression_problem")
    if check is None:
        return []
    # The payload grammar judges ".$" values: ErrorPath and CausePath accept the same ones.
    message = check(value, field)
    return [Problem(pointer, str(message))] if message else []


def template_problems(value: Any, pointer: str, field: str) -> list[Problem]:
    """A JSONPath payload template (Parameters, ResultSelector, ItemSelector, Assign...)."""
    if not isinstance(value, dict):
        return [Problem(pointer, f"{field} must be an object, not {describe(value)}")]
    check = _helper("engine.payload", "template_problems")
    if check is None:
        return _fallback_template_problems(value, pointer)
    return guarded(pointer, lambda: check(value, pointer))


def _fallback_template_problems(template: Any, pointer: str) -> list[Problem]:
    problems: list[Problem] = []
    items = template.items() if isinstance(template, dict) else enumerate(template)
    for key, value in items:
        if isinstance(key, str) and key.endswith(".$") and not isinstance(value, str):
            problems.append(Problem(child(pointer, key), f"the value of {key} must be a string"))
        elif isinstance(value, dict | list):
            problems += _fallback_template_problems(value, child(pointer, key))
    return problems


def jsonata_problems(value: Any, pointer: str) -> list[Problem]:
    """The "{% %}" JSONata expressions anywhere inside a field value of a JSONata state."""
    check = _helper("engine.jsonata", "expression_problems")
    if check is None:
        return []
    return guarded(pointer, lambda: check(value, pointer))


def choice_rule_problems(rule: Any, pointer: str) -> list[Problem]:
    """A top-level Choice rule, as the Choice module understands rules."""
    check = _helper("engine.choice", "choice_rule_problems")
    if check is None:
        return []
    return guarded(pointer, lambda: check(rule, pointer, top_level=True))
