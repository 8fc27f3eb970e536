"""Time as the engine handles it: POSIX seconds in, ISO-8601 strings out (AWS's format)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(seconds: float) -> str:
    """Format POSIX seconds the way AWS writes times in the context object (millisecond precision)."""
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> float | None:
    """Parse an RFC 3339 timestamp with a 'T' and a zone designator; None when it is not one."""
    if not isinstance(text, str) or "T" not in text:
        return None
    value = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.timestamp()
