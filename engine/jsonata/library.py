"""The one place that knows the JSONata library (jsonatapy): compiling, host functions, error texts.

jsonatapy was chosen by measurement (bench/jsonata_choice.md): it matches the recorded AWS cases
as well as the pure-Python port does and evaluates about 24 times faster, with time, depth and
sequence-length limits built into its evaluator.

Host functions are registered on each compiled expression once; they find the evaluation they
serve (its random source, its context object) through a context variable, never a shared slot.
A compiled expression belongs to the thread that compiled it (the library panics otherwise),
so callers cache them per thread.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import jsonatapy

from engine.context import EvalContext
from engine.jsonata import bounds, functions

#: int64: the library refuses larger Python integers; AWS turns them into doubles too.
_INT64 = range(-(2**63), 2**63)

_CODE = re.compile(r"([A-Z]\d{4}): (.*)", re.S)


@dataclass
class Run:
    """One evaluation in progress: what host functions may read, and what they signal back."""

    ctx: EvalContext
    #: set when a host function failed or answered undefined (the library keeps only a text)
    signal: Exception | None = field(default=None)


CURRENT: ContextVar[Run | None] = ContextVar("stepstream_jsonata_run", default=None)


def compile_program(text: str) -> jsonatapy.JsonataExpression:
    """Parse ``text`` and install AWS's functions; raises ValueError with the parser's text."""
    program = jsonatapy.compile(text)
    for name, function in _HOST_FUNCTIONS.items():
        program.register(name, function)
    for name, function in _OVERRIDES.items():
        program.register_override(name, function)
    return program


def evaluate_json(program: jsonatapy.JsonataExpression, bindings: dict[str, Any]) -> str | None:
    """The result as JSON text, or None for undefined; the library enforces the limits."""
    try:
        return _evaluate(program, bindings)
    except OverflowError:
        # An integer beyond int64 in the data: retry with such integers as floats.
        return _evaluate(program, widen(bindings))


def is_function_result(program: jsonatapy.JsonataExpression, bindings: dict[str, Any]) -> bool:
    """Whether a result the library wrote as ``""`` was a function (it writes both that way)."""
    return program.evaluate(None, widen(bindings), **_limits()) is None


def _evaluate(program: jsonatapy.JsonataExpression, bindings: dict[str, Any]) -> str | None:
    # No context item: AWS evaluates with nothing bound to "$"; the data arrives as $states.
    return program.evaluate_json_or_none(None, bindings, **_limits())


def _limits() -> dict[str, int]:
    # The time limit is the one use of a clock: it only stops an evaluation, never yields a value.
    return {
        "timeout": bounds.TIME_LIMIT_MS,
        "max_stack_depth": bounds.MAX_DEPTH,
        "max_sequence_length": bounds.MAX_SEQUENCE_LENGTH,
    }


def widen(value: Any) -> Any:
    """``value`` with integers beyond int64 as floats (the library cannot carry them)."""
    if isinstance(value, dict):
        return {key: widen(item) for key, item in value.items()}
    if isinstance(value, list):
        return [widen(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and value not in _INT64:
        return float(value)
    return value


def error_detail(exc: BaseException, run: Run | None) -> str:
    """The text AWS writes after "threw an error during evaluation.", as ``CODE: message``."""
    if run is not None and isinstance(run.signal, functions.FunctionError):
        return run.signal.detail
    if not isinstance(exc, ValueError):
        return f"{type(exc).__name__}: {exc}"
    return library_detail(str(exc))


def library_detail(text: str) -> str:
    """Normalise one of the library's error texts to JSONata's ``CODE: message``."""
    for prefix in ("Parse error: ", "Invalid syntax: "):
        text = text.removeprefix(prefix)
    match = _CODE.fullmatch(text)
    if match is None:
        return text
    code, message = match.groups()
    if code in bounds.LIMIT_MESSAGES:
        message = bounds.LIMIT_MESSAGES[code]
    elif code == "T1006":
        # The library names the callee after the message; JSONata (and so AWS) does not.
        message = "Attempted to invoke a non-function"
    return f"{code}: {message}"


# ---------------------------------------------------------------------------- host functions


def _call(name: str, function: Callable[..., Any], args: tuple[Any, ...], *given: Any) -> Any:
    """Call an AWS function for the library (``given`` first, then the expression's ``args``),
    keeping its failure or undefined answer for later: the library keeps only a text."""
    run = CURRENT.get()
    try:
        return widen(function(*given, *args))
    except (functions.FunctionError, functions.Undefined) as signal:
        _keep(run, signal)
        raise
    except TypeError:
        # Called with more arguments than it takes.
        failure = functions.signature_error(len(args), name)
        _keep(run, failure)
        raise failure from None


def _keep(run: Run | None, signal: Exception) -> None:
    if run is not None and run.signal is None:
        run.signal = signal


def _context() -> EvalContext:
    run = CURRENT.get()
    return run.ctx if run is not None else EvalContext()


def _partition(*args: Any) -> Any:
    return _call("partition", functions.partition, args)


def _range(*args: Any) -> Any:
    return _call("range", functions.range_, args)


def _hash(*args: Any) -> Any:
    return _call("hash", functions.hash_, args)


def _parse(*args: Any) -> Any:
    return _call("parse", functions.parse, args)


def _uuid(*args: Any) -> Any:
    return _call("uuid", functions.uuid_, args, _context().rng)


def _random(*args: Any) -> Any:
    return _call("random", functions.random_, args, _context().rng)


def _eval(*args: Any) -> Any:
    return _call("eval", functions.eval_, args)


def _millis(*args: Any) -> Any:
    return _call("millis", lambda: functions.entered_millis(_context().context_object), args)


def _now(*args: Any) -> Any:
    return _call("now", _format_now, args)


def _format_now(picture: Any = None, timezone: Any = None) -> Any:
    # $now(picture, timezone) formats like $fromMillis, which the library already implements.
    bindings = {"m": functions.entered_millis(_context().context_object)}
    if picture is not None:
        bindings["p"] = picture
    if timezone is not None:
        bindings["t"] = timezone
    try:
        return _from_millis().evaluate(None, bindings)
    except ValueError as exc:
        detail = library_detail(str(exc))
        match = _CODE.fullmatch(detail)
        code, message = match.groups() if match else (None, detail)
        raise functions.FunctionError(code, message) from None


_PER_THREAD = threading.local()


def _from_millis() -> jsonatapy.JsonataExpression:
    # Compiled once per thread: the library's expressions may not cross threads.
    program = getattr(_PER_THREAD, "from_millis", None)
    if program is None:
        program = _PER_THREAD.from_millis = jsonatapy.compile("$fromMillis($m, $p, $t)")
    return program


_HOST_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "partition": _partition,
    "range": _range,
    "hash": _hash,
    "parse": _parse,
    "uuid": _uuid,
}

#: Built-ins AWS changes: $random takes a seed, the clock functions read the context, no $eval.
_OVERRIDES: dict[str, Callable[..., Any]] = {
    "random": _random,
    "now": _now,
    "millis": _millis,
    "eval": _eval,
}
