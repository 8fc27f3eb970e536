"""JSONPath as AWS Step Functions evaluates it (AWS runs Jayway JsonPath).

The syntax (segments, roots, filters) is parsed in :mod:`engine.jsonpath_syntax`.

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
from engine.jsonpath_syntax import CONTEXT, DATA, PathSyntaxError, parse_root, parse_segments

_MISSING: Any = object()
_JAVA_TYPES = {bool: "java.lang.Boolean", int: "java.lang.Integer", float: "java.lang.Double",
               str: "java.lang.String", list: "java.util.ArrayList", dict: "java.util.LinkedHashMap"}
_PROVIDER = "com.jayway.jsonpath.spi.json.JacksonJsonProvider"


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
    root, variable, pos = parse_root(src)
    segments, pos = parse_segments(src, pos)
    if pos != len(src):
        raise PathSyntaxError(f"Illegal character at position {pos} in path {text!r}")
    return CompiledPath(text, root, variable, segments)


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
