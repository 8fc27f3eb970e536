"""Value conversions shared by the stores: canonical JSON for correlation values, hashes, times."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from streams.store.errors import StoreError
from topics import jsontext
from topics.canonical import canonical_json as wire_canonical_json


def canonical_json(value: Any) -> str:
    """The text that makes two JSON values equal exactly when they are the same typed value.

    The RFC 8785 form the wire contract uses for correlation record keys
    (:func:`topics.canonical.canonical_json`), so the store matches exactly what Kafka
    partitions by: ``"123"`` is not ``123``, ``true`` is not ``1``, but ``42.0`` is ``42``.
    """
    try:
        return wire_canonical_json(value)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"not a JSON value: {exc}") from exc


def definition_hash(definition: Any) -> str:
    """A stable digest of a definition, so redeploying the same one is recognised."""
    return hashlib.sha256(canonical_json(definition).encode()).hexdigest()


# A JSON-escaped NUL: "\u0000" preceded by an even number of backslashes (an odd run would escape the "u").
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def dump_json(value: Any) -> str:
    """JSON text for a jsonb column, refusing what Postgres would refuse, with a clear message.

    Raises TypeError for a value JSON cannot represent, ValueError for NaN or an infinity, and
    StoreError for a string holding the NUL character (jsonb cannot store ``\\u0000``).
    """
    text = jsontext.dumps(value).decode()
    if "\\u0000" in text and _ESCAPED_NUL.search(text):
        raise StoreError("a JSON string contains the NUL character (\\u0000), which Postgres cannot store")
    return text


def json_copy(value: Any) -> Any:
    """A deep copy through JSON: what a value looks like after a trip through a jsonb column."""
    return json.loads(dump_json(value))


def to_datetime(seconds: float) -> datetime:
    """POSIX seconds to an aware UTC datetime (microsecond resolution, like timestamptz)."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def to_microseconds(seconds: float) -> float:
    """What a time reads back as after a trip through a timestamptz column."""
    return to_datetime(seconds).timestamp()


def from_datetime(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()
