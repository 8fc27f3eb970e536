"""Evaluating the Choice state's rules (JSONPath query language).

AWS semantics, as recorded from real executions:

* A comparison whose Variable (or Path operand) holds a value of the wrong JSON type is simply
  false, never an error: ``NumericEquals`` on ``"1"`` or on ``true`` is false.
* A Variable path that selects nothing fails the state with ``States.Runtime``, except for
  ``IsPresent``, which exists to test exactly that. A ``*Path`` operand that selects nothing
  fails the same way.
* Rules are tried in order and And/Or stop at the first deciding sub-rule, so a later rule
  whose path is missing cannot fail a Choice that an earlier rule already decided.

The operator catalog, value readers and static checks live in :mod:`engine.choice_rules`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.choice_rules import (
    COMPARISONS,
    IS_PRESENT,
    TYPE_TESTS,
    Comparison,
    choice_rule_problems,
)
from engine.context import EvalContext
from engine.errors import EvaluationError, StatesError
from engine.jsonpath import PathNotFound, PathSyntaxError, read_reference

__all__ = ["choice_rule_problems", "choose_next", "match_rule"]

_RUNTIME = StatesError.RUNTIME.value

# An evaluator gets the rule, its operator's operand, the state's input and the context.
Evaluator = Callable[[dict[str, Any], Any, Any, EvalContext], bool]


def choose_next(state: dict[str, Any], data: Any, ctx: EvalContext) -> str | None:
    """The state a JSONPath Choice state transitions to, or None when nothing matches.

    Args:
        state: the Choice state's definition.
        data: the state's effective input (after InputPath).
        ctx: the context object and variables the rules' paths may read.

    Returns:
        The ``Next`` of the first matching rule, else ``Default``, else None (the interpreter
        then fails with States.NoChoiceMatched).

    Raises:
        EvaluationError: States.Runtime when a rule reads a path that selects nothing.
    """
    for rule in state["Choices"]:
        if match_rule(rule, data, ctx):
            next_state: str = rule["Next"]
            return next_state
    default: str | None = state.get("Default")
    return default


def match_rule(rule: dict[str, Any], data: Any, ctx: EvalContext) -> bool:
    """Whether one Choice rule (top-level or nested) holds for ``data``.

    Raises:
        EvaluationError: States.Runtime when the rule reads a path that selects nothing.
    """
    # A rule has a handful of keys; the first that names an operator decides (validation
    # guarantees there is exactly one).
    for key in rule:
        evaluate = _EVALUATORS.get(key)
        if evaluate is not None:
            return evaluate(rule, rule[key], data, ctx)
    raise EvaluationError(_RUNTIME, "The Choice rule has no comparison operator.")


def _read_path(path: Any, data: Any, ctx: EvalContext) -> Any:
    try:
        return read_reference(path, data, ctx)
    except (PathNotFound, PathSyntaxError):
        # A syntax error only reaches here when the definition was not validated.
        raise EvaluationError(_RUNTIME, _invalid_path_cause(path)) from None


def _invalid_path_cause(path: Any) -> str:
    # AWS's text; the interpreter prefixes "An error occurred while executing the state ...".
    return f"Invalid path '{path}': The choice state's condition path references an invalid value."


def _variable_path(rule: dict[str, Any]) -> str:
    path = rule.get("Variable")
    if not isinstance(path, str):
        raise EvaluationError(_RUNTIME, "The Choice rule has no Variable.")
    return path


def _variable(rule: dict[str, Any], data: Any, ctx: EvalContext) -> Any:
    return _read_path(_variable_path(rule), data, ctx)


def _comparison_evaluator(comparison: Comparison) -> Evaluator:
    read, test, is_path = comparison.read, comparison.test, comparison.is_path

    def evaluate(rule: dict[str, Any], operand: Any, data: Any, ctx: EvalContext) -> bool:
        # Both sides are read before typing them, so a missing operand path fails even when
        # the Variable already has the wrong type.
        left = read(_variable(rule, data, ctx))
        right = read(_read_path(operand, data, ctx) if is_path else operand)
        return left is not None and right is not None and test(left, right)

    return evaluate


def _type_test_evaluator(predicate: Callable[[Any], bool]) -> Evaluator:
    def evaluate(rule: dict[str, Any], operand: Any, data: Any, ctx: EvalContext) -> bool:
        return predicate(_variable(rule, data, ctx)) is operand

    return evaluate


def _is_present(rule: dict[str, Any], operand: Any, data: Any, ctx: EvalContext) -> bool:
    try:
        read_reference(_variable_path(rule), data, ctx)
    except PathNotFound:
        return operand is False
    return operand is True


def _and(rule: dict[str, Any], operand: Any, data: Any, ctx: EvalContext) -> bool:
    return all(match_rule(nested, data, ctx) for nested in operand)


def _or(rule: dict[str, Any], operand: Any, data: Any, ctx: EvalContext) -> bool:
    return any(match_rule(nested, data, ctx) for nested in operand)


def _not(rule: dict[str, Any], operand: Any, data: Any, ctx: EvalContext) -> bool:
    return not match_rule(operand, data, ctx)


def _build_evaluators() -> dict[str, Evaluator]:
    table: dict[str, Evaluator] = {name: _comparison_evaluator(c) for name, c in COMPARISONS.items()}
    table.update({name: _type_test_evaluator(predicate) for name, predicate in TYPE_TESTS.items()})
    table.update({IS_PRESENT: _is_present, "And": _and, "Or": _or, "Not": _not})
    return table


_EVALUATORS: dict[str, Evaluator] = _build_evaluators()
