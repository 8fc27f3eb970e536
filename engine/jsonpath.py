"""JSONPath as AWS Step Functions evaluates it (AWS runs Jayway JsonPath).

A path is parsed once (``compile_path`` is cached) into a :class:`CompiledPath`. Definite
paths (only fields and single indexes: the ASL "Reference Path") keep a tuple of keys walked by a
tiny loop, which is the hot path of every transition. Everything else (wildcards, slices, unions,
deep scan, filters) goes through a small generic evaluator that always returns a list.

Three roots share one syntax: ``$...`` reads the state's data, ``$$...`` the context object and
``$name...`` the workflow variable ``name``; :func:`read_reference` picks the right one.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from engine.context import EvalContext
from engine.errors import EvaluationError, StatesError

DATA, CONTEXT, VARIABLE = "data", "context", "variable"
_MISSING: Any = object()
_NAME_STOP = ".[( "
_JAVA_TYPES = {bool: "java.lang.Boolean", int: "java.lang.Integer", float: "java.lang.Double",
               str: "java.lang.String", list: "java.util.ArrayList", dict: "java.util.LinkedHashMap"}
_PROVIDER = "com.jayway.jsonpath.spi.json.JacksonJsonProvider"


class PathSyntaxError(ValueError):
    """The text of a path is not valid JSONPath; the message says what is wrong and where."""


class PathNotFound(Exception):  # noqa: N818 - mirrors Jayway's PathNotFoundException
    """A path that resolves to nothing; ``detail`` is Jayway's own wording."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"Invalid path '{path}' : {detail}")
        self.path = path
        self.detail = detail


def compile_path(path: str) -> CompiledPath:
    """Parse ``path`` once; raises :class:`PathSyntaxError` (errors are not cached)."""
    return _compile(path)


@lru_cache(maxsize=4096)
def _compile(text: str) -> CompiledPath:
    if not isinstance(text, str):
        raise PathSyntaxError(f"A path must be a string, not {type(text).__name__}")
    src = text.strip()
    if not src.startswith("$"):
        raise PathSyntaxError(f"Path must start with '$': {text!r}")
    root, variable, pos = _parse_root(src)
    segments, pos = _parse_segments(src, pos)
    if pos != len(src):
        raise PathSyntaxError(f"Illegal character at position {pos} in path {text!r}")
    return CompiledPath(text, root, variable, segments)


def _parse_root(src: str) -> tuple[str, str | None, int]:
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


