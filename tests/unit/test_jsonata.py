"""JSONata evaluation (engine.jsonata): AWS's causes and quirks, its added functions, the limits.

Expected values and error texts come from cases AWS recorded (the conformance corpus); the
corpus-driven test at the end replays every single-Pass-state JSONata case it finds there.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.context import EvalContext
from engine.errors import EvaluationError, Problem, StatesError
from engine.jsonata import (
    UNDEFINED,
    CompiledExpression,
    JsonataSyntaxError,
    bounds,
    compile_expression,
    evaluate,
    evaluate_template,
    expression_problems,
    expression_text,
    functions,
    is_expression,
)
from engine.jsonata.library import library_detail

QEE = StatesError.QUERY_EVALUATION_ERROR.value
ENTERED = "2024-08-18T17:33:00.250Z"
ENTERED_MILLIS = 1724002380250


def make_ctx(variables: dict[str, Any] | None = None, seed: int = 0) -> EvalContext:
    return EvalContext(
        context_object={"State": {"Name": "S", "EnteredTime": ENTERED}},
        variables=variables or {},
        rng=random.Random(seed),
    )


def ev(text: str, data: Any = None, field: str = "Output", **variables: Any) -> Any:
    return evaluate(text, {"input": data if data is not None else {}}, make_ctx(variables), field=field)


def cause_of(text: str, data: Any = None, field: str = "Output", **variables: Any) -> str:
    with pytest.raises(EvaluationError) as info:
        ev(text, data, field, **variables)
    assert info.value.error == QEE
    assert info.value.cause is not None
    return info.value.cause


def about(text: str, field: str, outcome: str) -> str:
    """AWS's cause of a failed field (without the state prefix the interpreter adds)."""
    return f"The JSONata expression '{text}' specified for the field '{field}' {outcome}"


def threw(text: str, detail: str, field: str = "Output") -> str:
    return about(text, field, f"threw an error during evaluation. {detail}")


# --- what is an expression --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{% $states.input %}", True),
        ("{%$x%}", True),
        ("{%  %}", True),
        (" {% states.input %} ", False),  # AWS keeps this literal (recorded BASE_LAMBDA_LITERALS)
        ("{% $x %} ", False),
        ("$states.input", False),
        ("{%}", False),
        ("{%", False),
        (1, False),
        (None, False),
        (["{% 1 %}"], False),
    ],
)
def test_is_expression(value: Any, expected: bool) -> None:
    assert is_expression(value) is expected


def test_expression_text_is_trimmed_as_aws_quotes_it() -> None:
    assert expression_text("{%  $states.input.x \n %}") == "$states.input.x"


# --- evaluation: values -----------------------------------------------------------------------

INPUT = {"input_value": "string literal", "input_values": [1, 2, 3]}


@pytest.mark.parametrize(
    ("text", "data", "variables", "expected"),
    [
        # recorded: arguments__BASE_LAMBDA_EXPRESSION, output__BASE_EXPR
        ("$states.input", INPUT, {}, INPUT),
        ("$var_input_value", INPUT, {"var_input_value": "string literal"}, "string literal"),
        ("$sum($states.input.input_values) + $var_constant_1", INPUT, {"var_constant_1": 1}, 7),
        # recorded: regular expressions in both quote styles
        ('$contains("hello$world", /^hello\\$/)', {}, {}, True),
        ("$contains('hello$world', /^hello\\$/)", {}, {}, True),
        ("$number('2')", {}, {}, 2),
        ("$variable := 1", {}, {}, 1),
        (
            "$merge([$states.input.part1, $states.input.part2])",
            {"part1": {"a": 1}, "part2": {"b": 2}},
            {},
            {"a": 1, "b": 2},
        ),
        # recorded Choice conditions
        ("$not($states.input.type = 'Private')", {"type": "Private"}, {}, False),
        ("$states.input.value >= 20 and $states.input.value < 30", {"value": 22}, {}, True),
        ('$states.input.str_value = "string literal"', {"str_value": "string literal"}, {}, True),
        ("$exists($status) ? 'completed' : 'running'", {}, {}, "running"),
        ("$var = '\"'", {}, {"var": '"'}, True),
        # recorded Map Items: arrays stay arrays, even empty or singleton
        ("[]", {}, {}, []),
        ("[0]", {}, {}, [0]),
        ("[1, 'two', 3]", {}, {}, [1, "two", 3]),
        ("$states.input.items", {"items": []}, {}, []),
        ("{'foo': 'bar'}", {}, {}, {"foo": "bar"}),
        ("null", {}, {}, None),
        ("'string'", {}, {}, "string"),
        # null is a value: it keeps its key
        ("{'v': $states.input.bar}", {"bar": None}, {}, {"v": None}),
        ("{'v': $states.input.absent, 'w': 1}", {}, {}, {"w": 1}),
        # JSONata reference behaviour AWS shows (jsonata-js)
        ("$count(null)", {}, {}, 1),
        ("$string(1e20)", {}, {}, "100000000000000000000"),
    ],
)
def test_evaluate_values(text: str, data: Any, variables: dict[str, Any], expected: Any) -> None:
    assert ev(text, data, **variables) == expected


