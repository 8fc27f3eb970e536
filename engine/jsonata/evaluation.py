"""Evaluating JSONata field values as AWS Step Functions does.

A field value that is a string starting with ``{%`` and ending with ``%}`` (no surrounding
whitespace) is a JSONata expression; every other value is a literal. An expression sees
``$states`` (``input``, ``result``, ``errorOutput``, ``context``) and every workflow variable
as ``$name``, and has no context item: a bare ``foo`` reads nothing.

Failures carry AWS's error name and cause, naming the expression and the field it was written
in (``Output/a/b[0]``); the interpreter adds the state prefix to the cause.
"""

from __future__ import annotations

import functools
import json
import threading
from typing import Any, Final

import jsonatapy

from engine.context import EvalContext
from engine.errors import EvaluationError, Problem, StatesError
from engine.jsonata import bounds, functions, library


class _Undefined:
    """JSONata's ``undefined``: an expression that selected or produced nothing."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"


#: What :func:`evaluate` returns for an expression that evaluates to nothing (distinct from null).
UNDEFINED: Final = _Undefined()

_CACHE_SIZE = 4096
_PER_THREAD = threading.local()


class JsonataSyntaxError(ValueError):
    """An expression does not parse; ``detail`` is the parser's ``CODE: message``."""

    def __init__(self, text: str, detail: str) -> None:
        super().__init__(f"invalid JSONata expression {text!r}: {detail}")
        self.text = text
        self.detail = detail


class CompiledExpression:
    """A parsed expression with AWS's functions installed; evaluate it with :func:`evaluate`."""

    __slots__ = ("program", "text")

    def __init__(self, text: str, program: jsonatapy.JsonataExpression) -> None:
        self.text = text
        self.program = program

    def __repr__(self) -> str:
        return f"CompiledExpression({self.text!r})"


def is_expression(value: Any) -> bool:
    """True for a string that is a JSONata expression: ``{%`` first and ``%}`` last."""
    return isinstance(value, str) and len(value) >= 4 and value.startswith("{%") and value.endswith("%}")


def expression_text(value: str) -> str:
    """The expression inside ``{% ... %}``, trimmed, as AWS quotes it in error causes."""
    return value[2:-2].strip()


def compile_expression(text: str) -> CompiledExpression:
    """Parse an expression (without its delimiters) once; raises :class:`JsonataSyntaxError`.

    The cache is per thread: the library's compiled expressions may only be used on the thread
    that compiled them (another thread makes it panic), so never hand one to another thread.
    """
    cached = getattr(_PER_THREAD, "compile", None)
    if cached is None:
        cached = _PER_THREAD.compile = functools.lru_cache(maxsize=_CACHE_SIZE)(_compile)
    compiled: CompiledExpression = cached(text)
    return compiled


def _compile(text: str) -> CompiledExpression:
    try:
        program = library.compile_program(text)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - any refusal by the parser (even a panic) is a syntax error
        raise JsonataSyntaxError(text, library.error_detail(exc, None)) from None
    return CompiledExpression(text, program)


def evaluate(text: str, states: dict[str, Any], ctx: EvalContext, *, field: str) -> Any:
    """Evaluate one expression; returns its JSON value, or :data:`UNDEFINED` for no value.

    Raises EvaluationError (``States.QueryEvaluationError``) when it fails, exceeds a limit
    of :mod:`engine.jsonata.bounds`, or yields a function.
    """
    try:
        compiled = compile_expression(text)
    except JsonataSyntaxError as exc:
        raise _failure(text, field, f"threw an error during evaluation. {exc.detail}") from None
    bindings = _bindings(text, states, ctx)
    run = library.Run(ctx)
    token = library.CURRENT.set(run)
    try:
        return _evaluate(compiled, bindings, run, field)
    finally:
        library.CURRENT.reset(token)


def _evaluate(compiled: CompiledExpression, bindings: dict[str, Any], run: library.Run, field: str) -> Any:
    text = compiled.text
    try:
        raw = library.evaluate_json(compiled.program, bindings)
        if raw == '""' and library.is_function_result(compiled.program, bindings):
            raise _failure(text, field, "returned an unsupported result type.")
    except (EvaluationError, KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - a library failure (even a Rust panic) fails the field, not the worker
        if isinstance(run.signal, functions.Undefined):
            # A host function answered undefined; the library could only abort.
            return UNDEFINED
        detail = library.error_detail(exc, run)
        raise _failure(text, field, f"threw an error during evaluation. {detail}") from None
    if raw is None:
        return UNDEFINED
    if bounds.result_too_large(raw):
        raise _failure(text, field, f"threw an error during evaluation. {bounds.MEMORY_LIMIT_MESSAGE}")
    return json.loads(raw)


def _bindings(text: str, states: dict[str, Any], ctx: EvalContext) -> dict[str, Any]:
    # Handing a value to the library costs time in proportion to its size, so bind only the
    # names the text mentions: a variable can only be read by writing "$name".
    bindings = {name: value for name, value in ctx.variables.items() if f"${name}" in text}
    if "$states" in text:
        bindings["states"] = states
    return bindings


def evaluate_template(template: Any, states: dict[str, Any], ctx: EvalContext, *, field: str) -> Any:
    """Evaluate a field value: objects and arrays are walked, expression strings evaluated.

    ``field`` names the value for error causes; nested values are named as AWS names them,
    ``Output/key`` for an object member and ``Items[0]`` for an array element. An expression
    that evaluates to nothing fails the field, at any depth (AWS does not drop the key).
    """
    if isinstance(template, str):
        if not is_expression(template):
            return template
        text = expression_text(template)
        value = evaluate(text, states, ctx, field=field)
        if value is UNDEFINED:
            raise _failure(text, field, "returned nothing (undefined).")
        return value
    if isinstance(template, dict):
        return {key: evaluate_template(v, states, ctx, field=f"{field}/{key}") for key, v in template.items()}
    if isinstance(template, list):
        return [evaluate_template(v, states, ctx, field=f"{field}[{i}]") for i, v in enumerate(template)]
    return template


def expression_problems(value: Any, pointer: str) -> list[Problem]:
    """Every ``{% %}`` expression inside ``value`` that does not parse, at its JSON pointer."""
    if is_expression(value):
        try:
            compile_expression(expression_text(value))
        except JsonataSyntaxError as exc:
            return [Problem(pointer, f"INVALID_JSONATA_EXPRESSION: {exc.detail}")]
        return []
    problems: list[Problem] = []
    if isinstance(value, dict):
        for key, item in value.items():
            problems += expression_problems(item, f"{pointer}/{_escape(str(key))}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problems += expression_problems(item, f"{pointer}/{index}")
    return problems


def _escape(key: str) -> str:
    """A JSON pointer reference token (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


def _failure(text: str, field: str, outcome: str) -> EvaluationError:
    return EvaluationError(
        StatesError.QUERY_EVALUATION_ERROR,
        f"The JSONata expression '{text}' specified for the field '{field}' {outcome}",
    )
