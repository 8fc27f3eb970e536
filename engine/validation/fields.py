"""Types and value rules of individual state fields, one rule per field name.

A field means the same thing in every state type that allows it (TimeoutSeconds of a Task and
of a Message state, ResultPath anywhere), so the rules are keyed by field name only. A rule
receives the query language because JSONata states may give most numbers as "{% %}"
expressions, and their values hold expressions to check.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from engine.errors import Problem
from engine.validation.common import (
    JSONATA,
    JSONPATH,
    MAX_SECONDS,
    child,
    describe,
    int_problem,
    is_int,
    is_jsonata,
    is_number,
)
from engine.validation.expressions import (
    choice_rule_problems,
    intrinsic_or_path_problems,
    jsonata_problems,
    path_problems,
    template_problems,
)
from engine.validation.handlers import assign_problems, catch_problems, retry_problems

Rule = Callable[[Any, str, str], list[Problem]]

_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))")


def is_rfc3339(text: str) -> bool:
    """An RFC 3339 date-time with a 'T' and a zone, as AWS requires of Wait Timestamp."""
    match = _RFC3339.fullmatch(text)
    if not match:
        return False
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    zone_hours, zone_minutes = (int(part or 0) for part in match.groups()[6:])
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    return zone_hours <= 23 and zone_minutes <= 59


def _string(field: str, *, non_empty: bool = False) -> Rule:
    def rule(value: Any, pointer: str, language: str) -> list[Problem]:
        if not isinstance(value, str):
            return [Problem(pointer, f"{field} must be a string, not {describe(value)}")]
        if non_empty and not value:
            return [Problem(pointer, f"{field} must not be empty")]
        return jsonata_problems(value, pointer) if language == JSONATA else []

    return rule


def _integer(field: str, low: int, high: int = MAX_SECONDS) -> Rule:
    """An integer field; in JSONata states it may instead be a "{% %}" expression."""

    def rule(value: Any, pointer: str, language: str) -> list[Problem]:
        if language == JSONATA and is_jsonata(value):
            return jsonata_problems(value, pointer)
        return int_problem(value, pointer, field, low, high)

    return rule


def _percentage(value: Any, pointer: str, language: str) -> list[Problem]:
    if language == JSONATA and is_jsonata(value):
        return jsonata_problems(value, pointer)
    if not is_number(value):
        return [Problem(pointer, f"ToleratedFailurePercentage must be a number, not {describe(value)}")]
    if not 0 <= value <= 100:
        return [Problem(pointer, f"ToleratedFailurePercentage must be between 0 and 100, not {value}")]
    return []


def _timestamp(value: Any, pointer: str, language: str) -> list[Problem]:
    if language == JSONATA and is_jsonata(value):
        return jsonata_problems(value, pointer)
    if not isinstance(value, str):
        return [Problem(pointer, f"Timestamp must be a string, not {describe(value)}")]
    if not is_rfc3339(value):
        return [Problem(pointer, f"Timestamp must be an RFC 3339 timestamp such as 2024-01-31T12:00:00Z: {value!r}")]
    return []


def _path(field: str, *, reference: bool, nullable: bool = False, data_only: bool = False) -> Rule:
    def rule(value: Any, pointer: str, language: str) -> list[Problem]:
        if value is None and nullable:
            return []
        return path_problems(value, pointer, field, reference=reference, data_only=data_only)

    return rule


def _template(field: str) -> Rule:
    def rule(value: Any, pointer: str, language: str) -> list[Problem]:
        if language == JSONATA:
            if not isinstance(value, dict):
                return [Problem(pointer, f"{field} must be an object, not {describe(value)}")]
            return jsonata_problems(value, pointer)
        return template_problems(value, pointer, field)

    return rule


def _object_or_expression(field: str) -> Rule:
    """Arguments: an object (with expressions inside) or a single "{% %}" expression."""

    def rule(value: Any, pointer: str, language: str) -> list[Problem]:
        if not isinstance(value, dict) and not is_jsonata(value):
            return [Problem(pointer, f"{field} must be an object or a JSONata expression, not {describe(value)}")]
        return jsonata_problems(value, pointer)

    return rule


def _items(value: Any, pointer: str, language: str) -> list[Problem]:
    if not isinstance(value, list | dict) and not is_jsonata(value):
        return [Problem(pointer, f"Items must be an array, an object or a JSONata expression, not {describe(value)}")]
    return jsonata_problems(value, pointer)


def _any_jsonata(value: Any, pointer: str, language: str) -> list[Problem]:
    return jsonata_problems(value, pointer)


def _object(field: str) -> Rule:
    def rule(value: Any, pointer: str, language: str) -> list[Problem]:
        if not isinstance(value, dict):
            return [Problem(pointer, f"{field} must be an object, not {describe(value)}")]
        return []

    return rule


def _choices(value: Any, pointer: str, language: str) -> list[Problem]:
    if not isinstance(value, list) or not value:
        return [Problem(pointer, f"Choices must be a non-empty array of rules, not {describe(value)}")]
    check = _jsonata_rule if language == JSONATA else _jsonpath_rule
    problems = []
    for index, rule in enumerate(value):
        at = child(pointer, index)
        if isinstance(rule, dict):
            problems += check(rule, at)
        else:
            problems.append(Problem(at, f"each Choice rule must be an object, not {describe(rule)}"))
    return problems


def _jsonpath_rule(rule: dict[str, Any], pointer: str) -> list[Problem]:
    problems = choice_rule_problems(rule, pointer)
    if isinstance(rule.get("Assign"), dict):
        problems += assign_problems(rule["Assign"], child(pointer, "Assign"), JSONPATH)
    return problems


#: The fields of a JSONata Choice rule: one Condition instead of JSONPath's operators.
JSONATA_RULE_FIELDS = frozenset({"Condition", "Next", "Assign", "Output", "Comment"})


def _jsonata_rule(rule: dict[str, Any], pointer: str) -> list[Problem]:
    problems = [
        Problem(child(pointer, key), f"{key} is not a valid field of a JSONata Choice rule")
        for key in rule
        if key not in JSONATA_RULE_FIELDS
    ]
    problems += [Problem(pointer, f"a Choice rule requires {key}") for key in ("Condition", "Next") if key not in rule]
    condition = rule.get("Condition")
    if "Condition" in rule and not isinstance(condition, bool) and not is_jsonata(condition):
        message = f"Condition must be a boolean or a JSONata expression, not {describe(condition)}"
        problems.append(Problem(child(pointer, "Condition"), message))
    for key in ("Condition", "Output"):
        if key in rule:
            problems += jsonata_problems(rule[key], child(pointer, key))
    if "Assign" in rule:
        problems += assign_problems(rule["Assign"], child(pointer, "Assign"), JSONATA)
    if "Comment" in rule and not isinstance(rule["Comment"], str):
        problems.append(Problem(child(pointer, "Comment"), "Comment must be a string"))
    return problems


def _branches(value: Any, pointer: str, language: str) -> list[Problem]:
    # Each branch body is validated by the walker; here only the array itself.
    if not isinstance(value, list) or not value:
        return [Problem(pointer, f"Branches must be a non-empty array of state machines, not {describe(value)}")]
    return [
        Problem(child(pointer, index), f"each branch must be an object, not {describe(branch)}")
        for index, branch in enumerate(value)
        if not isinstance(branch, dict)
    ]


def _reference(field: str) -> Rule:
    return _path(field, reference=True)


#: The value rule of every field that has one (structural fields are checked elsewhere).
FIELD_RULES: dict[str, Rule] = {
    "Comment": lambda value, at, _: [] if isinstance(value, str) else [Problem(at, "Comment must be a string")],
    "InputPath": _path("InputPath", reference=False, nullable=True),
    "OutputPath": _path("OutputPath", reference=False, nullable=True),
    # ResultPath writes into the state's input, so it cannot point at $$ or a variable.
    "ResultPath": _path("ResultPath", reference=True, nullable=True, data_only=True),
    "Parameters": _template("Parameters"),
    "ResultSelector": _template("ResultSelector"),
    "ItemSelector": _template("ItemSelector"),
    "Credentials": _template("Credentials"),
    "Assign": lambda value, at, language: assign_problems(value, at, language),
    "Arguments": _object_or_expression("Arguments"),
    "Output": _any_jsonata,
    "CorrelationValue": _any_jsonata,
    "Items": _items,
    "Resource": _string("Resource", non_empty=True),
    "Error": _string("Error"),
    "Cause": _string("Cause"),
    "Label": _string("Label"),
    "CorrelationKey": _string("CorrelationKey", non_empty=True),
    "ErrorPath": lambda value, at, _: intrinsic_or_path_problems(value, at, "ErrorPath"),
    "CausePath": lambda value, at, _: intrinsic_or_path_problems(value, at, "CausePath"),
    "TimeoutSeconds": _integer("TimeoutSeconds", 1),
    "HeartbeatSeconds": _integer("HeartbeatSeconds", 1),
    "Seconds": _integer("Seconds", 0),
    "MaxConcurrency": _integer("MaxConcurrency", 0, 2**31 - 1),
    "ToleratedFailureCount": _integer("ToleratedFailureCount", 0, 2**31 - 1),
    "ToleratedFailurePercentage": _percentage,
    "Timestamp": _timestamp,
    "Retry": lambda value, at, _: retry_problems(value, at),
    "Catch": lambda value, at, language: catch_problems(value, at, language),
    "Choices": _choices,
    "Branches": _branches,
    "ItemProcessor": _object("ItemProcessor"),
    "Iterator": _object("Iterator"),
    "ItemReader": _object("ItemReader"),
    "ItemBatcher": _object("ItemBatcher"),
    "ResultWriter": _object("ResultWriter"),
    **{
        field: _reference(field)
        for field in (
            "ItemsPath",
            "TimeoutSecondsPath",
            "HeartbeatSecondsPath",
            "SecondsPath",
            "TimestampPath",
            "MaxConcurrencyPath",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentagePath",
            "CorrelationValuePath",
        )
    },
}


def field_value_problems(state: dict[str, Any], pointer: str, allowed: frozenset[str], language: str) -> list[Problem]:
    """Value problems of every allowed field a state holds (unknown fields are reported elsewhere)."""
    problems = []
    for key, value in state.items():
        rule = FIELD_RULES.get(key) if isinstance(key, str) else None
        if rule is not None and key in allowed:
            problems += rule(value, child(pointer, key), language)
    return problems + _heartbeat_problems(state, pointer)


def _heartbeat_problems(state: dict[str, Any], pointer: str) -> list[Problem]:
    timeout, heartbeat = state.get("TimeoutSeconds"), state.get("HeartbeatSeconds")
    if is_int(timeout) and is_int(heartbeat) and 1 <= timeout <= heartbeat:
        return [Problem(child(pointer, "HeartbeatSeconds"), "HeartbeatSeconds must be smaller than TimeoutSeconds")]
    return []
