"""Payload templates: rendering, AWS error causes, static problems with their JSON pointers."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.context import EvalContext
from engine.errors import EvaluationError
from engine.payload import evaluate_expression, expression_problem, render_template, template_problems

CTX = EvalContext(context_object={"Execution": {"Input": {"in": 1}}, "Map": {"Item": {"Value": "v", "Index": 0}}},
                  variables={"bucket": "b1", "obj": {"k": [1, 2]}})
DATA = {"a": {"b": [10, 20]}, "s": "text", "int-literal": 0}


def render(template: Any, data: Any = DATA) -> Any:
    return render_template(template, data, CTX)


def runtime_cause(template: Any, data: Any = DATA) -> str:
    with pytest.raises(EvaluationError) as info:
        render(template, data)
    assert info.value.error == "States.Runtime"
    assert info.value.cause
    return info.value.cause


def test_literals_are_copied_and_dollar_keys_evaluated() -> None:
    template = {"lit": "$.not_evaluated", "n": 1, "none": None, "x.$": "$.a.b[1]", "nested": {"y.$": "$.s"},
                "list": [{"z.$": "$"}, 2, ["w"]], "Comment": "kept"}
    before = copy.deepcopy(template)
    assert render(template) == {"lit": "$.not_evaluated", "n": 1, "none": None, "x": 20, "nested": {"y": "text"},
                                "list": [{"z": DATA}, 2, ["w"]], "Comment": "kept"}
    assert template == before


def test_roots_context_and_variables() -> None:
    assert render({"v.$": "$$.Map.Item.Value", "all.$": "$$", "b.$": "$bucket", "k.$": "$obj.k[1]",
                   "plain": "$bucket"}) == {"v": "v", "all": CTX.context_object, "b": "b1", "k": 2, "plain": "$bucket"}


def test_intrinsic_values() -> None:
    assert render({"f.$": "States.Format('{}-{}', $.s, $bucket)", "n.$": " States.ArrayLength($.a.b)"}) == {
        "f": "text-b1", "n": 2}


def test_non_object_templates_pass_through() -> None:
    assert render("x") == "x"
    assert render([{"a.$": "$.s"}]) == [{"a": "text"}]
    assert render({}) == {}


def test_missing_path_cause_is_the_recorded_aws_text() -> None:
    # Recorded: "The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be found in the
    # input '<json-input:1>'" (the placeholder is the compact JSON of the input).
    data = {"int-literal": 0}
    assert runtime_cause({"value.$": "$.no_such_jsonpath"}, data) == (
        "The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be found in the input "
        "'{\"int-literal\":0}'")
    assert runtime_cause({"value.$": "$$.Execution.Input.no_such_jsonpath"}, data).startswith(
        "The JSONPath '$$.Execution.Input.no_such_jsonpath' specified for the field 'value.$' could not be found")
    assert runtime_cause({"deep": [{"k.$": "$nope"}]}, data).startswith("The JSONPath '$nope' specified for the "
                                                                       "field 'k.$'")


def test_missing_path_inside_an_intrinsic_names_the_field() -> None:
    assert runtime_cause({"r.$": "States.Array($.missing)"}, {"a": 1}) == (
        "The JSONPath '$.missing' specified for the field 'r.$' could not be found in the input '{\"a\":1}'")


def test_invalid_expressions_at_runtime() -> None:
    assert runtime_cause({"x.$": 5}) == (
        "The value for the field 'x.$' must be a valid JSONPath or a valid intrinsic function call")
    assert runtime_cause({"x.$": "nope"}).startswith("The value for the field 'x.$' must be a valid JSONPath")
    assert "unknown intrinsic function" in runtime_cause({"x.$": "States.Nope()"})


def test_intrinsic_failures_keep_their_error_name() -> None:
    with pytest.raises(EvaluationError) as info:
        render({"x.$": "States.ArrayGetItem($.a.b, 5)"})
    assert info.value.error == "States.IntrinsicFailure"


def test_evaluate_expression_for_fail_paths() -> None:
    # Recorded: "The JSONPath '$.ErrorX' specified for the field 'ErrorPath' could not be found in the input ..."
    with pytest.raises(EvaluationError) as info:
        evaluate_expression("$.ErrorX", {"Error": "e"}, CTX, "ErrorPath")
    assert info.value.cause == ("The JSONPath '$.ErrorX' specified for the field 'ErrorPath' could not be found "
                                "in the input '{\"Error\":\"e\"}'")
    assert evaluate_expression("States.Format('E{}', $.Error)", {"Error": 1}, CTX, "ErrorPath") == "E1"


# --- static problems ----------------------------------------------------------------------------


def test_valid_templates_have_no_problems() -> None:
    template = {"a.$": "$.x[0]", "b.$": "$$.Execution.Id", "c.$": "$var.k", "d.$": "States.Format('{}', $.x)",
                "e": {"f.$": "$..x", "g": ["$.literal", {"h.$": "$[?(@.a == 1)]"}]}, "i": 5}
    assert template_problems(template, "/States/A/Parameters") == []


def test_problems_point_at_the_offending_key() -> None:
    template = {"ok.$": "$.a", "bad.$": "no-dollar", "in": {"list": [{"n.$": 3}]}, "a/b~c.$": "States.Nope()"}
    problems = template_problems(template, "/States/A/Parameters")
    assert [p.pointer for p in problems] == ["/States/A/Parameters/bad.$", "/States/A/Parameters/in/list/0/n.$",
                                             "/States/A/Parameters/a~1b~0c.$"]
    assert all("must be a valid JSONPath or a valid intrinsic function call" in p.message for p in problems)
    assert "unknown intrinsic function 'States.Nope'" in problems[2].message


@pytest.mark.parametrize(
    "expression",
    # Both recorded as rejected by AWS (ESCAPE_SEQUENCES_ILLEGAL_INTRINSIC_FUNCTION and _2).
    ["States.StringToJson('{\"text\":\"An \\\"escaped double quote\\\" here\"}')",
     "States.Format('He said, \\\"Hello, {}!\\\"', 'Test \\\"Name\\\" Here')",
     "States.MathAdd(1)", "States.Array($.a b)", "$.a[", "", "States.Format('x'"],
)
def test_expression_problems(expression: str) -> None:
    message = expression_problem(expression, "parsed.$")
    assert message is not None
    assert message.startswith("The value for the field 'parsed.$' must be a valid JSONPath or a valid intrinsic "
                              "function call (")


def test_non_containers_have_no_problems() -> None:
    assert template_problems("x", "/p") == []
    assert template_problems(None, "/p") == []


KEYS = st.text(alphabet="ab~/.$", min_size=1, max_size=4)
TEMPLATES = st.recursive(st.none() | st.integers() | st.text(max_size=4),
                         lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
                         max_leaves=12)


@given(TEMPLATES)
def test_templates_without_dollar_keys_render_to_themselves(template: Any) -> None:
    if "$" in json.dumps(template) or ".$" in str(template):
        return
    assert render(template) == template
    assert template_problems(template, "") == []


@given(st.dictionaries(st.text(alphabet="abc", min_size=1, max_size=3), st.integers(), min_size=1, max_size=4))
def test_each_dollar_key_reads_its_field(data: dict[str, int]) -> None:
    template = {f"{key}.$": f"$.{key}" for key in data}
    assert render(template, data) == data
    assert template_problems(template, "/T") == []