class CompiledPath:
    """A parsed path. ``find`` walks it over a document (the caller chooses the root document)."""

    __slots__ = ("text", "root", "variable", "is_definite", "_segments", "_keys", "_single")

    def __init__(self, text: str, root: str, variable: str | None, segments: list[tuple[Any, ...]]) -> None:
        self.text = text
        self.root = root
        self.variable = variable
        self._segments = tuple(segments)
        kinds = [seg[0] for seg in segments]
        self.is_definite = all(kind in ("field", "index") for kind in kinds)
        # A leaf ['a','b'] after a definite prefix yields one merged object, so it is single-valued.
        prefix_definite = all(kind in ("field", "index") for kind in kinds[:-1])
        self._single = self.is_definite or (prefix_definite and kinds[-1] == "fields")
        walk = segments if self.is_definite else segments[:-1] if self._single else []
        self._keys: tuple[str | int, ...] = tuple(seg[1] for seg in walk)

    def __repr__(self) -> str:
        return f"CompiledPath({self.text!r})"

    def find(self, data: Any) -> Any:
        """The value at this path (a list for indefinite paths); raises :class:`PathNotFound`."""
        if self.is_definite:
            return self._walk(data, len(self._keys))
        if self._single:
            node = self._walk(data, len(self._keys))
            if not isinstance(node, dict):
                raise self._not_found(self._not_object(len(self._keys), node))
            return _merge_fields(node, self._segments[-1][1])
        return self._find_all(data)

    def _walk(self, data: Any, count: int) -> Any:
        node = data
        keys = self._keys
        for i in range(count):
            key = keys[i]
            if isinstance(key, str):
                if not isinstance(node, dict):
                    raise self._not_found(self._not_object(i, node))
                node = node.get(key, _MISSING)
            elif isinstance(node, list):
                idx = key + len(node) if key < 0 else key
                node = node[idx] if 0 <= idx < len(node) else _MISSING
            else:
                raise self._not_found(self._not_array(i, node))
            if node is _MISSING:
                # Jayway: a missing leaf is "no results", a missing step on the way is "missing property".
                last = i == len(keys) - 1 and count == len(self._segments)
                if last or not isinstance(key, str):
                    raise self._not_found(f"No results for path: {_normalize(self._segments)}")
                raise self._not_found(f"Missing property in path {_normalize(self._segments[: i + 1])}")
        return node

    def _not_object(self, i: int, node: Any) -> str:
        found = "null" if node is None else _JAVA_TYPES.get(type(node), "java.lang.Object")
        return (f"Expected to find an object with property {_normalize(self._segments[i:i + 1])[1:]} in path "
                f"{_normalize(self._segments[:i])} but found '{found}'. This is not a json object according "
                f"to the JsonProvider: '{_PROVIDER}'.")

    def _not_array(self, i: int, node: Any) -> str:
        if node is None:
            return f"The path {_normalize(self._segments[:i])} is null"
        return (f"Filter: {_normalize(self._segments[i:i + 1])[1:]} can only be applied to arrays. "
                f"Current context is: {to_json(node)}")

    def _not_found(self, detail: str) -> PathNotFound:
        return PathNotFound(self.text, detail)

    def _find_all(self, data: Any) -> list[Any]:
        # Indefinite paths never fail for missing data (AWS returns []), only for unsupported shapes.
        nodes = [data]
        last = len(self._segments) - 1
        for i, seg in enumerate(self._segments):
            if seg[0] == "func":
                raise self._not_found(f"No results for path: {_normalize(self._segments)}")
            if seg[0] == "fields" and i != last:
                raise self._not_found(
                    f"Multi properties can only be used as path leafs: {_normalize(self._segments[: i + 1])}")
            out: list[Any] = []
            for node in nodes:
                _apply(seg, node, out)
            nodes = out
        return nodes


def _merge_fields(node: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: node[name] for name in names if name in node}


def _apply(seg: tuple[Any, ...], node: Any, out: list[Any]) -> None:
    """Append what ``seg`` selects in ``node`` to ``out`` (Jayway's lenient, indefinite mode)."""
    _APPLY[seg[0]](seg, node, out)


def _apply_field(seg: tuple[Any, ...], node: Any, out: list[Any]) -> None:
    if isinstance(node, dict) and seg[1] in node:
        out.append(node[seg[1]])


def _apply_fields(seg: tuple[Any, ...], node: Any, out: list[Any]) -> None:
    if isinstance(node, dict):
        out.append(_merge_fields(node, seg[1]))


def _apply_indexes(seg: tuple[Any, ...], node: Any, out: list[Any]) -> None:
    if not isinstance(node, list):
        return
    length = len(node)
    if seg[0] == "slice":
        start, end = seg[1], seg[2]
        if end is None:  # [from:]
            indexes: Any = range(max(0, length + start) if start < 0 else start, length)
        elif start is None:  # [:to]
            indexes = range(0, min(length + end if end < 0 else end, length))
        else:  # Jayway: a negative "from" counts from the end for each index
            indexes = range(start, min(end, length))
    else:
        indexes = (seg[1],) if seg[0] == "index" else seg[1]
    for idx in indexes:
        pos = idx + length if idx < 0 else idx
        if 0 <= pos < length:
            out.append(node[pos])


def _children(node: Any) -> Any:
    return node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()


def _apply_wild(seg: tuple[Any, ...], node: Any, out: list[Any]) -> None:
    out.extend(_children(node))


def _apply_scan(seg: tuple[Any, ...], node: Any, out: list[Any]) -> None:
    # Pre-order, like Jayway's ScanPathToken: the node itself first, then its children.
    inner = seg[1]
    if inner[0] != "wild":
        _apply(inner, node, out)
    for child in _children(node):
        if inner[0] == "wild":
            out.append(child)
        _apply_scan(seg, child, out)


def _apply_filter(seg: tuple[Any, ...], node: Any, out: list[Any]) -> None:
    if isinstance(node, list):
        # AWS: "The @ operator ... does not match scalar values. It only matches objects."
        out.extend(item for item in node if isinstance(item, dict) and _truth(seg[1], item))
    elif isinstance(node, dict) and _truth(seg[1], node):
        out.append(node)


