"""Canonical JSON (RFC 8785, the JSON Canonicalization Scheme) for correlation keys.

A message and a subscription meet only if their record keys are byte-for-byte equal, and the key
is also what Kafka hashes to choose the partition. So the JSON of a correlation value must be
written the same way by every producer, in any language: RFC 8785 is a published standard with
libraries for Java, Go, JavaScript, .NET and Python. It differs from ``json.dumps(sort_keys=True)``
only where that would be ambiguous: numbers are written as ECMAScript writes them (``42.0`` and
``42`` are the same JSON number, so they give the same key), non-ASCII text is written as UTF-8
instead of ``\\uXXXX`` escapes, and object keys are sorted by UTF-16 code units.

One deliberate extension: integers beyond +/-2**53 are written with all their digits (RFC 8785
would round them to the nearest IEEE double), so two distinct big integers never share a key.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

__all__ = ["canonical_json", "correlation_record_key"]

# A lone surrogate cannot be encoded as UTF-8; ECMAScript escapes it, so do we.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def canonical_json(value: Any) -> str:
    """The RFC 8785 serialization of ``value`` (dict, list/tuple, str, int, float, bool or None).

    Raises:
        ValueError: NaN or an infinity (not JSON).
        TypeError: a value JSON cannot represent (a set, bytes, a dict key that is not a string...).
    """
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def correlation_record_key(key: str, value: Any) -> bytes:
    """The Kafka record key of the messages topic for correlation ``key`` and ``value``.

    The UTF-8 bytes of the canonical JSON of the two-element array ``[key, value]``. Values compare
    as typed JSON: the string ``"123"`` and the number ``123`` give different keys; ``42`` and
    ``42.0`` give the same key.
    """
    if not isinstance(key, str) or not key:
        raise ValueError("a correlation key must be a non-empty string")
    return canonical_json([key, value]).encode()


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, int):
        out.append(_integer(value))
    elif isinstance(value, float):
        out.append(_number(value))
    elif isinstance(value, dict):
        _write_object(value, out)
    elif isinstance(value, list | tuple):
        _write_array(value, out)
    else:
        raise TypeError(f"a {type(value).__name__} is not a JSON value")


def _write_object(value: dict[Any, Any], out: list[str]) -> None:
    for key in value:
        if not isinstance(key, str):
            raise TypeError(f"JSON object keys must be strings, found {type(key).__name__} {key!r}")
    out.append("{")
    # RFC 8785 sorts by UTF-16 code units: big-endian UTF-16 bytes compare in that order.
    for index, key in enumerate(sorted(value, key=lambda k: k.encode("utf-16-be", "surrogatepass"))):
        if index:
            out.append(",")
        out.append(_string(key))
        out.append(":")
        _write(value[key], out)
    out.append("}")


def _write_array(value: list[Any] | tuple[Any, ...], out: list[str]) -> None:
    out.append("[")
    for index, item in enumerate(value):
        if index:
            out.append(",")
        _write(item, out)
    out.append("]")


def _string(value: str) -> str:
    # json.dumps(ensure_ascii=False) escapes exactly what ECMAScript's JSON.stringify escapes
    # (quote, backslash, \b \f \n \r \t, other controls as lowercase \u00xx).
    text = json.dumps(value, ensure_ascii=False)
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _integer(value: int) -> str:
    # Within +/-2**53 this is what RFC 8785 writes; beyond, the exact digits (see the module docstring).
    return str(value)


def _number(value: float) -> str:
    """ECMAScript's Number::toString, from Python's shortest round-trip digits."""
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{value} is not a JSON number")
    if value == 0:
        return "0"  # also -0.0
    sign = "-" if value < 0 else ""
    digits_tuple, exponent = _shortest_digits(abs(value))
    digits = "".join(map(str, digits_tuple))
    k = len(digits)
    n = exponent + k  # value = 0.<digits> * 10**n
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return f"{sign}{digits[:n]}.{digits[n:]}"
    if -6 < n <= 0:
        return f"{sign}0.{'0' * -n}{digits}"
    power = n - 1
    mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{sign}{mantissa}e{'+' if power >= 0 else '-'}{abs(power)}"


def _shortest_digits(value: float) -> tuple[tuple[int, ...], int]:
    """Digits and exponent of the shortest decimal that round-trips to ``value`` (no trailing zeros)."""
    decimal = Decimal(repr(value)).as_tuple()
    digits, exponent = tuple(decimal.digits), int(decimal.exponent)
    while len(digits) > 1 and digits[-1] == 0:
        digits, exponent = digits[:-1], exponent + 1
    return digits, exponent