def test_undefined_is_distinct_from_null() -> None:
    assert ev("$doesNotExist") is UNDEFINED
    assert ev("$states.input.absent", {"a": 1}) is UNDEFINED
    assert ev("$states.input.a", {"a": None}) is None
    assert repr(UNDEFINED) == "UNDEFINED"
    assert copy.deepcopy(UNDEFINED) is UNDEFINED


def test_no_context_item_a_bare_name_reads_nothing() -> None:
    # AWS binds no "$" context: data arrives only as $states and variables.
    assert ev("input_value", INPUT) is UNDEFINED
    assert ev("$", INPUT) is UNDEFINED


def test_states_fields_are_bound() -> None:
    states = {
        "input": {"x": 1},
        "result": {"r": 2},
        "errorOutput": {"Error": "E"},
        "context": {"State": {"Name": "S"}},
    }
    ctx = make_ctx()
    assert evaluate("$states.result.r", states, ctx, field="Output") == 2
    assert evaluate("$states.errorOutput.Error", states, ctx, field="Output") == "E"
    assert evaluate("$states.context.State.Name", states, ctx, field="Output") == "S"


def test_integers_beyond_int64_become_doubles() -> None:
    assert ev("$big", big=2**70) == float(2**70)
    assert ev("$states.input.n * 2", {"n": 2**64}) == float(2**65)


def test_numbers_and_strings_round_trip() -> None:
    data = {"f": 0.1, "i": 7, "s": "é \u2028", "b": True, "l": [1.5, None]}
    assert ev("$states.input", data) == data


# --- evaluation: AWS's causes -------------------------------------------------------------------


def test_unknown_function_cause_matches_aws() -> None:
    # recorded: math_operations_jsonata__test_math_random_seeded
    text = "$randomSeeded($states.input.FunctionInput.fst)"
    cause = cause_of(text, {"FunctionInput": "fst"}, field="Output/FunctionResult")
    assert cause == threw(text, "T1006: Attempted to invoke a non-function", "Output/FunctionResult")


def test_eval_is_disabled_as_aws_does() -> None:
    assert cause_of("$eval('1 + 1')") == threw("$eval('1 + 1')", "T1006: Attempted to invoke a non-function")


def test_function_result_is_an_unsupported_type() -> None:
    # recorded: map__items_eval_jsonata_fail_function
    text = "$fn := function($x){$x}"
    assert cause_of(text, field="Items") == about(text, "Items", "returned an unsupported result type.")
    assert ev("''") == ""  # an empty string is not taken for a function


def test_runtime_error_names_code_and_message() -> None:
    assert cause_of("'a' + 1") == threw("'a' + 1", "T2001: The left side of the + operator must evaluate to a number")
    assert cause_of("$error('custom')") == threw("$error('custom')", "D3137: custom")


def test_syntax_error_at_evaluation_is_a_query_evaluation_error() -> None:
    assert cause_of("a[1,2)") == threw("a[1,2)", "S0202: Expected RightBracket, got Comma")


def test_library_detail_normalises_texts() -> None:
    assert (
        library_detail("Parse error: Invalid syntax: S0201: Syntax error: Semicolon")
        == "S0201: Syntax error: Semicolon"
    )
    assert (
        library_detail("T1006: Attempted to invoke a non-function: $f") == "T1006: Attempted to invoke a non-function"
    )
    assert library_detail("no code here") == "no code here"


