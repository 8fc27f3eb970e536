"""Java behaviours AWS's intrinsic functions show, reproduced exactly.

AWS evaluates intrinsics in Java: numbers are rounded with ``Math.round`` (half up, so -2.5 -> -2),
doubles print as ``Double.toString`` does (``1.0E20``), ``States.Format`` prints objects and arrays
with ``Map.toString``/``List.toString`` (``{a=1, b=[x, y]}``), and a seeded random generator is
``java.util.Random``.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

_MASK_48 = (1 << 48) - 1
_MULTIPLIER = 0x5DEECE66D


def is_number(value: Any) -> bool:
    """A JSON number (Python's bool is an int, but true is not a number in JSON)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def java_round(value: int | float) -> int:
    """``Math.round``: the closest integer, ties towards positive infinity."""
    if isinstance(value, int):
        return value
    if not math.isfinite(value):
        raise ValueError(f"cannot round {value}")
    floor = math.floor(value)
    # value - floor is exact for doubles, so this avoids the floor(x + 0.5) error at 0.49999999999999994.
    return floor + 1 if value - floor >= 0.5 else floor


def double_to_string(value: float) -> str:
    """``Double.toString``: plain notation in [1e-3, 1e7), else ``d.dddE±n``."""
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if 1e-3 <= abs(value) < 1e7:
        text = format(Decimal(repr(value)), "f")
        return text if "." in text else text + ".0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    mantissa = "".join(map(str, digits))
    power = exponent + len(mantissa) - 1
    return f"{'-' if sign else ''}{mantissa[0]}.{mantissa[1:] or '0'}E{power}"


def to_display(value: Any) -> str:
    """How ``States.Format`` prints a value: strings raw, containers like Java collections."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={to_display(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(to_display(item) for item in value) + "]"
    return scalar_json(value)


def scalar_json(value: Any) -> str:
    if isinstance(value, float):
        return double_to_string(value)
    return json.dumps(value, ensure_ascii=False)


def to_json(value: Any) -> str:
    """Compact JSON as Jackson writes it (doubles in Java notation)."""
    if isinstance(value, dict):
        items = (f"{json.dumps(key, ensure_ascii=False)}:{to_json(item)}" for key, item in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(to_json(item) for item in value) + "]"
    return scalar_json(value)


class JavaRandom:
    """``java.util.Random``: the same seed gives the same numbers as on the JVM."""

    def __init__(self, seed: int) -> None:
        self._seed = (seed ^ _MULTIPLIER) & _MASK_48

    def _next(self, bits: int) -> int:
        self._seed = (self._seed * _MULTIPLIER + 0xB) & _MASK_48
        return self._seed >> (48 - bits)

    def next_int(self, bound: int) -> int:
        """A uniform integer in [0, bound), exactly as ``Random.nextInt(bound)``."""
        if bound <= 0:
            raise ValueError("bound must be positive")
        if bound & -bound == bound:
            return (bound * self._next(31)) >> 31
        while True:
            bits = self._next(31)
            value = bits % bound
            if bits - value + (bound - 1) < 1 << 31:  # Java's int overflow test, without overflow
                return value
