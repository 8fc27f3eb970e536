"""JSONPath as AWS (Jayway) evaluates it: values, error details, roots, ResultPath, properties."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.context import EvalContext
from engine.errors import EvaluationError
from engine.jsonpath import (
    PathNotFound,
    apply_result_path,
    compile_path,
    json_copy,
    read_path,
    read_reference,
    to_json,
)
from engine.jsonpath_syntax import CONTEXT, DATA, VARIABLE, PathSyntaxError

DOC: dict[str, Any] = {
    "items": [{"item_key": i, "v": i * 10} for i in range(5)],
    "users": [{"year": 1997, "status": 0}, {"year": 1998, "status": 1}, 7, {"status": 0, "flag": True}],
    "a": {"b": [1, 2, {"c": 3}], "n": None, "s": "text"},
    "sub-values": [1],
    'Test\\""Name"': "escaped",
    "a.b": "dotted",
}


def not_found(path: str, data: Any = DOC) -> str:
    with pytest.raises(PathNotFound) as info:
        read_path(path, data)
    assert info.value.path == path
    assert str(info.value) == f"Invalid path '{path}' : {info.value.detail}"
    return info.value.detail


# --- compiling ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "definite"),
    [("$", True), ("$.a", True), ("$['a']", True), ("$[0]", True), ("$.a.b[-1]", True), ("$.sub-values", True),
     ("$[*]", False), ("$.a..c", False), ("$.a[0,1]", False), ("$.a[1:]", False), ("$['a','b']", False),
     ("$.users[?(@.status == 0)]", False), ("$.a.length()", False)],
)
def test_definiteness_is_the_asl_reference_path_notion(path: str, definite: bool) -> None:
    assert compile_path(path).is_definite is definite


def test_compile_is_cached_and_keeps_the_text() -> None:
    compiled = compile_path("$.a.b[0]")
    assert compiled is compile_path("$.a.b[0]")
    assert compiled.text == "$.a.b[0]"
    assert repr(compiled) == "CompiledPath('$.a.b[0]')"


@pytest.mark.parametrize(
    ("path", "root", "variable"),
    [("$.x", DATA, None), ("$", DATA, None), ("$$", CONTEXT, None), ("$$.Execution.Id", CONTEXT, None),
     ("$var", VARIABLE, "var"), ("$my_var.a[0]", VARIABLE, "my_var"), ("$x1['k']", VARIABLE, "x1")],
)
def test_roots(path: str, root: str, variable: str | None) -> None:
    compiled = compile_path(path)
    assert (compiled.root, compiled.variable) == (root, variable)


@pytest.mark.parametrize(
    ("path", "message"),
    [("a.b", "must start with '$'"), ("", "must start with '$'"), ("$.", "must not end with"),
     ("$..", "must not end with"), ("$.a.", "must not end with"), ("$.a b", "Illegal character"),
     ("$[", "Unclosed '['"), ("$['a'", "Property must be separated"), ("$.a[x]", "Invalid array index"),
     ("$.a[1:x]", "Invalid array index"), ("$['a',]", "empty property"), ("$.a[?(@.b == 1]", "closed by ')]'"),
     ("$.a[?@.b]", "Expected '('"), ("$.a[?(@.b == )]", "Invalid filter"), ("$1", "Illegal character"),
     ("$$x", "Illegal character"), ("$.f().g", "function must be the last"), ("$.a['x'", "Property must")],
)
def test_syntax_errors_say_what_is_wrong(path: str, message: str) -> None:
    with pytest.raises(PathSyntaxError) as info:
        compile_path(path)
    assert message in str(info.value)


def test_a_non_string_path_is_a_syntax_error() -> None:
    with pytest.raises(PathSyntaxError, match="must be a string"):
        compile_path(5)  # type: ignore[arg-type]


# --- reading definite paths ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [("$", DOC), ("$.a.s", "text"), ("$['a']['s']", "text"), ('$["a"]["s"]', "text"), ("$.a.n", None),
     ("$.items[0]", {"item_key": 0, "v": 0}), ("$.items[-1].v", 40), ("$.a.b[2].c", 3), ("$.sub-values[0]", 1),
     ("$['a.b']", "dotted"), ("$[ 'a' ][ 0 ]".replace("[ 0 ]", "['s']"), "text"), ("  $.a.s  ", "text")],
)
def test_definite_paths_read_one_value(path: str, expected: Any) -> None:
    assert read_path(path, DOC) == expected


def test_bracket_names_keep_backslashes_like_the_jayway_aws_runs() -> None:
    # Recorded: $['Test\""Name"'] reads the key Test\""Name" (the backslash is part of the name).
    assert read_path("$['Test\\\"\"Name\"']", DOC) == "escaped"


def test_missing_leaf_is_no_results_for_the_whole_normalized_path() -> None:
    assert not_found("$.NoSuchOutputPath") == "No results for path: $['NoSuchOutputPath']"
    assert not_found("$.a.zz") == "No results for path: $['a']['zz']"


def test_missing_property_on_the_way_is_a_missing_property() -> None:
    # Recorded: "Invalid path '$.no.such.result.path' : Missing property in path $['no']"
    assert not_found("$.no.such.result.path", {}) == "Missing property in path $['no']"
    assert not_found("$.a.zz.y") == "Missing property in path $['a']['zz']"


def test_index_out_of_bounds_is_no_results() -> None:
    assert not_found("$.items[9].v") == "No results for path: $['items'][9]['v']"
    assert not_found("$.items[-9]") == "No results for path: $['items'][-9]"


def test_property_of_a_non_object_names_the_java_type() -> None:
    detail = not_found("$.a.s.x")
    assert detail.startswith("Expected to find an object with property ['x'] in path $['a']['s'] but found "
                             "'java.lang.String'. This is not a json object according to the JsonProvider:")
    assert "but found 'null'" in not_found("$.a.n.x")
    assert "in path $ but found 'java.util.ArrayList'" in not_found("$.x", [1])


def test_index_of_a_non_array() -> None:
    assert not_found("$.a[0]") == ('Filter: [0] can only be applied to arrays. Current context is: '
                                   + to_json(DOC["a"]))
    assert not_found("$.a.n[0]") == "The path $['a']['n'] is null"


# --- indefinite paths ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [("$.items[*].item_key", [0, 1, 2, 3, 4]), ("$.items[1:3].v", [10, 20]), ("$.items[:2].v", [0, 10]),
     ("$.items[-2:].v", [30, 40]), ("$.items[3:].v", [30, 40]), ("$.items[:-3].v", [0, 10]),
     ("$.items[0,2].v", [0, 20]), ("$.a.b[*]", [1, 2, {"c": 3}]), ("$.a.*", [[1, 2, {"c": 3}], None, "text"]),
     ("$..c", [3]), ("$.a..[0]", [1]), ("$..item_key", [0, 1, 2, 3, 4]), ("$.a.b..*", [1, 2, {"c": 3}, 3]),
     ("$.users[?(@.status == 0)]", [{"year": 1997, "status": 0}, {"status": 0, "flag": True}]),
     ("$.users[?(@.status == 0 && @.year)].year", [1997]), ("$.users[?(@.year > 1997 || @.flag)].status", [1, 0]),
     ("$.users[?(@.flag == true)].status", [0]), ("$.items[?(@.v >= 30)].item_key", [3, 4]),
     ("$.a[?(@.s == 'text')].n", [None])],
)
def test_indefinite_paths_return_lists(path: str, expected: list[Any]) -> None:
    assert read_path(path, DOC) == expected


def test_filters_do_not_match_scalars() -> None:
    # AWS: "The @ operator ... does not match scalar values. It only matches objects."
    assert read_path("$.a.b[?(@ > 0)]", DOC) == []
    assert read_path("$.users[?(@.status >= 0)].status", DOC) == [0, 1, 0]


@pytest.mark.parametrize(
    "path",
    ["$[*]", "$.item.items[*]", "$.item.items[1:]", "$.item.items[1:5].itemValue", "$.item.items[:1]",
     "$.items[*]", "$.items[*].itemValue", "$.items[1:].itemValue", "$..x", "$.a[?(@.b == 1)]"],
)
def test_indefinite_paths_on_missing_data_give_an_empty_list(path: str) -> None:
    # Recorded: Parameters {"item.$": "$.items[*]"} on {} gives {"item": []}.
    assert read_path(path, {}) == []


def test_multi_property_leaf_merges_into_one_object() -> None:
    assert read_path("$['a', 'sub-values', 'zz']", DOC) == {"a": DOC["a"], "sub-values": [1]}
    assert read_path("$.a['s','n']", DOC) == {"s": "text", "n": None}
    assert not_found("$.a.s['x','y']").startswith("Expected to find an object with property ['x', 'y'] in path "
                                                  "$['a']['s'] but found 'java.lang.String'.")


def test_multi_property_must_be_a_leaf() -> None:
    # AWS recorded this detail for InputPath "$['a', 'b'].v".
    assert not_found("$['a', 'b'].v", {"a": {"v": 1}, "b": {"v": 2}}) == (
        "Multi properties can only be used as path leafs: $['a', 'b']")


def test_function_paths_find_nothing() -> None:
    # AWS answers "could not be found" for $.Jobs.sum() although Jayway could compute it.
    assert not_found("$.a.b.length()") == "No results for path: $['a']['b'].length()"


# --- references: $, $$ and $var ------------------------------------------------------------------

CTX = EvalContext(context_object={"Execution": {"Id": "arn:x", "Input": {"k": [1, 2]}}, "State": {"Name": "S"}},
                  variables={"v": {"a": [5, 6]}, "n": None, "s": "str"})


@pytest.mark.parametrize(
    ("path", "expected"),
    [("$$", CTX.context_object), ("$$.Execution.Id", "arn:x"), ("$$.Execution.Input.k[1]", 2),
     ("$v", {"a": [5, 6]}), ("$v.a[1]", 6), ("$v['a'][0]", 5), ("$n", None), ("$s", "str"),
     ("$", {"d": 1}), ("$.d", 1), ("$v.a[*]", [5, 6])],
)
def test_read_reference_picks_the_root(path: str, expected: Any) -> None:
    assert read_reference(path, {"d": 1}, CTX) == expected


def test_unknown_variable_is_not_found() -> None:
    with pytest.raises(PathNotFound) as info:
        read_reference("$nope.a", {}, CTX)
    assert info.value.path == "$nope.a"
    assert "nope" in info.value.detail


def test_missing_context_field_keeps_the_written_path() -> None:
    with pytest.raises(PathNotFound) as info:
        read_reference("$$.Execution.Input.no_such_jsonpath", {}, CTX)
    assert info.value.path == "$$.Execution.Input.no_such_jsonpath"
    assert info.value.detail == "No results for path: $['Execution']['Input']['no_such_jsonpath']"


# --- ResultPath ----------------------------------------------------------------------------------


def test_result_path_null_discards_and_dollar_replaces() -> None:
    state_input = {"a": 1}
    assert apply_result_path(None, state_input, {"r": 1}) is state_input
    assert apply_result_path("$", state_input, {"r": 1}) == {"r": 1}


def test_result_path_creates_missing_objects_without_mutating_the_input() -> None:
    state_input = {"a": {"keep": [1]}, "b": 2}
    before = copy.deepcopy(state_input)
    out = apply_result_path("$.a.x.y", state_input, [9])
    assert out == {"a": {"keep": [1], "x": {"y": [9]}}, "b": 2}
    assert state_input == before
    out["a"]["keep"].append(2)
    assert state_input == before  # a deep copy, not shared structure


def test_result_path_replaces_and_indexes() -> None:
    assert apply_result_path("$.b", {"b": 2}, 3) == {"b": 3}
    assert apply_result_path("$.l[1]", {"l": [0, 0]}, 3) == {"l": [0, 3]}
    assert apply_result_path("$['odd key']", {}, 1) == {"odd key": 1}


@pytest.mark.parametrize(
    ("result_path", "state_input"),
    [("$.a.b", {"a": "s"}), ("$.a", "string input"), ("$.a", [1]), ("$.l[5]", {"l": [0]}), ("$[0]", {}),
     ("$.a.b", {"a": None})],
)
def test_result_path_that_cannot_apply_is_a_runtime_error(result_path: str, state_input: Any) -> None:
    with pytest.raises(EvaluationError) as info:
        apply_result_path(result_path, state_input, 1)
    assert info.value.error == "States.Runtime"
    assert info.value.cause == f"Unable to apply ResultPath '{result_path}' to input '{to_json(state_input)}'"


@pytest.mark.parametrize("result_path", ["$.a[*]", "$$.x", "$var", "nope"])
def test_result_path_must_be_a_data_reference_path(result_path: str) -> None:
    with pytest.raises(EvaluationError) as info:
        apply_result_path(result_path, {}, 1)
    assert info.value.error == "States.Runtime"
    assert result_path in (info.value.cause or "")


# --- properties ----------------------------------------------------------------------------------

KEYS = st.text(alphabet="abcxyz_-0123456789", min_size=1, max_size=6)
SCALARS = st.none() | st.booleans() | st.integers(-1000, 1000) | st.floats(allow_nan=False) | st.text(max_size=5)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
                    max_leaves=20)


def locations(value: Any, prefix: str = "$", trail: tuple[Any, ...] = ()) -> list[tuple[str, tuple[Any, ...]]]:
    """Every (path text, key trail) that exists in ``value``."""
    found = [(prefix, trail)]
    if isinstance(value, dict):
        for key, item in value.items():
            found += locations(item, f"{prefix}['{key}']", (*trail, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += locations(item, f"{prefix}[{index}]", (*trail, index))
    return found


def follow(value: Any, trail: tuple[Any, ...]) -> Any:
    for key in trail:
        value = value[key]
    return value


@given(JSON, st.data())
def test_every_existing_location_reads_back(doc: Any, data: st.DataObject) -> None:
    path, trail = data.draw(st.sampled_from(locations(doc)))
    assert compile_path(path).is_definite
    assert read_path(path, doc) == follow(doc, trail)
    dotted = "$" + "".join(f".{k}" if isinstance(k, str) and k[0].isalpha() else
                           f"['{k}']" if isinstance(k, str) else f"[{k}]" for k in trail)
    assert read_path(dotted, doc) == follow(doc, trail)


@given(JSON, KEYS)
def test_absent_keys_are_not_found_and_wildcards_never_fail(doc: Any, key: str) -> None:
    if not (isinstance(doc, dict) and key in doc):
        with pytest.raises(PathNotFound):
            read_path(f"$['{key}']", doc)
    assert isinstance(read_path(f"$..['{key}']", doc), list)
    assert read_path("$[*]", doc) == (list(doc.values()) if isinstance(doc, dict) else
                                      doc if isinstance(doc, list) else [])


@given(st.dictionaries(KEYS, JSON, max_size=4), st.lists(KEYS, min_size=1, max_size=3), JSON)
def test_result_path_then_read_path_gives_the_result(doc: dict[str, Any], keys: list[str], result: Any) -> None:
    path = "$" + "".join(f"['{k}']" for k in keys)
    before = json.dumps(doc, sort_keys=True)
    try:
        out = apply_result_path(path, doc, result)
    except EvaluationError:
        return  # a non-object on the way: legitimately not applicable
    assert read_path(path, out) == result
    assert json.dumps(doc, sort_keys=True) == before


@given(JSON)
def test_json_copy_is_equal_and_independent(doc: Any) -> None:
    copied = json_copy(doc)
    assert copied == doc
    if isinstance(doc, (dict, list)) and doc:
        assert copied is not doc