# --- templates ----------------------------------------------------------------------------------


def test_template_walks_objects_and_arrays_and_keeps_literals() -> None:
    # recorded: output__test_base_output_any_non_dict_LIST_RICH and BASE_LAMBDA_LITERALS
    template: list[Any] = [
        None,
        0,
        0.1,
        True,
        "string",
        [],
        "$nosuchvar",
        "$.no.such.path",
        "{% $states.input %}",
        {"key": "{% true %}", "lit": " {% states.input %} "},
    ]
    data = {"input_value": "stringliteral"}
    assert evaluate_template(template, {"input": data}, make_ctx(), field="Output") == [
        None,
        0,
        0.1,
        True,
        "string",
        [],
        "$nosuchvar",
        "$.no.such.path",
        data,
        {"key": True, "lit": " {% states.input %} "},
    ]


def test_template_does_not_mutate_its_argument() -> None:
    template = {"a": ["{% 1 %}"]}
    evaluate_template(template, {"input": {}}, make_ctx(), field="Output")
    assert template == {"a": ["{% 1 %}"]}


@pytest.mark.parametrize(
    ("template", "field", "expected_field"),
    [
        # recorded: variables__undefined_reference_BASE_UNDEFINED_*
        ("{% $doesNotExist %}", "Output", "Output"),
        ({"result": "{% $doesNotExist %}"}, "Output", "Output/result"),
        ({"result": "{% $doesNotExist %}"}, "Assign", "Assign/result"),
        ("{% $doesNotExist %}", "Arguments", "Arguments"),
        ({"a": {"b": [0, "{% $doesNotExist %}"]}}, "Output", "Output/a/b[1]"),
    ],
)
def test_undefined_fails_the_field_naming_it(template: Any, field: str, expected_field: str) -> None:
    with pytest.raises(EvaluationError) as info:
        evaluate_template(template, {"input": {}}, make_ctx(), field=field)
    assert info.value.error == QEE
    assert info.value.cause == about("$doesNotExist", expected_field, "returned nothing (undefined).")


def test_evaluation_error_in_nested_field_names_the_path() -> None:
    with pytest.raises(EvaluationError) as info:
        evaluate_template({"x": ["{% $nope() %}"]}, {"input": {}}, make_ctx(), field="Output")
    assert info.value.cause == threw("$nope()", "T1006: Attempted to invoke a non-function", "Output/x[0]")


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text().filter(lambda s: not is_expression(s)),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=12,
    )
)
def test_template_without_expressions_is_returned_as_is(template: Any) -> None:
    assert evaluate_template(template, {"input": {}}, make_ctx(), field="Output") == template


# --- AWS's added functions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "size", "expected"),
    [
        # recorded: array_jsonata__test_array_partition
        ([0], 1, [[0]]),
        ([0], 5, [[0]]),
        ([0, 1], 2, [[0, 1]]),
        ([0, 1, 2], 4, [[0, 1, 2]]),
        ([0, 1, 2, 3], 2, [[0, 1], [2, 3]]),
        ([1, 2, 3, 4, 5, 6, 7, 8, 9], 4, [[1, 2, 3, 4], [5, 6, 7, 8], [9]]),
        ([1, 2, 3, 4, 5], 2.9, [[1, 2], [3, 4], [5]]),  # non-integers round towards zero
    ],
)
def test_partition(array: list[Any], size: Any, expected: Any) -> None:
    text = "$partition($states.input.FunctionInput.fst, $states.input.FunctionInput.snd)"
    assert ev(text, {"FunctionInput": {"fst": array, "snd": size}}) == expected
    assert functions.partition(array, size) == expected


@pytest.mark.parametrize(
    ("start", "end", "step", "expected"),
    [
        # recorded: array_jsonata__test_array_range
        (0, 9, 3, [0, 3, 6, 9]),
        (0, 10, 3, [0, 3, 6, 9]),
        (1, 9, 9, 1),  # a single value comes back bare
        (1, 9, 2, [1, 3, 5, 7, 9]),
        (0, 10, 2, [0, 2, 4, 6, 8, 10]),
        (10, 0, -5, [10, 5, 0]),
        (-1.7, 2, 1, [-1, 0, 1, 2]),
    ],
)
def test_range(start: Any, end: Any, step: Any, expected: Any) -> None:
    args = ", ".join(f"$states.input.FunctionInput.{name}" for name in ("fst", "snd", "trd"))
    text = f"$range({args})"
    assert ev(text, {"FunctionInput": {"fst": start, "snd": end, "trd": step}}) == expected