_APPLY = {"field": _apply_field, "fields": _apply_fields, "index": _apply_indexes, "indexes": _apply_indexes,
          "slice": _apply_indexes, "wild": _apply_wild, "scan": _apply_scan, "filter": _apply_filter}


def _normalize(segments: tuple[tuple[Any, ...], ...] | list[tuple[Any, ...]]) -> str:
    """Jayway's canonical form of a path, e.g. ``$['a'][0]``, used in its error messages."""
    return "$" + "".join(_segment_text(seg) for seg in segments)


def _segment_text(seg: tuple[Any, ...]) -> str:
    kind = seg[0]
    if kind == "field":
        return f"['{seg[1]}']"
    if kind == "fields":
        return "[" + ", ".join(f"'{name}'" for name in seg[1]) + "]"
    if kind == "index":
        return f"[{seg[1]}]"
    if kind == "indexes":
        return "[" + ",".join(str(i) for i in seg[1]) + "]"
    if kind == "slice":
        return f"[{'' if seg[1] is None else seg[1]}:{'' if seg[2] is None else seg[2]}]"
    if kind == "scan":
        return ".." + _segment_text(seg[1])
    return {"wild": "[*]", "filter": "[?]"}.get(kind, f".{seg[1]}()")


# ---------------------------------------------------------------- parsing of segments


def _parse_segments(src: str, pos: int) -> tuple[list[tuple[Any, ...]], int]:
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


def _truth(expr: Any, node: Any) -> bool:
    return bool(expr.find([node]))


# ---------------------------------------------------------------- public readers


def read_path(path: str, data: Any) -> Any:
    """``compile_path(path).find(data)``."""
    return _compile(path).find(data)


def read_reference(path: str, data: Any, ctx: EvalContext) -> Any:
    """Read a reference as ASL does: ``$...`` from ``data``, ``$$...`` from the context object,
    ``$name...`` from workflow variable ``name``. Raises PathNotFound / PathSyntaxError."""
    compiled = _compile(path)
    if compiled.root == DATA:
        return compiled.find(data)
    if compiled.root == CONTEXT:
        return compiled.find(ctx.context_object)
    value = ctx.variables.get(compiled.variable or "", _MISSING)
    if value is _MISSING:
        raise PathNotFound(path, f"The variable '{compiled.variable}' is not defined")
    return compiled.find(value)


def to_json(value: Any) -> str:
    """Compact JSON text, as AWS quotes inputs in its error messages."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def json_copy(value: Any) -> Any:
    """A deep copy of a JSON value (several times faster than copy.deepcopy)."""
    if isinstance(value, dict):
        return {key: json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_copy(item) for item in value]
    return value


def apply_result_path(result_path: str | None, state_input: Any, result: Any) -> Any:
    """ASL ResultPath: None discards ``result``; "$" replaces the input; "$.a.b" places ``result``
    at a.b in a deep copy of ``state_input``, creating missing objects on the way."""
    if result_path is None:
        return state_input
    try:
        compiled = _compile(result_path)
    except PathSyntaxError as exc:
        raise EvaluationError(StatesError.RUNTIME, f"Invalid ResultPath '{result_path}': {exc}") from None
    if compiled.root != DATA or not compiled.is_definite:
        raise EvaluationError(StatesError.RUNTIME, f"ResultPath '{result_path}' is not a reference path")
    keys = compiled._keys
    if not keys:
        return result
    root = node = json_copy(state_input)
    for key in keys[:-1]:
        _check_settable(node, key, result_path, state_input)
        if isinstance(key, str) and key not in node:
            node[key] = {}
        node = node[key]
    _check_settable(node, keys[-1], result_path, state_input)
    node[keys[-1]] = result
    return root


def _check_settable(node: Any, key: str | int, result_path: str, state_input: Any) -> None:
    if isinstance(key, str) and isinstance(node, dict):
        return
    if isinstance(key, int) and isinstance(node, list) and -len(node) <= key < len(node):
        return
    raise EvaluationError(
        StatesError.RUNTIME, f"Unable to apply ResultPath '{result_path}' to input '{to_json(state_input)}'")
