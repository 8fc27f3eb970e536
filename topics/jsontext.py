"""Compact JSON text, fast: orjson when it can, the standard library when it cannot.

Serialising JSON is a large share of a worker's CPU (every history event goes to Postgres and to
the events topic), and orjson is about 18x faster than ``json.dumps`` here. The standard library
stays the fallback for what orjson refuses (integers beyond 64 bits, lone surrogates), and NaN or
infinities are refused in both paths, because JSON has no such values (orjson would write null).
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON of ``value``.

    Raises:
        TypeError: the value is not JSON (a set, an object...).
        ValueError: it holds NaN or an infinity.
    """
    try:
        data = orjson.dumps(value)
    except TypeError:
        text = json.dumps(value, allow_nan=False, separators=(",", ":"), ensure_ascii=False)
        try:
            return text.encode()
        except UnicodeEncodeError:  # a lone surrogate has no UTF-8 form: escape it
            return json.dumps(value, allow_nan=False, separators=(",", ":")).encode()
    if b"null" in data and _non_finite(value):
        raise ValueError("NaN and infinities are not JSON values")
    return data


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_non_finite(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_non_finite(item) for item in value)
    return False