@pytest.mark.parametrize(
    "text",
    [
        "$partition([], 2)",
        "$partition([1], 0)",
        "$range(1, 5)",
        "$range(1, 5, 0)",
        "$range(5, 1, 1)",
        "$hash('a')",
        "$parse($states.input.absent)",
    ],
)
def test_aws_functions_answer_undefined(text: str) -> None:
    assert ev(text) is UNDEFINED


@pytest.mark.parametrize(
    ("text_in", "expected"),
    # recorded: json_manipulation_jsonata__test_parse
    [
        ("-0", 0),
        ("1", 1),
        ("1.1", 1.1),
        ("true", True),
        ('"HelloWorld"', "HelloWorld"),
        ('[1, 2, "HelloWorld"]', [1, 2, "HelloWorld"]),
        ('{"Arg1": 1, "Arg2": []}', {"Arg1": 1, "Arg2": []}),
    ],
)
def test_parse(text_in: str, expected: Any) -> None:
    assert ev("$parse($states.input.FunctionInput)", {"FunctionInput": text_in}) == expected


def test_parse_refuses_what_is_not_json() -> None:
    assert cause_of("$parse('NaN')").startswith(threw("$parse('NaN')", "Unable to parse the string as JSON"))
    assert cause_of("$parse(1)") == threw(
        "$parse(1)", 'T0410: Argument 1 of function "parse" does not match function signature'
    )


@pytest.mark.parametrize("algorithm", sorted(functions.HASH_ALGORITHMS))
def test_hash(algorithm: str) -> None:
    expected = hashlib.new(functions.HASH_ALGORITHMS[algorithm], b"input data").hexdigest()
    assert ev(f"$hash('input data', '{algorithm}')") == expected
    assert ev("$hash('', 'MD5')") == "d41d8cd98f00b204e9800998ecf8427e"


def test_hash_refuses_unknown_algorithm() -> None:
    cause = cause_of("$hash('x', 'sha1')")
    assert 'The hash algorithm "sha1" is not supported; use one of MD5, SHA-1, SHA-256, SHA-384, SHA-512' in cause


def test_random_draws_from_the_context_and_seed_repeats() -> None:
    first, second = ev("$random()"), ev("$random()")
    assert first == second == random.Random(0).random()  # same seeded rng, same draw
    assert evaluate("$random()", {"input": {}}, make_ctx(seed=9), field="Output") == random.Random(9).random()
    assert ev("$random(42)") == ev("$random(42)") == random.Random(42).random()
    assert 0 <= ev("$random(7)") < 1


def test_uuid_is_v4_and_drawn_from_the_context() -> None:
    value = ev("$uuid()")
    parsed = uuid.UUID(value)
    assert parsed.version == 4
    assert value == str(uuid.UUID(int=random.Random(0).getrandbits(128), version=4))
    assert evaluate("$uuid()", {"input": {}}, make_ctx(seed=1), field="Output") != value


def test_now_and_millis_come_from_the_state_entered_time() -> None:
    assert ev("$now()") == ENTERED
    assert ev("$millis()") == ENTERED_MILLIS
    assert ev("$now('[Y0001]-[M01]-[D01]')") == "2024-08-18"
    assert ev("$now('[H01]:[m01]', '+0200')") == "19:33"


def test_clock_falls_back_to_execution_start_then_epoch() -> None:
    assert functions.entered_millis({"Execution": {"StartTime": "1970-01-01T00:00:01Z"}}) == 1000
    assert functions.entered_millis({}) == 0
    assert functions.entered_millis({"State": {"EnteredTime": "garbage"}}) == 0


def test_function_argument_errors() -> None:
    assert cause_of("$partition('abc', 'x')") == threw(
        "$partition('abc', 'x')",
        'T0410: Argument 2 of function "partition" does not match function signature',
    )
    assert cause_of("$uuid(1)") == threw(
        "$uuid(1)", 'T0410: Argument 1 of function "uuid" does not match function signature'
    )


