"""Value conversions shared by the stores: canonical JSON for correlation values, hashes, times."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from streams.store.errors import StoreError


def canonical_json(value: Any) -> str:
    """The text that makes two JSON values equal exactly when they are the same typed value.

    Keys are sorted and whitespace dropped, and an integral float is written as an integer
    (JSON has one number type, so ``1.0`` and ``1`` are the same), but ``"123"`` stays a
    string distinct from ``123``, and ``true`` stays distinct from ``1``.
    """
    try:
        return json.dumps(_normalise(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"not a JSON value: {exc}") from exc


def _normalise(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _normalise(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(item) for item in value]
    return value


def definition_hash(definition: Any) -> str:
    """A stable digest of a definition, so redeploying the same one is recognised."""
    return hashlib.sha256(canonical_json(definition).encode()).hexdigest()


def json_copy(value: Any) -> Any:
    """A deep copy through JSON: what a value looks like after a trip through a jsonb column."""
    return json.loads(json.dumps(value, allow_nan=False))


def to_datetime(seconds: float) -> datetime:
    """POSIX seconds to an aware UTC datetime (microsecond resolution, like timestamptz)."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def to_microseconds(seconds: float) -> float:
    """What a time reads back as after a trip through a timestamptz column."""
    return to_datetime(seconds).timestamp()


def from_datetime(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()
