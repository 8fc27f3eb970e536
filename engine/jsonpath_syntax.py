"""The syntax of Jayway JsonPath as AWS accepts it: a path's root and its segments.

    parse_root(src) -> (root, variable, position)
    parse_segments(src, position) -> (segments, position)

A segment is a tuple whose first item names it: ``("field", name)``, ``("fields", names)``,
``("index", i)``, ``("indexes", (i, ...))``, ``("slice", start, end)``, ``("wild",)``,
``("scan", segment)``, ``("filter", expression)`` or ``("func", name)``. Evaluating them is
:mod:`engine.jsonpath`'s business.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

DATA, CONTEXT, VARIABLE = "data", "context", "variable"
_NAME_STOP = ".[( "


class PathSyntaxError(ValueError):
    """The text of a path is not valid JSONPath; the message says what is wrong and where."""


def parse_root(src: str) -> tuple[str, str | None, int]:
    """Which document a path reads (data, context object or a variable) and where its segments start."""
    if src.startswith("$$"):
        return CONTEXT, None, 2
    end = 1
    while end < len(src) and (src[end].isalnum() or src[end] == "_"):
        end += 1
    if end == 1:
        return DATA, None, 1
    if src[1].isdigit():
        raise PathSyntaxError(f"Illegal character at position 1 in path {src!r}")
    return VARIABLE, src[1:end], end


def parse_segments(src: str, pos: int) -> tuple[list[tuple[Any, ...]], int]:
    """Parse segments from ``pos`` until the end or a character that cannot start one."""
    segments: list[tuple[Any, ...]] = []
    n = len(src)
    while pos < n and src[pos] in ".[":
        if segments and segments[-1][0] == "func":
            raise PathSyntaxError(f"A function must be the last element of path {src!r}")
        if src.startswith("..", pos):
            seg, pos = _parse_after_dot(src, pos + 2, scan=True)
            segments.append(("scan", seg))
        elif src[pos] == ".":
            seg, pos = _parse_after_dot(src, pos + 1, scan=False)
            segments.append(seg)
        else:
            seg, pos = _parse_bracket(src, pos)
            segments.append(seg)
    return segments, pos


def _parse_after_dot(src: str, pos: int, *, scan: bool) -> tuple[tuple[Any, ...], int]:
    if pos >= len(src) or src[pos] in ". ":
        raise PathSyntaxError(f"Path must not end with a '.' or '..': {src!r}")
    if src[pos] == "*":
        return ("wild",), pos + 1
    if src[pos] == "[":
        return _parse_bracket(src, pos)
    end = pos
    while end < len(src) and src[end] not in _NAME_STOP:
        end += 1
    name = src[pos:end]
    if not name:
        raise PathSyntaxError(f"Empty property name at position {pos} in path {src!r}")
    if end < len(src) and src[end] == "(" and not scan:
        close = src.find(")", end)
        if close < 0:
            raise PathSyntaxError(f"Unclosed function call at position {end} in path {src!r}")
        return ("func", name), close + 1
    return ("field", name), end


def _parse_bracket(src: str, pos: int) -> tuple[tuple[Any, ...], int]:
    inner = _skip_spaces(src, pos + 1)
    if inner >= len(src):
        raise PathSyntaxError(f"Unclosed '[' at position {pos} in path {src!r}")
    if src[inner] in "'\"":
        return _parse_quoted_names(src, inner)
    if src[inner] == "?":
        return _parse_filter_bracket(src, inner)
    close = src.find("]", inner)
    if close < 0:
        raise PathSyntaxError(f"Unclosed '[' at position {pos} in path {src!r}")
    body = src[inner:close].strip()
    try:
        if body == "*":
            return ("wild",), close + 1
        if ":" in body:
            start, end = (int(part) if part.strip() else None for part in body.split(":", 1))
            return ("slice", start, end), close + 1
        if "," in body:
            return ("indexes", tuple(int(part) for part in body.split(","))), close + 1
        return ("index", int(body)), close + 1
    except ValueError:
        raise PathSyntaxError(f"Invalid array index or slice '[{body}]' in path {src!r}") from None


def _parse_quoted_names(src: str, pos: int) -> tuple[tuple[Any, ...], int]:
    # Like the Jayway version AWS runs: a backslash only protects the next character from ending
    # the name and is kept as written (no unescaping), e.g. $['Test\"Name'].
    names: list[str] = []
    while True:
        quote = src[pos]
        end = pos + 1
        while end < len(src) and src[end] != quote:
            end += 2 if src[end] == "\\" else 1
        if end >= len(src):
            raise PathSyntaxError(f"Unclosed quote at position {pos} in path {src!r}")
        names.append(src[pos + 1:end])
        pos = _skip_spaces(src, end + 1)
        if pos < len(src) and src[pos] == "]":
            break
        if pos >= len(src) or src[pos] != ",":
            raise PathSyntaxError(f"Property must be separated by comma or terminated by ']' in path {src!r}")
        pos = _skip_spaces(src, pos + 1)
        if pos >= len(src) or src[pos] not in "'\"":
            raise PathSyntaxError(f"Found empty property at index {pos} in path {src!r}")
    return (("field", names[0]) if len(names) == 1 else ("fields", tuple(names))), pos + 1


def _skip_spaces(src: str, pos: int) -> int:
    while pos < len(src) and src[pos] == " ":
        pos += 1
    return pos


def _parse_filter_bracket(src: str, pos: int) -> tuple[tuple[Any, ...], int]:
    # The filter expression itself is delegated to jsonpath-ng; only its extent is found here.
    start = _skip_spaces(src, pos + 1)
    if not src.startswith("(", start):
        raise PathSyntaxError(f"Expected '(' after '[?' at position {start} in path {src!r}")
    depth, quote, end = 0, "", start
    while end < len(src):
        char = src[end]
        if quote:
            quote = "" if char == quote else quote
            end += 2 if char == "\\" else 1
            continue
        quote = char if char in "'\"" else ""
        depth += {"(": 1, ")": -1}.get(char, 0)
        end += 1
        if depth == 0:
            break
    close = _skip_spaces(src, end)
    if depth or not src.startswith("]", close):
        raise PathSyntaxError(f"Filter must be closed by ')]' at position {close} in path {src!r}")
    return ("filter", _filter_expression(src[pos:end])), close + 1


@lru_cache(maxsize=256)
def _filter_expression(text: str) -> Any:
    from jsonpath_ng.ext import parse  # noqa: PLC0415 - only definitions with filters pay for it

    try:
        return parse(f"$[{text}]")
    except Exception as exc:  # noqa: BLE001 - jsonpath-ng raises plain Exceptions for bad syntax
        raise PathSyntaxError(f"Invalid filter expression '[{text}]': {exc}") from None