@given(st.lists(st.integers(), max_size=30), st.integers(1, 12))
def test_partition_chunks_in_order(items: list[int], size: int) -> None:
    chunks = functions.partition(items, size) if items else None
    if chunks is None:
        return
    assert [x for chunk in chunks for x in chunk] == items
    assert all(len(chunk) == size for chunk in chunks[:-1])
    assert 1 <= len(chunks[-1]) <= size


@given(st.integers(-50, 50), st.integers(-50, 50), st.integers(-7, 7).filter(bool))
def test_range_matches_an_inclusive_python_range(start: int, end: int, step: int) -> None:
    expected = list(range(start, end + (1 if step > 0 else -1), step))
    if not expected:
        with pytest.raises(functions.Undefined):
            functions.range_(start, end, step)
    else:
        assert functions.range_(start, end, step) == (expected[0] if len(expected) == 1 else expected)


def test_concurrent_evaluations_use_their_own_context() -> None:
    # Host functions find their evaluation through a context variable, not a shared slot.
    import threading

    results: dict[int, list[str]] = {}

    def worker(seed: int) -> None:
        ctx = make_ctx(seed=seed)
        results[seed] = [evaluate("$uuid()", {"input": {}}, ctx, field="Output") for _ in range(200)]

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1, 2, 3]  # no worker died
    for seed, values in results.items():
        rng = random.Random(seed)
        assert values == [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(200)]


# --- limits ---------------------------------------------------------------------------------------


def elapsed(call: Any) -> tuple[str, float]:
    start = time.perf_counter()
    with pytest.raises(EvaluationError) as info:
        call()
    assert info.value.error == QEE
    return str(info.value.cause), time.perf_counter() - start


def test_deep_recursion_ends_with_a_clear_error() -> None:
    text = "( $f := function($n){ $n <= 0 ? 0 : 1 + $f($n - 1) }; $f(100000) )"
    cause, seconds = elapsed(lambda: ev(text))
    assert cause == threw(text, f"D1011: Stack overflow: the evaluation depth limit of {bounds.MAX_DEPTH} was exceeded")
    assert seconds < 0.5
    assert ev("( $f := function($n){ $n <= 0 ? 0 : 1 + $f($n - 1) }; $f(31) )") == 31  # AWS accepts this depth


@pytest.mark.parametrize("text", ["$range(0, 1e9, 1)", "$range(0, $states.input.n, 1)"])
def test_huge_aws_range_ends_before_allocating(text: str) -> None:
    cause, seconds = elapsed(lambda: ev(text, {"n": 10**9}))
    assert cause == threw(
        text,
        "Expression evaluation memory limit exceeded "
        f"($range of 1000000001 values; the limit is {bounds.MAX_RANGE_ITEMS})",
    )
    assert seconds < 0.5
    assert len(ev(f"$range(1, {bounds.MAX_RANGE_ITEMS}, 1)")) == bounds.MAX_RANGE_ITEMS


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("[1..100000000]", "D2014"),
        ("$count([1..2000000])", "D2015"),
        ("$count([1..1000].([1..2000]))", "D2015"),
    ],
)
def test_huge_sequences_end_with_a_clear_error(text: str, code: str) -> None:
    cause, seconds = elapsed(lambda: ev(text))
    assert cause == threw(text, f"{code}: {bounds.LIMIT_MESSAGES[code]}")
    assert "exceeded" in cause
    assert seconds < 1.0


def test_nested_explosion_ends_within_the_time_limit() -> None:
    # A billion-element product: whichever limit trips first, the evaluation ends promptly.
    text = "[1..1000].([1..1000].([1..1000]))"
    cause, seconds = elapsed(lambda: ev(text))
    assert re.fullmatch(re.escape(threw(text, "")) + r"D(1012|2015): .* was exceeded", cause)
    assert seconds < bounds.TIME_LIMIT_MS / 1000 + 1.5


def test_endless_loop_ends_at_the_time_limit() -> None:
    text = "( $f := function($n){ $f($n + 1) }; $f(0) )"
    cause, seconds = elapsed(lambda: ev(text))
    assert cause == threw(
        text, f"D1012: Evaluation timeout: the time limit of {bounds.TIME_LIMIT_MS} milliseconds was exceeded"
    )
    assert bounds.TIME_LIMIT_MS / 1000 <= seconds < bounds.TIME_LIMIT_MS / 1000 + 1.5


