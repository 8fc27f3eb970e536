"""Payload templates of JSONPath states: Parameters, ResultSelector, ItemSelector, Assign...

A template is copied recursively; a key ending in ``.$`` loses that suffix and its value, a
string, is evaluated: an intrinsic function call (``States.Format('x {}', $.a)``) or a reference
path (``$``, ``$$`` or ``$var``). Values read from ``data`` are not copied: the result may share
sub-values with ``data``, which the engine treats as immutable.
"""

from __future__ import annotations

from typing import Any

from engine.context import EvalContext
from engine.errors import EvaluationError, Problem, StatesError
from engine.intrinsics import IntrinsicSyntaxError, parse_intrinsic
from engine.jsonpath import PathNotFound, PathSyntaxError, compile_path, read_reference, to_json

_INTRINSIC_PREFIX = "States."


def render_template(template: Any, data: Any, ctx: EvalContext, *, field: str = "Parameters") -> Any:
    """The template with every ``.$`` entry evaluated against ``data``.

    Raises EvaluationError (States.Runtime for a path that finds nothing or an invalid
    expression, States.IntrinsicFailure for an intrinsic function given bad values).
    """
    if isinstance(template, dict):
        out: dict[str, Any] = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = evaluate_expression(value, data, ctx, key)
            elif isinstance(value, (dict, list)):
                out[key] = render_template(value, data, ctx, field=field)
            else:
                out[key] = value
        return out
    if isinstance(template, list):
        return [render_template(item, data, ctx, field=field) for item in template]
    return template


def evaluate_expression(expression: Any, data: Any, ctx: EvalContext, field: str) -> Any:
    """The value of one ``.$`` expression (also what Fail's ErrorPath/CausePath evaluate).

    ``field`` names the field in error causes, e.g. ``"value.$"`` or ``"ErrorPath"``.
    """
    if not isinstance(expression, str):
        raise EvaluationError(StatesError.RUNTIME, _invalid_message(field))
    try:
        if expression.lstrip().startswith(_INTRINSIC_PREFIX):
            return parse_intrinsic(expression).evaluate(data, ctx, field)
        return read_reference(expression, data, ctx)
    except PathNotFound:
        raise EvaluationError(StatesError.RUNTIME, not_found_cause(expression, field, data)) from None
    except (PathSyntaxError, IntrinsicSyntaxError) as exc:
        raise EvaluationError(StatesError.RUNTIME, f"{_invalid_message(field)}: {exc}") from None


def not_found_cause(path: str, field: str, data: Any) -> str:
    """AWS's cause for a path that finds nothing in a ``.$`` value or a ``*Path`` field."""
    return (f"The JSONPath '{path}' specified for the field '{field}' "
            f"could not be found in the input '{to_json(data)}'")


def _invalid_message(field: str) -> str:
    return f"The value for the field '{field}' must be a valid JSONPath or a valid intrinsic function call"


def template_problems(template: Any, pointer: str) -> list[Problem]:
    """Static problems of a template: each ``.$`` value must be a string holding a valid path or
    a well-formed intrinsic call (known function, right number of arguments, legal escapes)."""
    problems: list[Problem] = []
    if isinstance(template, dict):
        items: Any = template.items()
    elif isinstance(template, list):
        items = enumerate(template)
    else:
        return problems
    for key, value in items:
        where = f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"
        if isinstance(key, str) and key.endswith(".$"):
            message = expression_problem(value, key)
            if message:
                problems.append(Problem(where, message))
        elif isinstance(value, (dict, list)):
            problems.extend(template_problems(value, where))
    return problems


def expression_problem(expression: Any, field: str) -> str | None:
    """Why ``expression`` is not a valid ``.$`` value for ``field``, or None when it is."""
    if not isinstance(expression, str):
        return f"{_invalid_message(field)} (found a {type(expression).__name__})"
    try:
        if expression.lstrip().startswith(_INTRINSIC_PREFIX):
            parse_intrinsic(expression)
        else:
            compile_path(expression)
    except (PathSyntaxError, IntrinsicSyntaxError) as exc:
        return f"{_invalid_message(field)} ({exc})"
    return None
