"""The JSONPath Choice rule operators: their catalog, how they read values, and static checks.

:mod:`engine.choice` evaluates rules; this module holds what both evaluation and validation
need to agree on: which operators exist, which JSON type each one compares, how timestamps
and ``StringMatches`` patterns are read, and the definition-time problems of a rule.

AWS Step Functions runs on the JVM and its comparisons follow Java: strings order by UTF-16
code units, timestamps parse like ``DateTimeFormatter.ISO_OFFSET_DATE_TIME`` (the runtime
errors of the Wait state name exactly that format). Both are reproduced here.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from engine.errors import Problem
from engine.jsonpath import PathSyntaxError, compile_path

# ---------------------------------------------------------------------------------------------
# Reading JSON values as the type an operator compares. Each returns None for a value of the
# wrong type, which makes the comparison false rather than an error (AWS semantics).


def as_string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def as_number(value: Any) -> int | float | None:
    # bool is an int subclass in Python, but true is not a number in JSON (nor in AWS).
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return None


def as_boolean(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def as_timestamp(value: Any) -> int | None:
    """The instant a timestamp string denotes, in nanoseconds since the epoch; None otherwise."""
    if isinstance(value, str) and len(value) <= _TIMESTAMP_MAX_LENGTH:
        return parse_timestamp(value)
    return None


# Java's ISO_OFFSET_DATE_TIME: case-insensitive T and Z, optional seconds, up to nine fraction
# digits, and an offset of Z, +hh:mm or +hh:mm:ss.
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?"
    r"(?:[Zz]|([+-])(\d\d):(\d\d)(?::(\d\d))?)",
    re.ASCII,  # \d would otherwise accept any Unicode digit; Java's ISO formatter takes 0-9 only
)
# The longest text the pattern accepts; longer strings are rejected before reaching the cache.
_TIMESTAMP_MAX_LENGTH = len("2000-01-01T00:00:00.000000000+00:00:00")
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_NANOS = 1_000_000_000


@lru_cache(maxsize=4096)
def parse_timestamp(text: str) -> int | None:
    """Parse an ISO-8601 extended offset date-time into epoch nanoseconds; None if it is not one.

    Nanoseconds (not datetime) because AWS keeps nine fraction digits and compares instants.
    Cached: the literal operands of a definition are parsed once, not per evaluation.
    """
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
    second = int(match.group(6) or 0)
    if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    offset = _offset_seconds(match)
    if offset is None:
        return None
    seconds = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset
    fraction = match.group(7) or ""
    return seconds * _NANOS + int(fraction.ljust(9, "0") or 0)


def _offset_seconds(match: re.Match[str]) -> int | None:
    if match.group(8) is None:  # Z
        return 0
    hours, minutes, seconds = int(match.group(9)), int(match.group(10)), int(match.group(11) or 0)
    total = hours * 3600 + minutes * 60 + seconds
    # java.time.ZoneOffset's limits.
    if minutes > 59 or seconds > 59 or total > 18 * 3600:
        return None
    return -total if match.group(8) == "-" else total


def _days_in_month(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS_IN_MONTH[month - 1]


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


# ---------------------------------------------------------------------------------------------
# String ordering and StringMatches.


def _string_compare(left: str, right: str) -> int:
    """Compare as Java's String.compareTo does: by UTF-16 code unit, not by code point.

    The two orders differ only when a character beyond U+FFFF (a surrogate pair in UTF-16)
    meets one in U+E000..U+FFFF; ASCII strings, the common case, skip the encoding.
    """
    if not (left.isascii() and right.isascii()):
        left_units = left.encode("utf-16-be", "surrogatepass")
        right_units = right.encode("utf-16-be", "surrogatepass")
        return (left_units > right_units) - (left_units < right_units)
    return (left > right) - (left < right)


def _string_less(left: str, right: str) -> bool:
    return _string_compare(left, right) < 0


def _string_greater(left: str, right: str) -> bool:
    return _string_compare(left, right) > 0


def _string_less_equal(left: str, right: str) -> bool:
    return _string_compare(left, right) <= 0


def _string_greater_equal(left: str, right: str) -> bool:
    return _string_compare(left, right) >= 0


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> tuple[str, ...]:
    """Split a StringMatches pattern at its unescaped ``*`` into literal segments.

    ``\\*`` is a literal star and ``\\\\`` a literal backslash; a backslash before anything else
    stays a backslash (the ASL spec gives no other character a special meaning). Segments, not
    a regex, so that matching is linear-time with no backtracking on patterns like ``*a*a*a*b``.
    """
    segments: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern) and pattern[index + 1] in "*\\":
            current.append(pattern[index + 1])
            index += 2
            continue
        if char == "*":
            segments.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    segments.append("".join(current))
    return tuple(segments)


def glob_matches(text: str, pattern: str) -> bool:
    """Whether ``text`` matches the StringMatches ``pattern`` as a whole."""
    segments = compile_glob(pattern)
    if len(segments) == 1:
        return text == segments[0]
    first, last = segments[0], segments[-1]
    end = len(text) - len(last)
    if end < len(first) or not text.startswith(first) or not text.endswith(last):
        return False
    position = len(first)
    # Taking each middle segment at its leftmost place is optimal when only * is special.
    for segment in segments[1:-1]:
        found = text.find(segment, position, end)
        if found < 0:
            return False
        position = found + len(segment)
    return True


# ---------------------------------------------------------------------------------------------
# The operator catalog.

#: Comparison families: the value reader and the test of each relation.
Test = Callable[[Any, Any], bool]
_EQUALITY_ONLY: dict[str, Test] = {"Equals": operator.eq}
_ORDERED: dict[str, Test] = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "GreaterThan": operator.gt,
    "LessThanEquals": operator.le,
    "GreaterThanEquals": operator.ge,
}
_STRING_ORDER: dict[str, Test] = {
    "Equals": operator.eq,
    "LessThan": _string_less,
    "GreaterThan": _string_greater,
    "LessThanEquals": _string_less_equal,
    "GreaterThanEquals": _string_greater_equal,
}
_FAMILIES: dict[str, tuple[Callable[[Any], Any], dict[str, Test], str]] = {
    "String": (as_string, _STRING_ORDER, "a string"),
    "Numeric": (as_number, _ORDERED, "a number"),
    "Boolean": (as_boolean, _EQUALITY_ONLY, "a boolean"),
    "Timestamp": (as_timestamp, _ORDERED, "a timestamp string"),
}


@dataclass(frozen=True, slots=True)
class Comparison:
    """A binary comparison operator such as NumericLessThan or StringEqualsPath.

    ``read`` turns both sides into comparable values (None: wrong type, so the rule is false);
    ``test`` compares them; ``is_path`` says the operand is a reference path into the input.
    """

    read: Callable[[Any], Any]
    test: Test
    is_path: bool
    expected: str


def _build_comparisons() -> dict[str, Comparison]:
    table: dict[str, Comparison] = {}
    for family, (read, tests, expected) in _FAMILIES.items():
        for relation, test in tests.items():
            table[family + relation] = Comparison(read, test, False, expected)
            table[family + relation + "Path"] = Comparison(read, test, True, expected)
    # StringMatches has no Path form in AWS.
    table["StringMatches"] = Comparison(as_string, glob_matches, False, "a string")
    return table


#: Every binary comparison operator, literal and Path forms.
COMPARISONS: dict[str, Comparison] = _build_comparisons()


def _is_number(value: Any) -> bool:
    return as_number(value) is not None


def _is_timestamp(value: Any) -> bool:
    return as_timestamp(value) is not None


#: Type tests: IsNull, IsNumeric... compare the predicate's result with their boolean operand.
#: IsPresent is not here: it is the one operator that reads a missing path without failing.
TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda value: value is None,
    "IsBoolean": lambda value: isinstance(value, bool),
    "IsNumeric": _is_number,
    "IsString": lambda value: isinstance(value, str),
    "IsTimestamp": _is_timestamp,
}
IS_PRESENT = "IsPresent"
BOOLEAN_OPERATORS = ("And", "Or", "Not")

#: Every field that selects what a rule tests.
OPERATOR_NAMES: frozenset[str] = frozenset([*COMPARISONS, *TYPE_TESTS, IS_PRESENT, *BOOLEAN_OPERATORS])

# ---------------------------------------------------------------------------------------------
# Static validation.

# Fields a rule may carry besides its operator; Next and Assign only on top-level rules.
_TOP_LEVEL_ONLY = ("Next", "Assign")
_ANYWHERE = ("Variable", "Comment")


def choice_rule_problems(rule: Any, pointer: str, *, top_level: bool) -> list[Problem]:
    """Every definition-time problem of one JSONPath Choice rule (and its nested rules).

    ``pointer`` is the JSON pointer of the rule, for example ``/States/Check/Choices/0``.
    Whether ``Next`` names an existing state is for the caller, which knows the states.
    """
    if not isinstance(rule, dict):
        return [Problem(pointer, "a Choice rule must be a JSON object")]
    problems = _field_problems(rule, pointer, top_level)
    operators = [key for key in rule if key in OPERATOR_NAMES]
    if not operators:
        problems.append(
            Problem(pointer, "a Choice rule needs exactly one comparison operator, or And, Or or Not")
        )
    elif len(operators) > 1:
        problems.append(
            Problem(pointer, f"a Choice rule has more than one comparison operator: {', '.join(operators)}")
        )
    else:
        problems.extend(_operator_problems(rule, operators[0], pointer))
    return problems


def _field_problems(rule: dict[str, Any], pointer: str, top_level: bool) -> list[Problem]:
    problems: list[Problem] = []
    for key in rule:
        if key in OPERATOR_NAMES or key in _ANYWHERE:
            continue
        if key in _TOP_LEVEL_ONLY:
            if not top_level:
                problems.append(
                    Problem(_child(pointer, key), f"{key} is only allowed in a top-level Choice rule")
                )
            continue
        problems.append(Problem(_child(pointer, key), f"the field '{key}' is not supported in a Choice rule"))
    if top_level and "Next" not in rule:
        problems.append(Problem(pointer, "a top-level Choice rule requires Next"))
    if top_level and "Next" in rule and not isinstance(rule["Next"], str):
        problems.append(Problem(_child(pointer, "Next"), "Next must be a string"))
    if top_level and "Assign" in rule and not isinstance(rule["Assign"], dict):
        problems.append(Problem(_child(pointer, "Assign"), "Assign must be a JSON object"))
    if "Comment" in rule and not isinstance(rule["Comment"], str):
        problems.append(Problem(_child(pointer, "Comment"), "Comment must be a string"))
    return problems


def _operator_problems(rule: dict[str, Any], name: str, pointer: str) -> list[Problem]:
    if name in BOOLEAN_OPERATORS:
        problems = _nested_problems(rule[name], name, pointer)
        if "Variable" in rule:
            problems.append(Problem(_child(pointer, "Variable"), f"Variable is not allowed with {name}"))
        return problems
    problems = _variable_problems(rule, name, pointer)
    message = _operand_problem(name, rule[name])
    if message:
        problems.append(Problem(_child(pointer, name), message))
    return problems


def _nested_problems(operand: Any, name: str, pointer: str) -> list[Problem]:
    here = _child(pointer, name)
    if name == "Not":
        if not isinstance(operand, dict):
            return [Problem(here, "Not must be a single Choice rule (a JSON object)")]
        return choice_rule_problems(operand, here, top_level=False)
    if not isinstance(operand, list) or not operand:
        return [Problem(here, f"{name} must be a non-empty array of Choice rules")]
    problems: list[Problem] = []
    for index, nested in enumerate(operand):
        problems.extend(choice_rule_problems(nested, f"{here}/{index}", top_level=False))
    return problems


def _variable_problems(rule: dict[str, Any], name: str, pointer: str) -> list[Problem]:
    if "Variable" not in rule:
        return [Problem(pointer, f"a Choice rule with {name} requires Variable")]
    message = path_problem(rule["Variable"])
    return [Problem(_child(pointer, "Variable"), f"Variable {message}")] if message else []


def _operand_problem(name: str, operand: Any) -> str | None:
    """What is wrong with an operator's operand, or None."""
    if name == IS_PRESENT or name in TYPE_TESTS:
        return None if isinstance(operand, bool) else f"{name} must be a boolean"
    comparison = COMPARISONS[name]
    if comparison.is_path:
        message = path_problem(operand)
        return f"{name} {message}" if message else None
    if comparison.read is as_timestamp:
        if not isinstance(operand, str):
            return f"{name} must be a string"
        return None if _is_rfc3339(operand) else f"{name} is not an RFC 3339 timestamp: {operand!r}"
    return None if comparison.read(operand) is not None else f"{name} must be {comparison.expected}"


# AWS's schema check of timestamp literals ("String does not match RFC3339 timestamp"): unlike
# the runtime parser, it requires the seconds.
_RFC3339_SHAPE = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)", re.ASCII)


def _is_rfc3339(text: str) -> bool:
    return _RFC3339_SHAPE.fullmatch(text) is not None and parse_timestamp(text) is not None


def path_problem(path: Any) -> str | None:
    """Why ``path`` is not a valid reference path (phrased to follow a field name), or None."""
    if not isinstance(path, str):
        return "must be a string holding a reference path"
    try:
        compiled = compile_path(path)
    except PathSyntaxError as exc:
        return f"is not a valid reference path: {exc}"
    if not compiled.is_definite:
        return f"must be a reference path (one definite location, no wildcards or filters): {path!r}"
    return None


def _child(pointer: str, key: str) -> str:
    return f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}"
