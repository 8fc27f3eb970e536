"""Parsing of intrinsic function calls: ``States.Format('x {}', $.a, States.Array(1, 2))``.

Arguments are string literals in single quotes (escapes ``\\'``, ``\\{``, ``\\}``, ``\\\\`` only;
any other backslash is an error, as AWS rejects it), numbers, ``true``/``false``/``null``, paths
(``$.a``, ``$$.x``, ``$var``) or nested calls. A call is parsed once (cached) into a tree whose
paths are already compiled, so evaluation only walks it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, NoReturn

from engine.context import EvalContext
from engine.errors import EvaluationError, StatesError
from engine.intrinsics.functions import FUNCTIONS
from engine.jsonpath import CompiledPath, PathNotFound, PathSyntaxError, compile_path, read_reference, to_json

_LOOKS_INTRINSIC = re.compile(r"\s*States\.[A-Za-z0-9]+\s*\(")
_NAME = re.compile(r"States\.([A-Za-z0-9]*)")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_KEYWORDS = {"true": True, "false": False, "null": None}
_ESCAPABLE = "'{}\\"


class IntrinsicSyntaxError(ValueError):
    """The text of an intrinsic function call is malformed; the message says where and why."""


class Literal:
    """A constant argument. A string keeps its pieces around unescaped ``{}`` for States.Format."""

    __slots__ = ("value", "template_parts")

    def __init__(self, value: Any, template_parts: tuple[str, ...] | None = None) -> None:
        self.value = value
        self.template_parts = template_parts

    def evaluate(self, data: Any, ctx: EvalContext, field: str | None) -> Any:
        return self.value


class PathArgument:
    """A path argument ($.a, $$.a or $var.a), compiled when the call is parsed."""

    __slots__ = ("path",)

    def __init__(self, path: CompiledPath) -> None:
        self.path = path

    def evaluate(self, data: Any, ctx: EvalContext, field: str | None) -> Any:
        try:
            return read_reference(self.path.text, data, ctx)
        except PathNotFound:
            where = f" specified for the field '{field}'" if field else ""
            raise EvaluationError(
                StatesError.RUNTIME,
                f"The JSONPath '{self.path.text}'{where} could not be found in the input '{to_json(data)}'",
            ) from None


class IntrinsicCall:
    """A parsed call ``States.Name(args...)``; ``evaluate`` computes its value."""

    __slots__ = ("name", "args", "_impl")

    def __init__(self, name: str, args: tuple[Literal | PathArgument | IntrinsicCall, ...]) -> None:
        self.name = name
        self.args = args
        self._impl = FUNCTIONS[name].impl

    def __repr__(self) -> str:
        return f"IntrinsicCall({self.name}, {len(self.args)} args)"

    def evaluate(self, data: Any, ctx: EvalContext, field: str | None = None) -> Any:
        """The call's value. Raises EvaluationError: States.Runtime when a path argument finds
        nothing (naming ``field`` if given), States.IntrinsicFailure for bad argument values."""
        values = [arg.evaluate(data, ctx, field) for arg in self.args]
        return self._impl(values, ctx, self.args)


def is_intrinsic(text: str) -> bool:
    """Whether ``text`` looks like an intrinsic function call ``States.Xxx(...)``."""
    return isinstance(text, str) and _LOOKS_INTRINSIC.match(text) is not None


def parse_intrinsic(text: str) -> IntrinsicCall:
    """Parse a call (cached); raises IntrinsicSyntaxError."""
    return _parse(text)


@lru_cache(maxsize=2048)
def _parse(text: str) -> IntrinsicCall:
    if not isinstance(text, str):
        raise IntrinsicSyntaxError(f"An intrinsic function call must be a string, not {type(text).__name__}")
    parser = _Parser(text)
    call = parser.call()
    if parser.skip_spaces() < len(text):
        parser.fail("unexpected text after the closing ')'")
    return call


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, reason: str) -> NoReturn:
        raise IntrinsicSyntaxError(f"Invalid intrinsic function call {self.text!r} at {self.pos}: {reason}")

    def skip_spaces(self) -> int:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1
        return self.pos

    def call(self) -> IntrinsicCall:
        self.skip_spaces()
        match = _NAME.match(self.text, self.pos)
        if not match or not match.group(1):
            self.fail("expected a function name 'States.<Name>'")
        name = match.group(0)
        if name not in FUNCTIONS:
            self.fail(f"unknown intrinsic function '{name}'")
        self.pos = match.end()
        if self.skip_spaces() >= len(self.text) or self.text[self.pos] != "(":
            self.fail(f"expected '(' after {name}")
        self.pos += 1
        args = self.arguments()
        spec = FUNCTIONS[name]
        if len(args) < spec.min_args or (spec.max_args is not None and len(args) > spec.max_args):
            most = "" if spec.max_args is None else f" and at most {spec.max_args}"
            expected = spec.min_args if spec.min_args == spec.max_args else f"at least {spec.min_args}{most}"
            self.fail(f"{name} takes {expected} argument(s), not {len(args)}")
        return IntrinsicCall(name, tuple(args))

    def arguments(self) -> list[Literal | PathArgument | IntrinsicCall]:
        args: list[Literal | PathArgument | IntrinsicCall] = []
        if self.skip_spaces() < len(self.text) and self.text[self.pos] == ")":
            self.pos += 1
            return args
        while True:
            args.append(self.argument())
            if self.skip_spaces() >= len(self.text):
                self.fail("missing ')'")
            char = self.text[self.pos]
            self.pos += 1
            if char == ")":
                return args
            if char != ",":
                self.pos -= 1
                self.fail("expected ',' or ')'")

    def argument(self) -> Literal | PathArgument | IntrinsicCall:
        self.skip_spaces()
        rest = self.text[self.pos:]
        if rest.startswith("'"):
            return self.string()
        if rest.startswith("$"):
            return self.path()
        if rest.startswith("States."):
            return self.call()
        for word, value in _KEYWORDS.items():
            if re.match(word + r"(?![A-Za-z0-9_])", rest):
                self.pos += len(word)
                return Literal(value)
        match = _NUMBER.match(self.text, self.pos)
        if not match:
            self.fail("expected an argument: a 'string', a number, true, false, null, a path or a call")
        self.pos = match.end()
        number = match.group(0)
        return Literal(float(number) if match.group(1) or match.group(2) else int(number))

    def string(self) -> Literal:
        chars: list[str] = []  # the unescaped value
        parts: list[str] = []  # pieces between unescaped "{}", for States.Format
        piece: list[str] = []
        pos = self.pos + 1
        while pos < len(self.text) and self.text[pos] != "'":
            char = self.text[pos]
            if char == "\\":
                escaped = self.text[pos + 1:pos + 2]
                if not escaped or escaped not in _ESCAPABLE:
                    self.pos = pos
                    self.fail(f"illegal escape sequence '\\{escaped}' (only \\' \\{{ \\}} \\\\ are allowed)")
                chars.append(escaped)
                piece.append(escaped)
                pos += 2
            elif self.text.startswith("{}", pos):
                chars.append("{}")
                parts.append("".join(piece))
                piece = []
                pos += 2
            else:
                chars.append(char)
                piece.append(char)
                pos += 1
        if pos >= len(self.text):
            self.fail("unterminated string literal")
        self.pos = pos + 1
        parts.append("".join(piece))
        return Literal("".join(chars), tuple(parts))

    def path(self) -> PathArgument:
        # A path runs to the next ',' or ')' outside brackets, parentheses and quotes.
        start, depth, quote, pos = self.pos, 0, "", self.pos
        while pos < len(self.text):
            char = self.text[pos]
            if quote:
                quote = "" if char == quote else quote
                pos += 2 if char == "\\" else 1
                continue
            if char in "'\"":
                quote = char
            elif char in "[(":
                depth += 1
            elif char in "])":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                break
            pos += 1
        self.pos = pos
        try:
            return PathArgument(compile_path(self.text[start:pos].rstrip()))
        except PathSyntaxError as exc:
            self.pos = start
            self.fail(f"invalid path argument: {exc}")
