"""Intrinsic functions: parsing, every function's results and failures, recorded AWS cases."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.context import EvalContext
from engine.errors import EvaluationError
from engine.intrinsics import FUNCTIONS, IntrinsicCall, IntrinsicSyntaxError, is_intrinsic, parse_intrinsic
from engine.intrinsics.java import JavaRandom, double_to_string, java_round, to_display
from engine.jsonpath import apply_result_path, read_reference

CTX = EvalContext(context_object={"StateMachine": {"Name": "my-state-machine"}}, variables={"tpl": "It's {}!"})


def call(text: str, data: Any = None, ctx: EvalContext = CTX) -> Any:
    return parse_intrinsic(text).evaluate(data, ctx)


def failure(text: str, data: Any = None) -> str:
    with pytest.raises(EvaluationError) as info:
        call(text, data)
    assert info.value.error == "States.IntrinsicFailure"
    assert info.value.cause
    return info.value.cause


# --- parsing ------------------------------------------------------------------------------------


def test_registry_has_every_aws_function() -> None:
    names = ["Format", "StringToJson", "JsonToString", "Array", "ArrayPartition", "ArrayContains", "ArrayRange",
             "ArrayGetItem", "ArrayLength", "ArrayUnique", "Base64Encode", "Base64Decode", "Hash", "JsonMerge",
             "MathRandom", "MathAdd", "StringSplit", "UUID"]
    assert set(FUNCTIONS) == {f"States.{name}" for name in names}


@pytest.mark.parametrize(
    ("text", "looks"),
    [("States.Format('x')", True), (" States.UUID ()", True), ("States.Array(", True), ("$.a", False),
     ("States.Format", False), ("Foo.Bar()", False), ("states.Array()", False)],
)
def test_is_intrinsic(text: str, looks: bool) -> None:
    assert is_intrinsic(text) is looks


def test_parse_is_cached_and_builds_a_tree() -> None:
    parsed = parse_intrinsic("States.Array(1, -2.5, 'x', true, false, null, $.p, States.UUID())")
    assert parsed is parse_intrinsic("States.Array(1, -2.5, 'x', true, false, null, $.p, States.UUID())")
    assert isinstance(parsed, IntrinsicCall)
    assert parsed.name == "States.Array"
    assert len(parsed.args) == 8
    values = parsed.evaluate({"p": [1]}, CTX)
    assert values[:7] == [1, -2.5, "x", True, False, None, [1]]
    assert isinstance(values[0], int)
    assert re.fullmatch(r"[0-9a-f-]{36}", values[7])


@pytest.mark.parametrize(
    ("text", "message"),
    [("States.Nope(1)", "unknown intrinsic function 'States.Nope'"), ("States.(1)", "expected a function name"),
     ("States.Array", "expected '('"), ("States.Array(1", "missing ')'"), ("States.Array(1,)", "expected an argument"),
     ("States.Array(1 2)", "expected ',' or ')'"), ("States.Array(1) x", "unexpected text"),
     ("States.Array('abc)", "unterminated string"), ("States.Array(truth)", "expected an argument"),
     ("States.UUID(1)", "takes 0 argument(s), not 1"), ("States.MathAdd(1)", "takes 2 argument(s), not 1"),
     ("States.Format()", "at least 1"), ("States.MathRandom(1)", "at least 2 and at most 3"),
     ("States.Array($.a b)", "invalid path argument"), ("States.Array($$$)", "invalid path argument"),
     ("Format('x')", "expected a function name")],
)
def test_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(IntrinsicSyntaxError) as info:
        parse_intrinsic(text)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "text",
    # Recorded: AWS rejects these definitions ("must be a valid JSONPath or a valid intrinsic function call").
    ["States.StringToJson('{\"text\":\"An \\\"escaped double quote\\\" here\"}')",
     "States.Format('He said, \\\"Hello, {}!\\\"', 'Test \\\"Name\\\" Here')", "States.Format('a\\nb')"],
)
def test_only_four_escapes_are_legal(text: str) -> None:
    with pytest.raises(IntrinsicSyntaxError, match="illegal escape"):
        parse_intrinsic(text)


def test_legal_escapes_and_raw_characters() -> None:
    assert call("States.Array('it\\'s', '\\{\\}', 'back\\\\slash', 'new\nline')") == [
        "it's", "{}", "back\\slash", "new\nline"]


def test_paths_may_hold_commas_parentheses_and_quotes() -> None:
    data = {"a,b": {"x)": [1, 2]}, "k": [{"v": 1}, {"v": 2}]}
    assert call("States.Array($['a,b']['x)'][1], $.k[?(@.v > 1)], $..v)", data) == [2, [{"v": 2}], [1, 2]]


def test_nested_calls() -> None:
    # Recorded (nested_calls_1/2): the state machine name's first and last '-' separated parts.
    assert call("States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)") == "my"
    assert call("States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), "
                "States.MathAdd(States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')), -1))") == "machine"


# --- States.Format ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    # Recorded by AWS (generic__test_format_1/2 and test_context_json_path).
    [("", ""), (" ", " "), ("HelloWorld", "HelloWorld"), (None, "null"), (1, "1"), (1.1, "1.1"),
     ('{"Arg1": 1, "Arg2": []}', '{"Arg1": 1, "Arg2": []}'), ({"Arg1": 1, "Arg2": []}, "{Arg1=1, Arg2=[]}"),
     ({"Id": "arn", "Name": "n"}, "{Id=arn, Name=n}"), (True, "true"), ([1, "a", None, 2.0], "[1, a, null, 2.0]")],
)
def test_format_prints_values_like_java(value: Any, text: str) -> None:
    assert call("States.Format('x={}.', $.v)", {"v": value}) == f"x={text}."


def test_format_placeholders_and_escapes() -> None:
    assert call("States.Format('{} and {}', 1, 'b')") == "1 and b"
    assert call("States.Format('\\{} is literal, {} is not', 'x')") == "{} is literal, x is not"
    assert call("States.Format('{\"a\": {}}', 5)") == '{"a": 5}'
    assert call("States.Format('none')") == "none"
    assert call("States.Format($tpl, 'Pikachu')") == "It's Pikachu!"  # template from a variable


def test_format_argument_count_must_match() -> None:
    assert "1 placeholder(s) but 2 argument(s)" in failure("States.Format('{}', 1, 2)")
    assert "2 placeholder(s) but 1 argument(s)" in failure("States.Format('{}{}', 1)")
    assert "first argument must be a JSON string, but was number" in failure("States.Format($.n)", {"n": 1})


# --- JSON ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("", None), (" ", None), ("null", None), ("-0", 0), ("1", 1), ("1.1", 1.1), ("true", True),
     ('"HelloWorld"', "HelloWorld"), ('[1, 2, "HelloWorld"]', [1, 2, "HelloWorld"]),
     ('{"Arg1": 1, "Arg2": []}', {"Arg1": 1, "Arg2": []})],
)
def test_string_to_json(text: str, value: Any) -> None:
    assert call("States.StringToJson($.s)", {"s": text}) == value


def test_string_to_json_failures() -> None:
    assert "not valid JSON" in failure("States.StringToJson('{nope')")
    assert "NaN is not JSON" in failure("States.StringToJson('[NaN]')")
    assert "must be a JSON string, but was object" in failure("States.StringToJson($.o)", {"o": {}})


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "null"), (0, "0"), (1, "1"), (1.1, "1.1"), (True, "true"), ("HelloWorld", '"HelloWorld"'),
     ([1, 2, "HelloWorld"], '[1,2,"HelloWorld"]'), ({"Arg1": 1, "Arg2": []}, '{"Arg1":1,"Arg2":[]}'),
     (1e20, "1.0E20"), ({"é": "\n"}, '{"é":"\\n"}')],
)
def test_json_to_string_is_compact_jackson(value: Any, text: str) -> None:
    assert call("States.JsonToString($.v)", {"v": value}) == text


def test_json_merge_is_shallow() -> None:
    data = {"a": {"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3}, "b": {"a": {"a3": 1, "a4": 2}, "c": 3, "d": 4}}
    assert call("States.JsonMerge($.a, $.b, false)", data) == {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3, "d": 4}
    assert data["a"] == {"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3}
    assert "deep merging is not supported" in failure("States.JsonMerge($.a, $.b, true)", data)
    assert "second argument must be a JSON object, but was array" in failure("States.JsonMerge($.a, $.l, false)",
                                                                            {"a": {}, "l": []})
    assert "third argument must be a JSON boolean" in failure("States.JsonMerge($.a, $.a, 'false')", {"a": {}})


# --- arrays -------------------------------------------------------------------------------------


def test_array() -> None:
    assert call("States.Array()") == []
    assert call("States.Array($.a, $.a)", {"a": None}) == [None, None]


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("length", [0, 1, 2, 3, 4])
def test_array_partition_like_aws(size: int, length: int) -> None:
    items = list(range(length))
    chunks = call("States.ArrayPartition($.a, $.n)", {"a": items, "n": size})
    assert [x for chunk in chunks for x in chunk] == items
    assert all(len(chunk) == size for chunk in chunks[:-1])
    assert all(0 < len(chunk) <= size for chunk in chunks)


def test_array_partition_failures() -> None:
    assert "chunk size must be a positive integer, but was 0" in failure("States.ArrayPartition($.a, 0)", {"a": [1]})
    assert "first argument must be a JSON array" in failure("States.ArrayPartition('x', 1)")
    assert call("States.ArrayPartition($.a, 1.5)", {"a": [1, 2, 3]}) == [[1, 2], [3]]  # rounded half up


@pytest.mark.parametrize(
    ("array", "value", "found"),
    # Recorded by AWS (array_contains exec 0..7) plus type strictness.
    [([], None, False), ([], [], False), ([], 1, False), ([[1, 2, 3], 2], None, False),
     ([[1, 2, 3], 2], [1, 2, 3], True), ([{"1": 2, "2": []}], [], False),
     ([{"1": 2, "2": []}], {"2": [], "1": 2}, True), ([True, False], True, True), ([True, False], False, True),
     ([1], True, False), ([1], 1.0, False), (["1"], 1, False)],
)
def test_array_contains(array: list[Any], value: Any, found: bool) -> None:
    assert call("States.ArrayContains($.a, $.v)", {"a": array, "v": value}) is found


@pytest.mark.parametrize(
    ("args", "expected"),
    [((0, 9, 3), [0, 3, 6, 9]), ((0, 10, 3), [0, 3, 6, 9]), ((1, 9, 9), [1]), ((1, 9, 2), [1, 3, 5, 7, 9]),
     ((9, 1, -2), [9, 7, 5, 3, 1]), ((5, 1, 1), []), ((0, 2.5, 1), [0, 1, 2, 3]), ((1, 1000, 1), list(range(1, 1001)))],
)
def test_array_range(args: tuple[Any, ...], expected: list[int]) -> None:
    assert call("States.ArrayRange($.a[0], $.a[1], $.a[2])", {"a": list(args)}) == expected


def test_array_range_failures() -> None:
    assert "must not be 0" in failure("States.ArrayRange(1, 5, 0)")
    assert "1001 items, more than 1000" in failure("States.ArrayRange(0, 1000, 1)")
    assert "second argument must be a JSON number, but was string" in failure("States.ArrayRange(0, '5', 1)")


def test_array_get_item_length_unique() -> None:
    data = {"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]}
    assert call("States.ArrayGetItem($.a, 5)", data) == 6
    assert call("States.ArrayLength($.a)", data) == 9
    assert "index 9 is out of bounds" in failure("States.ArrayGetItem($.a, 9)", data)
    assert "index -1 is out of bounds" in failure("States.ArrayGetItem($.a, -1)", data)
    unique = [None, None, True, True, False, 1, 1, 1.1, 0, "HelloWorld", "HelloWorld", [], [], [None], [None],
              {"a": 1, "b": 2}, {"b": 2, "a": 1}, {"a": 1, "b": 1}]
    assert call("States.ArrayUnique($.u)", {"u": unique}) == [
        None, True, False, 1, 1.1, 0, "HelloWorld", [], [None], {"a": 1, "b": 2}, {"a": 1, "b": 1}]
    assert "must be a JSON array, but was null" in failure("States.ArrayLength($.x)", {"x": None})


# --- encoding, hashing --------------------------------------------------------------------------


def test_base64() -> None:
    assert call("States.Base64Encode('Data to encode')") == "RGF0YSB0byBlbmNvZGU="
    assert call("States.Base64Encode('')") == ""
    assert call("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')") == "Data to encode"
    assert call("States.Base64Decode('')") == ""
    assert call("States.Base64Decode('YQ')") == "a"  # padding is optional, as for Java's decoder
    assert "not valid base64" in failure("States.Base64Decode('%%%')")
    assert "10001 characters, more than 10000" in failure("States.Base64Encode($.s)", {"s": "x" * 10001})


@pytest.mark.parametrize(
    ("algorithm", "digest"),
    # Recorded by AWS for "input data".
    [("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
     ("SHA-256", "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"),
     ("SHA-384", "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562"),
     ("MD5", hashlib.md5(b"input data").hexdigest()), ("SHA-512", hashlib.sha512(b"input data").hexdigest())],
)
def test_hash(algorithm: str, digest: str) -> None:
    assert call("States.Hash($.d, $.a)", {"d": "input data", "a": algorithm}) == digest


def test_hash_failures() -> None:
    assert "must be one of MD5, SHA-1, SHA-256, SHA-384, SHA-512, but was 'sha-1'" in failure(
        "States.Hash('x', 'sha-1')")
    assert "first argument must be a JSON string" in failure("States.Hash(1, 'MD5')")


# --- math, strings, ids -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right", "total"),
    # Recorded by AWS: each operand is rounded half up (Java Math.round) before adding.
    [(-9, 3, -6), (1.49, 1.5, 3), (-1.5, -1.51, -3), (1.49, 0, 1), (1.51, 0, 2), (-1.49, 0, -1), (-1.5, 0, -1),
     (-1.51, 0, -2), (2.5, 0, 3), (-0.5, 0.5, 1), (-0.5, 0, 0), (-2.5, 0, -2), (0.5, 0, 1), (3.5, 0, 4)],
)
def test_math_add(left: float, right: float, total: int) -> None:
    result = call("States.MathAdd($.l, $.r)", {"l": left, "r": right})
    assert result == total
    assert isinstance(result, int)


def test_math_add_failures() -> None:
    assert "outside the integer range" in failure("States.MathAdd(2147483648, 0)")
    assert "first argument must be a JSON number, but was boolean" in failure("States.MathAdd(true, 1)")
    assert call("States.MathAdd($.i, -1)", {"i": 5}) == 4


def test_math_random_uses_the_context_rng() -> None:
    values = {call("States.MathRandom(12.5, 44.51)", ctx=EvalContext(rng=random.Random(seed))) for seed in range(200)}
    assert values <= set(range(13, 45)) and len(values) > 10  # bounds rounded; end exclusive
    again = call("States.MathRandom(0, 1000)", ctx=EvalContext(rng=random.Random(7)))
    assert again == call("States.MathRandom(0, 1000)", ctx=EvalContext(rng=random.Random(7)))


def test_math_random_with_a_seed_is_java_random() -> None:
    assert call("States.MathRandom(0, 999, 3)") == JavaRandom(3).next_int(999)
    assert call("States.MathRandom(10, 20, 42)") == call("States.MathRandom(10, 20, 42)")
    assert "start (5) must be less than the end (5)" in failure("States.MathRandom(5, 5)")


@pytest.mark.parametrize(
    ("text", "delimiter", "parts"),
    # Recorded by AWS: every delimiter character splits and empty tokens are dropped.
    [(" ", ",", [" "]), (" , ", ",", [" ", " "]), (", , ,", ",", [" ", " "]), (",,,,", ",", []),
     ("1,2,3,4,5", ",", ["1", "2", "3", "4", "5"]),
     ("This.is+a,test=string", ".+,=", ["This", "is", "a", "test", "string"]),
     ("split on T and \nnew line", "T\n", ["split on ", " and ", "new line"]), ("", ",", []), ("abc", "", ["abc"])],
)
def test_string_split(text: str, delimiter: str, parts: list[str]) -> None:
    assert call("States.StringSplit($.t, $.d)", {"t": text, "d": delimiter}) == parts


def test_uuid_is_a_v4_from_the_context_rng() -> None:
    first = call("States.UUID()", ctx=EvalContext(rng=random.Random(1)))
    assert first == call("States.UUID()", ctx=EvalContext(rng=random.Random(1)))
    parsed = uuid.UUID(first)
    assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert first != call("States.UUID()", ctx=EvalContext(rng=random.Random(2)))


# --- path arguments -----------------------------------------------------------------------------


def test_missing_path_argument_is_a_runtime_error_naming_the_field() -> None:
    with pytest.raises(EvaluationError) as info:
        parse_intrinsic("States.Array($.nope)").evaluate({"a": 1}, CTX, "value.$")
    assert info.value.error == "States.Runtime"
    assert info.value.cause == ("The JSONPath '$.nope' specified for the field 'value.$' could not be found in the "
                                "input '{\"a\":1}'")
    with pytest.raises(EvaluationError, match="The JSONPath '\\$nope' could not be found"):
        call("States.Array($nope)", {})


# --- Java helpers and properties ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.1, "1.1"), (1.0, "1.0"), (-0.0, "-0.0"), (1e7, "1.0E7"), (1234567.0, "1234567.0"), (1.5e-5, "1.5E-5"),
     (0.001, "0.001"), (123456789.0, "1.23456789E8"), (-2.5e-10, "-2.5E-10")],
)
def test_double_to_string(value: float, text: str) -> None:
    assert double_to_string(value) == text


def test_java_random_matches_the_jvm() -> None:
    # new Random(42).nextInt() == -1170105035 and new Random(0).nextInt(10) gives 0, 8, 9, 7, 5 on the JVM.
    generator = JavaRandom(0)
    assert [generator.next_int(10) for _ in range(5)] == [0, 8, 9, 7, 5]
    assert JavaRandom(42)._next(32) - (1 << 32) == -1170105035


@given(st.floats(min_value=-1e9, max_value=1e9))
def test_java_round_is_floor_of_half_up(value: float) -> None:
    rounded = java_round(value)
    assert rounded - 0.5 <= value < rounded + 0.5


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                    max_leaves=10)


@given(JSON)
def test_json_to_string_then_string_to_json_round_trips(value: Any) -> None:
    text = call("States.JsonToString($.v)", {"v": value})
    assert text == json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert call("States.StringToJson($.t)", {"t": text}) == value


@given(st.text(max_size=200))
def test_base64_round_trips(text: str) -> None:
    encoded = call("States.Base64Encode($.t)", {"t": text})
    assert encoded == base64.b64encode(text.encode()).decode()
    assert call("States.Base64Decode($.e)", {"e": encoded}) == text


@given(st.integers(-50, 50), st.integers(-50, 50), st.integers(-7, 7).filter(bool))
def test_array_range_matches_an_inclusive_python_range(start: int, end: int, step: int) -> None:
    expected = list(range(start, end + (1 if step > 0 else -1), step))
    assert call("States.ArrayRange($.a[0], $.a[1], $.a[2])", {"a": [start, end, step]}) == expected


@given(st.text(alphabet="ab,;", max_size=30), st.text(alphabet=",;", min_size=1, max_size=2))
def test_string_split_drops_empty_tokens(text: str, delimiters: str) -> None:
    expected = [token for token in re.split("[" + re.escape(delimiters) + "]", text) if token]
    assert call("States.StringSplit($.t, $.d)", {"t": text, "d": delimiters}) == expected


@given(st.lists(JSON, max_size=8))
def test_array_unique_is_idempotent_and_keeps_first_occurrences(items: list[Any]) -> None:
    unique = call("States.ArrayUnique($.a)", {"a": items})
    assert call("States.ArrayUnique($.a)", {"a": unique}) == unique
    assert all(call("States.ArrayContains($.u, $.i)", {"u": unique, "i": item}) for item in items)


def test_to_display_of_nested_values() -> None:
    assert to_display({"a": {"b": [None, 1.5, "x"]}, "c": False}) == "{a={b=[null, 1.5, x]}, c=false}"


# --- recorded AWS cases -------------------------------------------------------------------------

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "cases"


def pass_cases() -> list[Any]:
    """Recorded single-Pass-state cases of the intrinsic category (Parameters, ResultPath, OutputPath)."""
    if not CORPUS.is_dir():
        return []
    cases = []
    for path in sorted((CORPUS / "intrinsic").glob("*.json")):
        case = json.loads(path.read_text())
        states = case["definition"]["States"]
        if len(states) == 1 and next(iter(states.values()))["Type"] == "Pass":
            cases.append(pytest.param(case, id=path.stem))
    return cases


def drop(value: Any, pointer: str) -> None:
    *parents, last = pointer.strip("/").split("/")
    for key in parents[1:]:  # the first token is "output"
        value = value[key]
    value.pop(last, None)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="conformance corpus not available")
@pytest.mark.parametrize("case", pass_cases())
def test_recorded_intrinsic_cases(case: dict[str, Any]) -> None:
    from engine.payload import render_template

    state = next(iter(case["definition"]["States"].values()))
    ctx = EvalContext(context_object={"Execution": {"Input": case["input"]}, "StateMachine": {"Name": "sm-name"}})
    result = render_template(state["Parameters"], case["input"], ctx)
    output = apply_result_path(state.get("ResultPath", "$"), case["input"], result)
    output = read_reference(state.get("OutputPath", "$"), output, ctx)
    expected = json.loads(json.dumps(case["expected"]["output"]))
    for pointer in case.get("ignore_paths", []):
        drop(expected, pointer)
        drop(output, pointer)
    assert output == expected