def test_huge_result_ends_with_the_memory_limit() -> None:
    text = f"$pad('x', {bounds.MAX_RESULT_CHARS + 10})"
    cause, _ = elapsed(lambda: ev(text))
    assert cause == threw(text, "Expression evaluation memory limit exceeded")


# --- compiling and validation ---------------------------------------------------------------------


def test_compile_is_cached_and_reports_syntax_errors() -> None:
    first = compile_expression("$states.input.a + 1")
    assert isinstance(first, CompiledExpression)
    assert compile_expression("$states.input.a + 1") is first
    with pytest.raises(JsonataSyntaxError) as info:
        compile_expression("1 +")
    assert info.value.detail == "S0207: Unexpected end of expression"
    assert isinstance(info.value, ValueError)


def test_expression_problems_points_at_each_bad_expression() -> None:
    value = {"ok": "{% $states.input %}", "x": ["literal {% a[ %}", "{% a[1,2) %}"], "a/b~": "{% %}", "n": 1}
    assert expression_problems(value, "/States/S/Output") == [
        Problem("/States/S/Output/x/1", "INVALID_JSONATA_EXPRESSION: S0202: Expected RightBracket, got Comma"),
        Problem("/States/S/Output/a~1b~0", "INVALID_JSONATA_EXPRESSION: S0207: Unexpected end of expression"),
    ]
    assert expression_problems("{% 1 + %}", "/States/S/Seconds") == [
        Problem("/States/S/Seconds", "INVALID_JSONATA_EXPRESSION: S0207: Unexpected end of expression")
    ]
    assert expression_problems(["plain", 3, None], "") == []


def test_only_mentioned_variables_matter() -> None:
    # Variables are bound by name; a value the expression never names cannot change its result.
    assert ev("$a", a=1, unrelated={"huge": list(range(1000))}) == 1
    assert ev("$ab", a=1, ab=2) == 2


# --- the recorded AWS cases -----------------------------------------------------------------------

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "cases"
PREFIX = re.compile(r"An error occurred while executing the state '[^']*' \(entered at the event id #\d+\)\. ")


def single_pass_cases() -> list[Path]:
    """Recorded JSONata cases made of one Pass state: this module alone decides their outcome."""
    if not CORPUS.is_dir():
        return []
    found = []
    for path in sorted(CORPUS.glob("*/*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        states = case["definition"].get("States", {})
        if "QueryLanguage:JSONata" not in case.get("features", []) or len(states) != 1:
            continue
        (state,) = states.values()
        if state.get("Type") == "Pass" and ("Output" in state or "Assign" in state):
            found.append(path)
    return found


RECORDED = single_pass_cases()


def run_pass(state: dict[str, Any], data: Any) -> dict[str, Any]:
    states = {"input": data, "context": {"State": {"Name": "S", "EnteredTime": ENTERED}}}
    try:
        if "Assign" in state:
            evaluate_template(state["Assign"], states, make_ctx(), field="Assign")
        output = evaluate_template(state["Output"], states, make_ctx(), field="Output") if "Output" in state else data
    except EvaluationError as exc:
        return {"status": "FAILED", "error": exc.error, "cause": exc.cause}
    return {"status": "SUCCEEDED", "output": output}


@pytest.mark.skipif(not RECORDED, reason="conformance corpus not available")
@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
def test_recorded_single_pass_case(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    (state,) = case["definition"]["States"].values()
    actual = run_pass(state, case["input"])
    expected = case["expected"]
    assert actual["status"] == expected["status"]
    if expected["status"] == "SUCCEEDED":
        assert json.dumps(actual["output"], sort_keys=True) == json.dumps(expected["output"], sort_keys=True)
    else:
        assert actual["error"] == expected["error"]
        assert actual["cause"] == PREFIX.sub("", expected["cause"])


def test_corpus_has_the_function_cases() -> None:
    if not CORPUS.is_dir():
        pytest.skip("conformance corpus not available")
    names = {p.parent.name for p in RECORDED}
    assert {"jsonata", "jsonata_functions", "variables"} <= names
    assert len(RECORDED) >= 30
