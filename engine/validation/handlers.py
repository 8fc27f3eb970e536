"""Retry and Catch: arrays of retriers and catchers, and the ErrorEquals rules they share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.errors import Problem, StatesError
from engine.validation.common import (
    JSONATA,
    JSONPATH,
    MAX_DELAY_SECONDS,
    MAX_SECONDS,
    child,
    describe,
    int_problem,
    is_number,
)
from engine.validation.expressions import jsonata_problems, path_problems, template_problems
from engine.validation.variables import assign_name_problems

_ALL = StatesError.ALL.value

RETRIER_FIELDS = frozenset(
    {
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
        "Comment",
    }
)
CATCHER_FIELDS = {
    JSONPATH: frozenset({"ErrorEquals", "Next", "ResultPath", "Assign", "Comment"}),
    JSONATA: frozenset({"ErrorEquals", "Next", "Output", "Assign", "Comment"}),
}
JITTER_STRATEGIES = ("FULL", "NONE")


def _backoff_rate(value: Any, pointer: str) -> list[Problem]:
    if not is_number(value):
        return [Problem(pointer, f"BackoffRate must be a number, not {describe(value)}")]
    return [] if value >= 1.0 else [Problem(pointer, f"BackoffRate must be at least 1.0, not {value}")]


def _jitter(value: Any, pointer: str) -> list[Problem]:
    if value in JITTER_STRATEGIES:
        return []
    return [Problem(pointer, f"JitterStrategy must be 'FULL' or 'NONE', not {value!r}")]


#: Value rules of a retrier's optional fields.
RETRIER_RULES: dict[str, Callable[[Any, str], list[Problem]]] = {
    "IntervalSeconds": lambda value, at: int_problem(value, at, "IntervalSeconds", 1, MAX_SECONDS),
    "MaxAttempts": lambda value, at: int_problem(value, at, "MaxAttempts", 0, MAX_SECONDS),
    "MaxDelaySeconds": lambda value, at: int_problem(value, at, "MaxDelaySeconds", 1, MAX_DELAY_SECONDS),
    "BackoffRate": _backoff_rate,
    "JitterStrategy": _jitter,
    "Comment": lambda value, at: [] if isinstance(value, str) else [Problem(at, "Comment must be a string")],
}


def retry_problems(value: Any, pointer: str) -> list[Problem]:
    return _handler_list(value, pointer, "Retry", lambda entry, at: _retrier(entry, at))


def catch_problems(value: Any, pointer: str, language: str) -> list[Problem]:
    return _handler_list(value, pointer, "Catch", lambda entry, at: _catcher(entry, at, language))


def _handler_list(
    value: Any, pointer: str, field: str, check: Callable[[dict[str, Any], str], list[Problem]]
) -> list[Problem]:
    if not isinstance(value, list):
        return [Problem(pointer, f"{field} must be an array, not {describe(value)}")]
    problems = []
    for index, entry in enumerate(value):
        at = child(pointer, index)
        if not isinstance(entry, dict):
            problems.append(Problem(at, f"each {field} entry must be an object, not {describe(entry)}"))
            continue
        problems += check(entry, at)
        problems += _error_equals(entry, at, is_last=index == len(value) - 1, field=field)
    return problems


def _retrier(entry: dict[str, Any], pointer: str) -> list[Problem]:
    problems = _unknown_fields(entry, pointer, RETRIER_FIELDS, "retrier")
    for key, rule in RETRIER_RULES.items():
        if key in entry:
            problems += rule(entry[key], child(pointer, key))
    return problems


def _catcher(entry: dict[str, Any], pointer: str, language: str) -> list[Problem]:
    allowed = CATCHER_FIELDS[language]
    problems = _unknown_fields(entry, pointer, allowed, "catcher")
    if "Next" not in entry:
        problems.append(Problem(pointer, "a catcher requires Next"))
    if "Comment" in entry and not isinstance(entry["Comment"], str):
        problems.append(Problem(child(pointer, "Comment"), "Comment must be a string"))
    if "ResultPath" in entry and "ResultPath" in allowed and entry["ResultPath"] is not None:
        problems += path_problems(entry["ResultPath"], child(pointer, "ResultPath"), "ResultPath", reference=True)
    if "Assign" in entry:
        problems += assign_problems(entry["Assign"], child(pointer, "Assign"), language)
    if "Output" in entry and language == JSONATA:
        problems += jsonata_problems(entry["Output"], child(pointer, "Output"))
    return problems


def assign_problems(value: Any, pointer: str, language: str) -> list[Problem]:
    """An Assign object: valid variable names, and values valid in the state's language."""
    if not isinstance(value, dict):
        return [Problem(pointer, f"Assign must be an object, not {describe(value)}")]
    problems = assign_name_problems(value, pointer, jsonpath=language != JSONATA)
    if language == JSONATA:
        return problems + jsonata_problems(value, pointer)
    return problems + template_problems(value, pointer, "Assign")


def _unknown_fields(entry: dict[str, Any], pointer: str, allowed: frozenset[str], what: str) -> list[Problem]:
    return [
        Problem(child(pointer, key), f"{key} is not a valid field of a {what}") for key in entry if key not in allowed
    ]


def _error_equals(entry: dict[str, Any], pointer: str, *, is_last: bool, field: str) -> list[Problem]:
    at = child(pointer, "ErrorEquals")
    if "ErrorEquals" not in entry:
        return [Problem(pointer, "ErrorEquals is required")]
    names = entry["ErrorEquals"]
    if not isinstance(names, list) or not names:
        return [Problem(at, f"ErrorEquals must be a non-empty array of error names, not {describe(names)}")]
    problems = [
        Problem(child(at, index), f"each error name must be a non-empty string, not {describe(name)}")
        for index, name in enumerate(names)
        if not isinstance(name, str) or not name
    ]
    if _ALL in names and len(names) > 1:
        problems.append(Problem(at, f"{_ALL} must appear alone in ErrorEquals"))
    if _ALL in names and not is_last:
        entry_kind = "retrier" if field == "Retry" else "catcher"
        problems.append(Problem(at, f"{_ALL} may only appear in the last {entry_kind}"))
    return problems
