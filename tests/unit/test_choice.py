"""Choice rules (JSONPath): operator semantics, AWS quirks, static checks, recorded AWS cases."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.choice import choice_rule_problems, choose_next, match_rule
from engine.choice_rules import COMPARISONS, OPERATOR_NAMES, compile_glob, glob_matches, parse_timestamp
from engine.context import EvalContext
from engine.errors import EvaluationError

CTX = EvalContext()


def rule(op: str, operand: Any, variable: str = "$.v") -> dict[str, Any]:
    return {"Variable": variable, op: operand}


def holds(op: str, value: Any, operand: Any) -> bool:
    return match_rule(rule(op, operand), {"v": value}, CTX)


def holds_path(op: str, value: Any, other: Any) -> bool:
    return match_rule(rule(op, "$.w"), {"v": value, "w": other}, CTX)


# --- comparisons ------------------------------------------------------------------------------

WRONG_TYPES: list[Any] = [None, 0, 1.5, "", "x", [], [""], {}, {"A": 0}, True, False]


@pytest.mark.parametrize("value", [v for v in WRONG_TYPES if not isinstance(v, str)])
def test_string_operators_are_false_on_non_strings(value: Any) -> None:
    for op in (
        "StringEquals",
        "StringLessThan",
        "StringGreaterThan",
        "StringLessThanEquals",
        "StringGreaterThanEquals",
        "StringMatches",
    ):
        assert holds(op, value, "*") is False, op


@pytest.mark.parametrize("value", [None, "1", "", [], [1], {}, {"A": 1}, True, False])
def test_numeric_operators_are_false_on_non_numbers(value: Any) -> None:
    for op in (
        "NumericEquals",
        "NumericLessThan",
        "NumericGreaterThan",
        "NumericLessThanEquals",
        "NumericGreaterThanEquals",
    ):
        assert holds(op, value, 1) is False, op
        assert holds(op, value, 0) is False, op


@pytest.mark.parametrize("value", [None, 0, 1, 0.0, "true", "", [], [True], {}, {"A": True}])
def test_boolean_equals_is_false_on_non_booleans(value: Any) -> None:
    assert holds("BooleanEquals", value, True) is False
    assert holds("BooleanEquals", value, False) is False


def test_boolean_equals() -> None:
    assert holds("BooleanEquals", True, True)
    assert holds("BooleanEquals", False, False)
    assert not holds("BooleanEquals", False, True)
    assert holds_path("BooleanEqualsPath", False, False)
    assert not holds_path("BooleanEqualsPath", True, 1)


def test_numbers_compare_by_value_across_int_and_float() -> None:
    assert holds("NumericEquals", 0, 0.0)
    assert holds("NumericEquals", 1.0, 1)
    assert holds("NumericEquals", 2.22, 2.22)
    assert not holds("NumericEquals", 1.1, 1)
    assert holds("NumericLessThan", 0, 1)
    assert not holds("NumericLessThan", 1, 1)
    assert holds("NumericLessThanEquals", 1.0, 1)
    assert holds("NumericGreaterThan", 2, 1.5)
    assert holds("NumericGreaterThanEquals", 0.0, 0)
    assert holds("NumericEquals", 10**30, 10**30)
    assert not holds("NumericEquals", 10**30 + 1, 10**30)
    assert holds_path("NumericEqualsPath", 0.0, 0)
    assert not holds_path("NumericEqualsPath", 0, "0")
    assert not holds_path("NumericEqualsPath", 1, True)


def test_string_equality_is_exact() -> None:
    assert holds("StringEquals", "Hello", "Hello")
    assert not holds("StringEquals", " ", "     ")
    assert not holds("StringEquals", "hello", "Hello")
    assert not holds_path("StringEqualsPath", "\t\n", "\t\r\n")


def test_string_ordering() -> None:
    assert holds("StringLessThan", "A", "AB")
    assert not holds("StringLessThan", "", "")
    assert holds("StringLessThanEquals", "", "")
    assert not holds("StringGreaterThan", "A", "A ")
    assert not holds("StringGreaterThan", "A", "A\t\n\r")
    assert holds("StringGreaterThanEquals", "AB", "A")
    assert holds("StringLessThan", "B", "a")  # code unit order: uppercase first
    assert holds_path("StringGreaterThanEqualsPath", "AB", "A")


def test_string_ordering_is_by_utf16_code_unit_like_java() -> None:
    # U+1F600 is the surrogate pair D83D DE00, which Java orders before U+FFFD; Python's
    # code-point order would say the opposite.
    assert holds("StringLessThan", "\U0001f600", "\ufffd")
    assert holds("StringGreaterThan", "\ufffd", "\U0001f600")
    assert holds("StringLessThan", "é", "ê")
    assert holds("StringEquals", "é", "é")


# --- StringMatches ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pattern", "expected"),
    [
        ("foo23.log", "foo*.log", True),
        ("zebra.log", "*.log", True),
        ("foobar.zebra", "foo*.*", True),
        ("foo.txt", "foo*.log", False),
        ("", "*", True),
        ("", "", True),
        ("a", "", False),
        ("abc", "abc", True),
        ("abcd", "abc", False),
        ("abc", "a*b*c", True),
        ("ac", "a*b*c", False),
        ("aXbYc", "a*b*c", True),
        ("abab", "*ab", True),
        ("aba", "ab*ba", False),  # the two literals may not overlap
        ("abba", "ab*ba", True),
        ("line1\nline2", "line1*2", True),  # * crosses newlines
        ("a*b", "a\\*b", True),  # \* is a literal star
        ("axb", "a\\*b", False),
        ("a\\b", "a\\\\b", True),  # \\ is a literal backslash
        ("a\\xyz", "a\\\\*", True),
        ("a\\b", "a\\b", True),  # a backslash before anything else stays a backslash
        ("C:\\", "C:\\", True),
        ("x.y", "x.y", True),  # no regex metacharacters
        ("xzy", "x.y", False),
        ("(a)[b]", "(a)[*]", True),
    ],
)
def test_string_matches(text: str, pattern: str, expected: bool) -> None:
    assert holds("StringMatches", text, pattern) is expected


def test_string_matches_pattern_is_compiled_once() -> None:
    compile_glob.cache_clear()
    for _ in range(5):
        assert holds("StringMatches", "report-2024.csv", "report-*.csv")
    info = compile_glob.cache_info()
    assert info.misses == 1
    assert info.hits == 4


def test_string_matches_is_linear_on_adversarial_patterns() -> None:
    text = "a" * 20000
    assert not glob_matches(text, "*a*a*a*a*a*a*a*a*b")
    assert glob_matches(text + "b", "*a*a*a*a*a*a*a*a*b")


def _glob_reference(pattern: str) -> re.Pattern[str]:
    out = []
    index = 0
    while index < len(pattern):
        if pattern[index] == "\\" and pattern[index + 1 : index + 2] in ("*", "\\"):
            out.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        out.append(".*" if pattern[index] == "*" else re.escape(pattern[index]))
        index += 1
    return re.compile("".join(out), re.DOTALL)


@given(st.text(alphabet="ab*\\", max_size=8), st.text(alphabet="ab*\\", max_size=10))
def test_string_matches_agrees_with_a_regex_reference(pattern: str, text: str) -> None:
    expected = _glob_reference(pattern).fullmatch(text) is not None
    assert glob_matches(text, pattern) is expected


# --- timestamps -------------------------------------------------------------------------------

T0 = "2012-10-09T19:00:55Z"
T1 = "2012-10-09T19:00:56Z"


def test_timestamp_comparisons() -> None:
    assert holds("TimestampEquals", T0, T0)
    assert not holds("TimestampEquals", T0, T1)
    assert holds("TimestampLessThan", T0, T1)
    assert not holds("TimestampLessThan", T1, T0)
    assert holds("TimestampGreaterThan", T1, T0)
    assert holds("TimestampGreaterThanEquals", T0, T0)
    assert not holds("TimestampGreaterThanEquals", T0, T1)
    assert holds("TimestampLessThanEquals", T0, T0)
    assert holds_path("TimestampEqualsPath", T0, T0)
    assert not holds_path("TimestampGreaterThanPath", T0, T1)
    assert not holds_path("TimestampLessThanEqualsPath", T1, T0)


def test_timestamps_compare_as_instants() -> None:
    assert holds("TimestampEquals", "2012-10-09T20:00:55+01:00", T0)
    assert holds("TimestampEquals", "2012-10-09T18:30:55-00:30", T0)
    assert holds("TimestampEquals", "2012-10-10T00:00:55+05:00", T0)
    assert holds("TimestampEquals", "2012-10-09T19:00:55.000Z", T0)
    assert holds("TimestampLessThan", "2012-10-09T19:00:55.999999999Z", T1)
    assert holds("TimestampGreaterThan", "2012-10-09T19:00:55.000000001Z", T0)  # nanoseconds count
    assert holds("TimestampEquals", "2012-10-09t19:00:55z", T0)  # Java parses case-insensitively
    assert holds("TimestampEquals", "2012-10-09T19:00Z", "2012-10-09T19:00:00Z")  # seconds optional
    assert holds("TimestampLessThan", "1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z")


@pytest.mark.parametrize(
    "value",
    [
        "2023-02-24 12:15:56.832957",  # no T, no offset
        "2012-10-09T19:00:55",  # no offset
        "2012-10-09 19:00:55Z",
        "2023-02-24",
        "05-12-2016T21:29:29Z",
        "2016-12-05T25:29:29Z",
        "2016-12-05T21:60:29Z",
        "2016-12-05T21:29:60Z",  # no leap seconds
        "2015-02-29T00:00:00Z",
        "2016-13-01T00:00:00Z",
        "2016-00-01T00:00:00Z",
        "2016-01-00T00:00:00Z",
        "2016-12-05T21:29:29.1234567890Z",  # ten fraction digits
        "2016-12-05T21:29:29.Z",
        "2016-12-05T21:29:29+19:00",
        "2016-12-05T21:29:29+01",
        "2016-12-05T21:29:29+0100",
        " 2016-12-05T21:29:29Z",
        "\u0662016-12-05T21:29:29Z",  # an Arabic-Indic digit two
        "2016-12-05T21:29:29.000000000Z" + " " * 100,
        "",
        "HelloWorld",
    ],
)
def test_invalid_timestamps_never_compare(value: str) -> None:
    assert parse_timestamp(value) is None
    assert holds("TimestampEquals", value, T0) is False
    assert holds("TimestampLessThan", value, T0) is False
    assert holds("TimestampGreaterThan", value, T0) is False
    assert holds("IsTimestamp", value, False)


@pytest.mark.parametrize(
    "value",
    [
        "2012-10-09T19:00:55Z",
        "2012-10-09T19:00:55+01:00",
        "2012-10-09T19:00:55-08:00",
        "2012-10-09T19:00:55+01:00:30",
        "2016-03-05T21:29:29.243167252Z",
        "2016-02-29T00:00:00Z",
        "2000-02-29T00:00:00Z",
        "2026-11-22T15:35:24.00Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999999+18:00",
    ],
)
def test_valid_timestamps(value: str) -> None:
    assert parse_timestamp(value) is not None
    assert holds("IsTimestamp", value, True)


@given(
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)),
    st.integers(min_value=-18 * 60, max_value=18 * 60),
)
def test_timestamp_instant_agrees_with_datetime(moment: dt.datetime, offset_minutes: int) -> None:
    zone = dt.timezone(dt.timedelta(minutes=offset_minutes))
    aware = moment.replace(tzinfo=zone)
    text = aware.isoformat()
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    delta = aware - epoch
    expected = (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("value", [None, 0, 0.0, 1, [], [""], {}, {"A": 0}, True, False, "", " "])
def test_timestamp_operators_are_false_on_non_timestamps(value: Any) -> None:
    for op in (
        "TimestampEquals",
        "TimestampLessThan",
        "TimestampGreaterThan",
        "TimestampLessThanEquals",
        "TimestampGreaterThanEquals",
    ):
        assert holds(op, value, T0) is False, op


def test_timestamp_literal_is_parsed_once() -> None:
    parse_timestamp.cache_clear()
    for _ in range(3):
        holds("TimestampEquals", T0, T0)
    assert parse_timestamp.cache_info().misses == 1


# --- type tests and IsPresent -----------------------------------------------------------------

TYPE_CASES: list[tuple[Any, dict[str, bool]]] = [
    (None, {"IsNull": True}),
    (0, {"IsNumeric": True}),
    (0.0, {"IsNumeric": True}),
    (1.1, {"IsNumeric": True}),
    ("", {"IsString": True}),
    ("2012-10-09T19:00:55", {"IsString": True}),
    ("2012-10-09T19:00:55Z", {"IsString": True, "IsTimestamp": True}),
    ("2012-10-09T19:00:55+01:00", {"IsString": True, "IsTimestamp": True}),
    ("2023-02-24", {"IsString": True}),
    ([], {}),
    ([""], {}),
    ({}, {}),
    ({"A": 0}, {}),
    (True, {"IsBoolean": True}),
    (False, {"IsBoolean": True}),
]


@pytest.mark.parametrize(("value", "truths"), TYPE_CASES)
def test_type_tests(value: Any, truths: dict[str, bool]) -> None:
    for op in ("IsNull", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"):
        expected = truths.get(op, False)
        assert holds(op, value, True) is expected, op
        assert holds(op, value, False) is (not expected), op
    assert holds("IsPresent", value, True)
    assert not holds("IsPresent", value, False)


def test_is_present_on_a_missing_path() -> None:
    assert match_rule({"Variable": "$.missing", "IsPresent": False}, {"v": 1}, CTX)
    assert not match_rule({"Variable": "$.missing", "IsPresent": True}, {"v": 1}, CTX)
    assert not match_rule({"Variable": "$.v.deeper", "IsPresent": True}, {"v": 1}, CTX)


# --- missing paths ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "operand"),
    [
        ("StringEquals", "x"),
        ("NumericEquals", 1),
        ("BooleanEquals", True),
        ("TimestampEquals", T0),
        ("StringMatches", "*"),
        ("IsNull", True),
        ("IsNull", False),
        ("IsNumeric", False),
        ("IsString", False),
        ("IsBoolean", False),
        ("IsTimestamp", False),
        ("StringEqualsPath", "$.v"),
    ],
)
def test_a_missing_variable_fails_with_states_runtime(op: str, operand: Any) -> None:
    with pytest.raises(EvaluationError) as info:
        match_rule(rule(op, operand, variable="$.missing"), {"v": "x"}, CTX)
    assert info.value.error == "States.Runtime"
    assert info.value.cause == (
        "Invalid path '$.missing': The choice state's condition path references an invalid value."
    )


def test_a_missing_path_operand_fails_with_states_runtime() -> None:
    with pytest.raises(EvaluationError) as info:
        match_rule(rule("NumericEqualsPath", "$.nothing"), {"v": 1}, CTX)
    assert info.value.error == "States.Runtime"
    assert info.value.cause == (
        "Invalid path '$.nothing': The choice state's condition path references an invalid value."
    )


def test_a_missing_path_operand_fails_even_when_the_variable_has_the_wrong_type() -> None:
    with pytest.raises(EvaluationError):
        match_rule(rule("NumericEqualsPath", "$.nothing"), {"v": "text"}, CTX)


def test_null_is_present_not_missing() -> None:
    assert match_rule(rule("IsNull", True), {"v": None}, CTX)
    assert not match_rule(rule("StringEquals", "x"), {"v": None}, CTX)


# --- And / Or / Not ---------------------------------------------------------------------------


def test_boolean_operators() -> None:
    data = {"type": "Private", "value": 22}
    in_twenties = {
        "And": [
            {"Variable": "$.value", "NumericGreaterThanEquals": 20},
            {"Variable": "$.value", "NumericLessThan": 30},
        ]
    }
    assert match_rule(in_twenties, data, CTX)
    assert not match_rule({"Not": {"Variable": "$.type", "StringEquals": "Private"}}, data, CTX)
    either = {
        "Or": [{"Variable": "$.value", "NumericEquals": 0}, {"Variable": "$.type", "StringEquals": "Private"}]
    }
    assert match_rule(either, data, CTX)
    nested = {"Not": {"Or": [{"Variable": "$.value", "NumericLessThan": 0}, {"Not": in_twenties}]}}
    assert match_rule(nested, data, CTX)


def test_and_or_stop_at_the_deciding_rule() -> None:
    missing = {"Variable": "$.missing", "StringEquals": "x"}
    false = {"Variable": "$.v", "IsNull": True}
    true = {"Variable": "$.v", "IsNull": False}
    data = {"v": 1}
    assert not match_rule({"And": [false, missing]}, data, CTX)
    assert match_rule({"Or": [true, missing]}, data, CTX)
    with pytest.raises(EvaluationError):
        match_rule({"And": [true, missing]}, data, CTX)
    with pytest.raises(EvaluationError):
        match_rule({"Or": [false, missing]}, data, CTX)


LEAVES: list[dict[str, Any]] = [
    {"Variable": "$.n", "NumericGreaterThan": 5},
    {"Variable": "$.n", "NumericEquals": 3},
    {"Variable": "$.s", "StringMatches": "a*"},
    {"Variable": "$.s", "StringLessThanPath": "$.t"},
    {"Variable": "$.b", "BooleanEquals": True},
    {"Variable": "$.opt", "IsPresent": True},
    {"Variable": "$.n", "IsNumeric": True},
]


def _rules(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    leaf = st.sampled_from(LEAVES)
    if depth == 0:
        return leaf
    inner = _rules(depth - 1)
    return st.one_of(
        leaf,
        inner.map(lambda r: {"Not": r}),
        st.lists(inner, min_size=1, max_size=3).map(lambda rs: {"And": rs}),
        st.lists(inner, min_size=1, max_size=3).map(lambda rs: {"Or": rs}),
    )


DATA = st.fixed_dictionaries(
    {
        "n": st.one_of(st.integers(-10, 10), st.floats(-10, 10), st.booleans(), st.none()),
        "s": st.one_of(st.text(alphabet="ab", max_size=3), st.integers()),
        "t": st.text(alphabet="ab", max_size=3),
        "b": st.one_of(st.booleans(), st.integers(0, 1)),
    },
    optional={"opt": st.none()},
)


@given(_rules(3), DATA)
def test_not_negates(choice_rule: dict[str, Any], data: dict[str, Any]) -> None:
    assert match_rule({"Not": choice_rule}, data, CTX) is (not match_rule(choice_rule, data, CTX))


@given(_rules(3), DATA)
def test_and_or_of_one_rule_is_the_rule(choice_rule: dict[str, Any], data: dict[str, Any]) -> None:
    expected = match_rule(choice_rule, data, CTX)
    assert match_rule({"And": [choice_rule]}, data, CTX) is expected
    assert match_rule({"Or": [choice_rule]}, data, CTX) is expected


@given(st.lists(_rules(2), min_size=1, max_size=4), DATA)
def test_de_morgan(rules: list[dict[str, Any]], data: dict[str, Any]) -> None:
    left = match_rule({"Not": {"And": rules}}, data, CTX)
    right = match_rule({"Or": [{"Not": r} for r in rules]}, data, CTX)
    assert left is right
    assert match_rule({"And": rules}, data, CTX) is all(match_rule(r, data, CTX) for r in rules)


@given(
    st.one_of(st.integers(), st.floats(allow_nan=False)), st.one_of(st.integers(), st.floats(allow_nan=False))
)
def test_numeric_operators_agree_with_arithmetic(a: float, b: float) -> None:
    data = {"v": a, "w": b}
    assert match_rule(rule("NumericLessThanPath", "$.w"), data, CTX) is (a < b)
    assert match_rule(rule("NumericEqualsPath", "$.w"), data, CTX) is (a == b)
    assert match_rule(rule("NumericGreaterThanEquals", b), data, CTX) is (a >= b)


@given(st.text(max_size=6), st.text(max_size=6))
def test_string_order_is_utf16_order(a: str, b: str) -> None:
    ua, ub = a.encode("utf-16-be", "surrogatepass"), b.encode("utf-16-be", "surrogatepass")
    data = {"v": a, "w": b}
    assert match_rule(rule("StringLessThanPath", "$.w"), data, CTX) is (ua < ub)
    assert match_rule(rule("StringGreaterThanEqualsPath", "$.w"), data, CTX) is (ua >= ub)
    assert match_rule(rule("StringEqualsPath", "$.w"), data, CTX) is (a == b)


# --- variables and the context object ---------------------------------------------------------


def test_rules_read_variables_and_the_context_object() -> None:
    ctx = EvalContext(
        context_object={"Execution": {"Name": "run-1"}}, variables={"guess": "42", "answer": "42"}
    )
    assert match_rule({"Variable": "$guess", "StringEqualsPath": "$answer"}, {}, ctx)
    assert match_rule({"Variable": "$$.Execution.Name", "StringMatches": "run-*"}, {}, ctx)
    assert match_rule({"Variable": "$nothing", "IsPresent": False}, {}, ctx)


# --- choose_next ------------------------------------------------------------------------------

STATE: dict[str, Any] = {
    "Type": "Choice",
    "Choices": [
        {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
        {"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
        {
            "And": [
                {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                {"Variable": "$.value", "NumericLessThan": 30},
            ],
            "Next": "ValueInTwenties",
        },
    ],
    "Default": "DefaultState",
}


def test_choose_next_takes_the_first_matching_rule() -> None:
    assert choose_next(STATE, {"type": "Public", "value": 0}, CTX) == "Public"
    assert choose_next(STATE, {"type": "Private", "value": 0}, CTX) == "ValueIsZero"
    assert choose_next(STATE, {"type": "Private", "value": 22}, CTX) == "ValueInTwenties"
    assert choose_next(STATE, {"type": "Private", "value": 42}, CTX) == "DefaultState"


def test_choose_next_without_default_returns_none() -> None:
    state = {key: value for key, value in STATE.items() if key != "Default"}
    assert choose_next(state, {"type": "Private", "value": 42}, CTX) is None


def test_choose_next_does_not_evaluate_rules_after_a_match() -> None:
    state = {
        "Choices": [
            {"Variable": "$.a", "IsNull": False, "Next": "A"},
            {"Variable": "$.missing", "IsNull": False, "Next": "B"},
        ]
    }
    assert choose_next(state, {"a": 1}, CTX) == "A"
    with pytest.raises(EvaluationError):
        choose_next(state, {"a": None}, CTX)


# --- static validation ------------------------------------------------------------------------


def messages(problems: list[Any]) -> list[tuple[str, str]]:
    return [(p.pointer, p.message) for p in problems]


P = "/States/C/Choices/0"


@pytest.mark.parametrize(
    "valid",
    [
        {"Variable": "$.x", "StringEquals": "a", "Next": "N"},
        {"Variable": "$.x", "StringEqualsPath": "$.y", "Next": "N"},
        {"Variable": "$.x", "NumericEquals": 1.5, "Next": "N"},
        {"Variable": "$.x", "NumericLessThanPath": "$$.Execution.Input.n", "Next": "N"},
        {"Variable": "$.x", "BooleanEquals": False, "Next": "N"},
        {"Variable": "$.x", "TimestampEquals": "2012-10-09T19:00:55Z", "Next": "N"},
        {"Variable": "$.x", "TimestampLessThan": "2012-10-09T19:00:55.5+01:00", "Next": "N"},
        {"Variable": "$.x", "StringMatches": "log-*.txt", "Next": "N"},
        {"Variable": "$.x", "IsPresent": False, "Next": "N"},
        {"Variable": "$.x", "IsTimestamp": True, "Next": "N", "Comment": "why"},
        {"Variable": "$var", "IsNull": True, "Next": "N", "Assign": {"seen": True}},
        {"And": [{"Variable": "$.x", "IsNull": True}], "Next": "N"},
        {
            "Or": [{"Variable": "$.x", "IsNull": True}, {"Not": {"Variable": "$.y", "IsString": True}}],
            "Next": "N",
        },
        {"Not": {"And": [{"Variable": "$.x", "IsNull": True, "Comment": "nested comment"}]}, "Next": "N"},
    ],
)
def test_valid_rules_have_no_problems(valid: dict[str, Any]) -> None:
    assert choice_rule_problems(valid, P, top_level=True) == []


@pytest.mark.parametrize(
    ("invalid", "pointer", "fragment"),
    [
        ("not a rule", P, "JSON object"),
        ({"Variable": "$.x", "Next": "N"}, P, "exactly one comparison operator"),
        ({"Next": "N"}, P, "exactly one comparison operator"),
        ({"Variable": "$.x", "StringEquals": "a", "IsNull": True, "Next": "N"}, P, "StringEquals, IsNull"),
        ({"StringEquals": "a", "Next": "N"}, P, "requires Variable"),
        ({"Variable": "x", "StringEquals": "a", "Next": "N"}, P + "/Variable", "not a valid reference path"),
        ({"Variable": 3, "StringEquals": "a", "Next": "N"}, P + "/Variable", "must be a string"),
        ({"Variable": "$.x", "StringEquals": 1, "Next": "N"}, P + "/StringEquals", "must be a string"),
        ({"Variable": "$.x", "StringMatches": None, "Next": "N"}, P + "/StringMatches", "must be a string"),
        ({"Variable": "$.x", "NumericEquals": "1", "Next": "N"}, P + "/NumericEquals", "must be a number"),
        ({"Variable": "$.x", "NumericEquals": True, "Next": "N"}, P + "/NumericEquals", "must be a number"),
        (
            {"Variable": "$.x", "BooleanEquals": "true", "Next": "N"},
            P + "/BooleanEquals",
            "must be a boolean",
        ),
        ({"Variable": "$.x", "BooleanEquals": 1, "Next": "N"}, P + "/BooleanEquals", "must be a boolean"),
        ({"Variable": "$.x", "TimestampEquals": 0, "Next": "N"}, P + "/TimestampEquals", "must be a string"),
        (
            {"Variable": "$.x", "TimestampEquals": "2016-12-05T25:29:29Z", "Next": "N"},
            P + "/TimestampEquals",
            "RFC 3339",
        ),
        (
            {"Variable": "$.x", "TimestampEquals": "2016-12-05T21:29:29", "Next": "N"},
            P + "/TimestampEquals",
            "RFC 3339",
        ),
        (
            {"Variable": "$.x", "TimestampEquals": "2016-12-05T21:29Z", "Next": "N"},
            P + "/TimestampEquals",
            "RFC 3339",
        ),
        ({"Variable": "$.x", "IsPresent": "yes", "Next": "N"}, P + "/IsPresent", "must be a boolean"),
        ({"Variable": "$.x", "IsNull": 1, "Next": "N"}, P + "/IsNull", "must be a boolean"),
        ({"Variable": "$.a[*]", "IsNull": True, "Next": "N"}, P + "/Variable", "reference path"),
        ({"Variable": "$..a", "IsNull": True, "Next": "N"}, P + "/Variable", "reference path"),
        (
            {"Variable": "$.x", "StringEqualsPath": "$.y[?(@.z)]", "Next": "N"},
            P + "/StringEqualsPath",
            "reference path",
        ),
        (
            {"Variable": "$.x", "StringEqualsPath": "y", "Next": "N"},
            P + "/StringEqualsPath",
            "reference path",
        ),
        (
            {"Variable": "$.x", "NumericEqualsPath": 3, "Next": "N"},
            P + "/NumericEqualsPath",
            "must be a string",
        ),
        (
            {"Variable": "$.x", "StringMatchesPath": "$.y", "Next": "N"},
            P + "/StringMatchesPath",
            "not supported",
        ),
        ({"Variable": "$.x", "StringEquals": "a"}, P, "requires Next"),
        ({"Variable": "$.x", "StringEquals": "a", "Next": 3}, P + "/Next", "must be a string"),
        ({"Variable": "$.x", "StringEquals": "a", "Next": "N", "Foo": 1}, P + "/Foo", "not supported"),
        ({"Variable": "$.x", "StringEquals": "a", "Next": "N", "a/b": 1}, P + "/a~1b", "not supported"),
        (
            {"Variable": "$.x", "StringEquals": "a", "Next": "N", "Comment": 1},
            P + "/Comment",
            "must be a string",
        ),
        ({"Variable": "$.x", "StringEquals": "a", "Next": "N", "Assign": []}, P + "/Assign", "JSON object"),
        ({"Condition": "{% true %}", "Next": "N"}, P + "/Condition", "not supported"),
        ({"And": [], "Next": "N"}, P + "/And", "non-empty array"),
        ({"Or": {"Variable": "$.x", "IsNull": True}, "Next": "N"}, P + "/Or", "non-empty array"),
        ({"Not": [{"Variable": "$.x", "IsNull": True}], "Next": "N"}, P + "/Not", "single Choice rule"),
        (
            {"Variable": "$.x", "And": [{"Variable": "$.x", "IsNull": True}], "Next": "N"},
            P + "/Variable",
            "not allowed with And",
        ),
        (
            {"And": [{"Variable": "$.x", "IsNull": True, "Next": "N"}], "Next": "N"},
            P + "/And/0/Next",
            "only allowed in a top-level",
        ),
        (
            {"Not": {"Variable": "$.x", "IsNull": True, "Assign": {}}, "Next": "N"},
            P + "/Not/Assign",
            "only allowed in a top-level",
        ),
        (
            {
                "Or": [{"Variable": "$.x", "IsNull": True}, {"Variable": "$.x", "NumericEquals": "1"}],
                "Next": "N",
            },
            P + "/Or/1/NumericEquals",
            "must be a number",
        ),
        (
            {"Not": {"Not": {"Variable": "$.x"}}, "Next": "N"},
            P + "/Not/Not",
            "exactly one comparison operator",
        ),
        ({"And": ["rule"], "Next": "N"}, P + "/And/0", "JSON object"),
    ],
)
def test_invalid_rules(invalid: Any, pointer: str, fragment: str) -> None:
    problems = messages(choice_rule_problems(invalid, P, top_level=True))
    assert any(where == pointer and fragment in message for where, message in problems), problems


def test_nested_rules_need_no_next() -> None:
    nested = {"Variable": "$.x", "IsNull": True}
    assert choice_rule_problems(nested, P + "/And/0", top_level=False) == []
    assert messages(choice_rule_problems({**nested, "Next": "N"}, P + "/Not", top_level=False)) == [
        (P + "/Not/Next", "Next is only allowed in a top-level Choice rule")
    ]


def test_every_problem_is_reported() -> None:
    bad = {"And": [{"Variable": "x", "NumericEquals": "1"}, {"Foo": 1}], "Bar": 2}
    pointers = {p.pointer for p in choice_rule_problems(bad, P, top_level=True)}
    assert pointers == {
        P,
        P + "/Bar",
        P + "/And/0/Variable",
        P + "/And/0/NumericEquals",
        P + "/And/1",
        P + "/And/1/Foo",
    }


def test_the_operator_catalog_is_complete() -> None:
    families = {"String": 5, "Numeric": 5, "Boolean": 1, "Timestamp": 5}
    expected = {
        f + r
        for f, n in families.items()
        for r in ["Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals"][:n]
    }
    expected |= {name + "Path" for name in expected} | {"StringMatches"}
    assert set(COMPARISONS) == expected
    others = {"IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp", "And", "Or", "Not"}
    assert expected | others == OPERATOR_NAMES


# --- the cases recorded from real AWS ---------------------------------------------------------

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "cases"


def _corpus_cases() -> list[Any]:
    if not CORPUS.is_dir():
        return []
    cases = []
    for path in sorted((CORPUS / "choice").glob("*.json")):
        case = json.loads(path.read_text())
        if _simulate(case["definition"], case["input"]) is not _UNSUPPORTED:
            cases.append(pytest.param(case, id=case["name"]))
    return cases


_UNSUPPORTED = object()
_CHOICE_FIELDS = {"Type", "Choices", "Default", "Comment"}


def _simulate(definition: dict[str, Any], data: Any) -> Any:
    """Run a Pass/Choice/Fail/Succeed-only JSONPath machine; the outcome, or _UNSUPPORTED."""
    if not isinstance(definition, dict) or definition.get("QueryLanguage"):
        return _UNSUPPORTED
    name: str | None = definition["StartAt"]
    for _ in range(100):
        state = definition["States"][name]
        kind = state["Type"]
        if kind == "Choice":
            if any("Condition" in r for r in state["Choices"]) or set(state) - _CHOICE_FIELDS:
                return _UNSUPPORTED
            try:
                name = choose_next(state, data, CTX)
            except EvaluationError as exc:
                return {"status": "FAILED", "error": exc.error}
            if name is None:
                return {"status": "FAILED", "error": "States.NoChoiceMatched"}
        elif kind == "Pass" and set(state) <= {"Type", "Result", "End", "Next", "Comment"}:
            data = state.get("Result", data)
            name = state.get("Next")
            if state.get("End"):
                return {"status": "SUCCEEDED", "output": data}
        elif kind == "Fail" and set(state) <= {"Type", "Error", "Cause", "Comment"}:
            return {"status": "FAILED", "error": state.get("Error")}
        elif kind == "Succeed" and set(state) <= {"Type", "Comment"}:
            return {"status": "SUCCEEDED", "output": data}
        else:
            return _UNSUPPORTED
    return _UNSUPPORTED


def _strict(value: Any) -> Any:
    """A form where true and 1 differ, but 1 and 1.0 do not (JSON equality)."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, dict):
        return {key: _strict(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_strict(item) for item in value]
    return value


RECORDED = _corpus_cases()


@pytest.mark.skipif(not RECORDED, reason="conformance corpus not available")
@pytest.mark.parametrize("case", RECORDED)
def test_recorded_aws_case(case: dict[str, Any]) -> None:
    outcome = _simulate(case["definition"], case["input"])
    expected = case["expected"]
    assert outcome["status"] == expected["status"]
    if expected["status"] == "SUCCEEDED":
        assert _strict(outcome["output"]) == _strict(expected["output"])
    else:
        assert outcome["error"] == expected.get("error")


def test_the_recorded_cases_cover_every_choice_file() -> None:
    if not CORPUS.is_dir():
        pytest.skip("conformance corpus not available")
    simulated = {param.values[0]["name"] for param in RECORDED}
    jsonpath_choice = {p.stem for p in (CORPUS / "choice").glob("*.json") if "JSONATA" not in p.stem}
    assert jsonpath_choice <= simulated
