"""Small shared pieces of definition validation: pointers, value predicates, the scope context.

Everything here is pure and total: predicates accept any JSON value (or any Python object a
fuzzer may build) and never raise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeGuard

from engine.errors import Problem

JSONPATH = "JSONPath"
JSONATA = "JSONata"
QUERY_LANGUAGES = (JSONPATH, JSONATA)

# AWS caps most second counts and attempt counts at 99999999 (eight nines).
MAX_SECONDS = 99_999_999
# A retrier's MaxDelaySeconds may not exceed one year (366 days) of seconds.
MAX_DELAY_SECONDS = 31_622_400
MAX_STATE_NAME_LENGTH = 80
MAX_VARIABLE_NAME_LENGTH = 80


def child(pointer: str, *tokens: str | int) -> str:
    """Extend an RFC 6901 JSON pointer by raw tokens, escaping '~' and '/' inside them."""
    parts = [pointer]
    for token in tokens:
        parts.append("/" + str(token).replace("~", "~0").replace("/", "~1"))
    return "".join(parts)


def describe(value: Any) -> str:
    """A short JSON-ish name of a value's type, for messages ("a string", "null", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def is_int(value: Any) -> TypeGuard[int]:
    """A JSON integer; booleans are not numbers in JSON even though Python says so."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_jsonata(value: Any) -> bool:
    """A JSONata expression string: "{% ... %}" (AWS tolerates no surrounding text)."""
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}") and len(value) >= 4


def int_problem(value: Any, pointer: str, field: str, low: int, high: int = MAX_SECONDS) -> list[Problem]:
    """The problem, if any, with an integer field that must lie in [low, high]."""
    if not is_int(value):
        return [Problem(pointer, f"{field} must be an integer, not {describe(value)}")]
    if not low <= value <= high:
        return [Problem(pointer, f"{field} must be between {low} and {high}, not {value}")]
    return []


@dataclass(frozen=True)
class Scope:
    """Where a state machine body sits: its pointer and what it inherits.

    Attributes:
        pointer: JSON pointer of the body ("" for the top level).
        language: the query language its states default to.
        top_language: the whole machine's query language (states may not downgrade from JSONata).
        variables: variable names assigned in this body or any enclosing one.
    """

    pointer: str
    language: str
    top_language: str
    variables: frozenset[str]
