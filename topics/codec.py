"""The versioned JSON encoding of stepstream's records, and the payload size limit.

Every record is one UTF-8 JSON object: ``{"type": "<TypeName>", "v": 1, "id": "...", ...fields}``
with camelCase field names (see ``topics/schemas/<TypeName>.schema.json``). ``id`` is the
record's de-duplication id, written for the convenience of consumers and ignored on input (it is
derived from the fields). Members this version does not know are ignored, so a newer producer
can add optional fields without breaking older consumers; a change that older consumers must not
misread gets a new ``v``.
"""

from __future__ import annotations

import json
from typing import Any

from topics import jsontext
from topics.fields import WireField, wire_fields
from topics.ids import InvalidTaskToken, parse_task_token
from topics.messages import RECORD_TYPES, Record

__all__ = [
    "DATA_LIMIT_EXCEEDED",
    "FORMAT_VERSION",
    "MAX_PAYLOAD_BYTES",
    "DataLimitExceeded",
    "DecodeError",
    "EncodeError",
    "check_payload_size",
    "decode",
    "encode",
    "from_wire",
    "payload_size",
    "to_wire",
]

#: The ``v`` this build writes; it reads :data:`SUPPORTED_VERSIONS`.
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = frozenset({1})

#: AWS's limit on an execution input, a task output or a state's data: 256 KiB as compact UTF-8 JSON.
MAX_PAYLOAD_BYTES = 256 * 1024
DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"

_FIELDS: dict[str, tuple[WireField, ...]] = {name: wire_fields(cls) for name, cls in RECORD_TYPES.items()}
_EXPECTED = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "a boolean",
             "object": "an object"}


class DecodeError(ValueError):
    """A record that cannot be read, and exactly why (``reason``; also ``record_type`` and ``field``)."""

    def __init__(self, reason: str, *, record_type: str | None = None, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.record_type = record_type
        self.field = field


class EncodeError(ValueError):
    """A record whose fields do not fit its wire type (a bug in the producer, never sent)."""


class DataLimitExceeded(ValueError):
    """An input, output or data bigger than :data:`MAX_PAYLOAD_BYTES` (ASL error States.DataLimitExceeded)."""

    error = DATA_LIMIT_EXCEEDED

    def __init__(self, what: str, size: int) -> None:
        self.size = size
        self.cause = (f"The {what} ({size} bytes) exceeds the maximum number of bytes service limit "
                      f"({MAX_PAYLOAD_BYTES} bytes).")
        super().__init__(f"{self.error}: {self.cause}")


def payload_size(value: Any) -> int:
    """The size AWS's limit applies to: the UTF-8 bytes of compact JSON (of the text itself for a string).

    The same measure as the engine's (``engine.dataflow.payload_size``).
    """
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode("utf-8", "surrogatepass"))


def check_payload_size(value: Any, what: str = "input") -> None:
    """Raise :class:`DataLimitExceeded` if ``value`` is over the limit; ``what`` names it in the cause."""
    size = payload_size(value)
    if size > MAX_PAYLOAD_BYTES:
        raise DataLimitExceeded(what, size)


# ---------------------------------------------------------------- encoding


def encode(record: Record, *, check: bool = True) -> bytes:
    """The wire bytes of ``record``.

    ``check=False`` skips the per-field type checks, for records the service built itself from
    engine output (the hot path); JSON validity is still enforced.

    Raises:
        EncodeError: a field has the wrong type or breaks a constraint, or a value is not JSON
            (NaN, a set...).
    """
    obj = to_wire(record, check=check)
    try:
        return jsontext.dumps(obj)
    except (TypeError, ValueError) as exc:
        raise EncodeError(f"{obj['type']}: a value is not JSON: {exc}") from None


def to_wire(record: Record, *, check: bool = True) -> dict[str, Any]:
    """The JSON object of ``record`` (before serialization), checked against its wire type."""
    name = type(record).__name__
    if RECORD_TYPES.get(name) is not type(record):
        raise EncodeError(f"{type(record).__qualname__} is not a stepstream record type")
    obj: dict[str, Any] = {"type": name, "v": FORMAT_VERSION, "id": record.id}
    for field in _FIELDS[name]:
        value = getattr(record, field.name)
        if check:
            problem = _problem(field, value)
            if problem:
                raise EncodeError(f"{name}: {problem}")
        obj[field.wire] = value
    return obj


# ---------------------------------------------------------------- decoding


