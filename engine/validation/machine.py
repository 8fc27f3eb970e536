"""The walk over a definition: the top level, each state, and the bodies nested in states."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from engine.errors import Problem
from engine.validation.common import JSONPATH, QUERY_LANGUAGES, Scope, child, describe, int_problem
from engine.validation.fields import field_value_problems
from engine.validation.graph import all_states, scope_graph_problems, state_name_problems
from engine.validation.structure import (
    BRANCH_FIELDS,
    PROCESSOR_FIELDS,
    STATE_FIELDS,
    STATE_TYPES,
    TOP_LEVEL_FIELDS,
    body_field_problems,
    language_problems,
    state_field_problems,
    state_language,
)
from engine.validation.variables import assigned_names, reference_problems

PROCESSOR_MODES = ("INLINE", "DISTRIBUTED")
EXECUTION_TYPES = ("STANDARD", "EXPRESS")
# Service integration patterns an EXPRESS state machine cannot run.
EXPRESS_FORBIDDEN_SUFFIXES = (".sync", ".sync:2", ".waitForTaskToken")


def machine_problems(definition: Any) -> list[Problem]:
    """Every problem of a whole definition (the parsed JSON value)."""
    if not isinstance(definition, dict):
        return [Problem("", f"a state machine definition must be a JSON object, not {describe(definition)}")]
    problems = body_field_problems(definition, "", TOP_LEVEL_FIELDS)
    problems += _top_level_value_problems(definition)
    language = definition.get("QueryLanguage")
    language = language if language in QUERY_LANGUAGES else JSONPATH
    problems += _body_problems(definition, Scope("", language, language, frozenset()))
    return problems + state_name_problems(definition)


def express_problems(definition: Any) -> list[Problem]:
    """What an EXPRESS state machine may not use: .sync and .waitForTaskToken integrations."""
    problems = []
    for _, pointer, state in all_states(definition, ""):
        resource = state.get("Resource") if isinstance(state, dict) else None
        if isinstance(resource, str) and resource.endswith(EXPRESS_FORBIDDEN_SUFFIXES):
            pattern = resource[resource.rindex(".") :]
            message = f"an EXPRESS state machine does not support the '{pattern}' integration pattern"
            problems.append(Problem(child(pointer, "Resource"), message))
    return problems


def _top_level_value_problems(definition: dict[str, Any]) -> list[Problem]:
    problems = _comment_and_start(definition, "")
    if "Version" in definition and not isinstance(definition["Version"], str):
        problems.append(Problem("/Version", f"Version must be a string, not {describe(definition['Version'])}"))
    if "TimeoutSeconds" in definition:
        problems += int_problem(definition["TimeoutSeconds"], "/TimeoutSeconds", "TimeoutSeconds", 1)
    language = definition.get("QueryLanguage", JSONPATH)
    if language not in QUERY_LANGUAGES:
        problems.append(Problem("/QueryLanguage", f"QueryLanguage must be 'JSONPath' or 'JSONata', not {language!r}"))
    return problems


def _comment_and_start(body: dict[str, Any], pointer: str) -> list[Problem]:
    problems = []
    if "Comment" in body and not isinstance(body["Comment"], str):
        problems.append(Problem(child(pointer, "Comment"), "Comment must be a string"))
    if "StartAt" in body and not isinstance(body["StartAt"], str):
        problems.append(
            Problem(child(pointer, "StartAt"), f"StartAt must be a string, not {describe(body['StartAt'])}")
        )
    return problems


def _body_problems(body: dict[str, Any], scope: Scope) -> list[Problem]:
    """A body's States: their graph, then each state (and, through it, nested bodies)."""
    states = body.get("States")
    if not isinstance(states, dict) or not states:
        if "States" not in body:
            return []
        return [Problem(child(scope.pointer, "States"), f"States must be a non-empty object, not {describe(states)}")]
    scope = replace(scope, variables=scope.variables | assigned_names(states))
    problems = scope_graph_problems(body, scope.pointer)
    for name, state in states.items():
        problems += _state_problems(state, child(scope.pointer, "States", name), scope)
    return problems


def _state_problems(state: Any, pointer: str, scope: Scope) -> list[Problem]:
    if not isinstance(state, dict):
        return [Problem(pointer, f"a state must be an object, not {describe(state)}")]
    kind = state.get("Type")
    if not isinstance(kind, str) or kind not in STATE_FIELDS:
        where = child(pointer, "Type") if "Type" in state else pointer
        return [Problem(where, f"Type must be one of {', '.join(STATE_TYPES)}, not {kind!r}")]
    language = state_language(state, scope)
    problems = language_problems(state, pointer, scope)
    problems += state_field_problems(state, pointer, kind, language)
    problems += field_value_problems(state, pointer, STATE_FIELDS[kind].allowed(language), language)
    if language == JSONPATH:
        problems += reference_problems(state, pointer, scope.variables)
    nested = replace(scope, language=language)
    if kind == "Parallel":
        problems += _branch_problems(state.get("Branches"), child(pointer, "Branches"), nested)
    if kind == "Map":
        for field in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(field), dict):
                problems += _processor_problems(state[field], child(pointer, field), nested)
    return problems


def _branch_problems(branches: Any, pointer: str, scope: Scope) -> list[Problem]:
    if not isinstance(branches, list):
        return []
    problems = []
    for index, branch in enumerate(branches):
        if isinstance(branch, dict):
            at = child(pointer, index)
            problems += body_field_problems(branch, at, BRANCH_FIELDS) + _comment_and_start(branch, at)
            problems += _body_problems(branch, replace(scope, pointer=at))
    return problems


def _processor_problems(processor: dict[str, Any], pointer: str, scope: Scope) -> list[Problem]:
    problems = body_field_problems(processor, pointer, PROCESSOR_FIELDS) + _comment_and_start(processor, pointer)
    if "ProcessorConfig" in processor:
        problems += _processor_config_problems(processor["ProcessorConfig"], child(pointer, "ProcessorConfig"))
    return problems + _body_problems(processor, replace(scope, pointer=pointer))


def _processor_config_problems(config: Any, pointer: str) -> list[Problem]:
    if not isinstance(config, dict):
        return [Problem(pointer, f"ProcessorConfig must be an object, not {describe(config)}")]
    problems = []
    for key, value in config.items():
        at = child(pointer, key)
        if key == "Mode" and value not in PROCESSOR_MODES:
            problems.append(Problem(at, f"Mode must be 'INLINE' or 'DISTRIBUTED', not {value!r}"))
        elif key == "ExecutionType" and value not in EXECUTION_TYPES:
            problems.append(Problem(at, f"ExecutionType must be 'STANDARD' or 'EXPRESS', not {value!r}"))
        elif key not in ("Mode", "ExecutionType"):
            problems.append(Problem(at, f"{key} is not a valid field of ProcessorConfig"))
    return problems