def decode(data: bytes | bytearray | memoryview | None) -> Record:
    """The record encoded in ``data``.

    Raises:
        DecodeError: no value, not UTF-8, not JSON, not an object, no or an unknown type, an
            unsupported version, or a missing or ill-typed field (named in the reason).
    """
    if data is None:
        raise DecodeError("no value (a null record value)")
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"not UTF-8: {exc}") from None
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise DecodeError("not JSON: nested too deeply") from None
    except ValueError as exc:
        raise DecodeError(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise DecodeError(f"not a JSON object: found {_json_type(obj)}")
    return from_wire(obj)


def from_wire(obj: dict[str, Any]) -> Record:
    """The record of a decoded JSON object (see :func:`decode` for the errors)."""
    cls = RECORD_TYPES[_record_type(obj)]
    name = cls.__name__
    _check_version(name, obj)
    values: dict[str, Any] = {}
    for field in _FIELDS[name]:
        values[field.name] = _read_field(name, field, obj)
    try:
        return cls(**values)
    except ValueError as exc:  # a cross-field rule of the record type
        raise DecodeError(f"{name}: {exc}", record_type=name) from None


def _record_type(obj: dict[str, Any]) -> str:
    if "type" not in obj:
        raise DecodeError("missing field 'type' (the record type)", field="type")
    name = obj["type"]
    if not isinstance(name, str):
        raise DecodeError(f"field 'type' must be a string, found {_json_type(name)}", field="type")
    if name not in RECORD_TYPES:
        raise DecodeError(f"unknown record type {name!r}", record_type=name, field="type")
    return name


def _check_version(name: str, obj: dict[str, Any]) -> None:
    if "v" not in obj:
        raise DecodeError(f"{name}: missing field 'v' (the format version)", record_type=name, field="v")
    version = obj["v"]
    if not _is_integer(version):
        raise DecodeError(f"{name}: field 'v' must be an integer, found {_json_type(version)}",
                          record_type=name, field="v")
    if version not in SUPPORTED_VERSIONS:
        supported = ", ".join(map(str, sorted(SUPPORTED_VERSIONS)))
        raise DecodeError(f"{name}: unsupported version {version} (this build reads version {supported})",
                          record_type=name, field="v")


def _read_field(name: str, field: WireField, obj: dict[str, Any]) -> Any:
    if field.wire not in obj:
        if field.required or field.default is None:
            raise DecodeError(f"{name}: missing field '{field.wire}'", record_type=name, field=field.wire)
        return field.default()
    value = obj[field.wire]
    problem = _problem(field, value)
    if problem:
        raise DecodeError(f"{name}: {problem}", record_type=name, field=field.wire)
    # JSON does not tell 5 from 5.0 (nor does JSON Schema's "integer"): give Python the declared type.
    if field.kind == "number" and value is not None:
        return float(value)
    if field.kind == "integer" and value is not None:
        return int(value)
    return value


# ---------------------------------------------------------------- field checks (shared)


def _problem(field: WireField, value: Any) -> str | None:
    """What is wrong with ``value`` for ``field``, or None."""
    if value is None:
        return None if field.nullable else f"field '{field.wire}' must be {_EXPECTED[field.kind]}, found null"
    if not _has_kind(field.kind, value):
        expected = _EXPECTED[field.kind] + (" or null" if field.nullable else "")
        return f"field '{field.wire}' must be {expected}, found {_json_type(value)}"
    problem = _constraint_problem(field.constraints, value)
    if problem is None and field.wire == "taskToken":
        try:
            parse_task_token(value)
        except InvalidTaskToken as exc:
            problem = str(exc)
    return f"field '{field.wire}': {problem}" if problem else None


def _has_kind(kind: str, value: Any) -> bool:
    if kind == "any":
        return True
    if kind == "integer":
        return _is_integer(value)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    return isinstance(value, str)


def _constraint_problem(constraints: dict[str, Any], value: Any) -> str | None:
    if isinstance(value, str):
        if len(value) < constraints.get("minLength", 0):
            return "must not be empty"
        if len(value) > constraints.get("maxLength", len(value)):
            return f"is {len(value)} characters long (at most {constraints['maxLength']})"
        # The pattern (task tokens) is checked, with a better message, by parse_task_token.
    elif isinstance(value, int | float) and "minimum" in constraints and value < constraints["minimum"]:
        return f"must be at least {constraints['minimum']}, found {value}"
    return None


def _is_integer(value: Any) -> bool:
    if isinstance(value, float):
        return value.is_integer()  # 3.0 is an integer to JSON Schema too
    return isinstance(value, int) and not isinstance(value, bool)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({json.dumps(value)})"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({json.dumps(shown, ensure_ascii=False)})"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
