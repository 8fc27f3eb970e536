"""The functions AWS Step Functions adds to JSONata, as pure functions of their arguments.

``$partition``, ``$range``, ``$hash``, ``$random``, ``$uuid`` and ``$parse``. ``$now()`` and
``$millis()`` read the time the state was entered from the context object rather than the
clock, so a replayed evaluation answers the same. ``$eval``, which AWS disables, fails the way
a call of something that is not a function does.

The library hands JSONata's ``undefined`` and ``null`` over alike, as None; both mean "no value"
here, and a function given no value answers undefined, as JSONata's own functions do. A function
whose answer is undefined raises :class:`Undefined` (the library has no way to return it).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from engine.jsonata import bounds

#: AWS's algorithm names (case-sensitive) and hashlib's.
HASH_ALGORITHMS = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class FunctionError(Exception):
    """A function call failed; ``code`` is JSONata's error code when there is one."""

    def __init__(self, code: str | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def detail(self) -> str:
        """The text AWS puts after "threw an error during evaluation.": ``CODE: message``."""
        return f"{self.code}: {self.message}" if self.code else self.message


class Undefined(Exception):  # noqa: N818 - a signal, not an error
    """The call evaluates to JSONata's ``undefined`` (no value)."""


def partition(array: Any = None, size: Any = None) -> list[list[Any]]:
    """``$partition(array, size)``: the array cut into chunks of ``size``; the last may be shorter.

    An empty array or a size below one gives no value (AWS answers undefined, not an error).
    """
    if array is None or size is None:
        raise Undefined
    items = array if isinstance(array, list) else [array]  # JSONata passes a lone value as [value]
    chunk = _integer(size, 2, "partition")
    if not items or chunk <= 0:
        raise Undefined
    return [items[i : i + chunk] for i in range(0, len(items), chunk)]


def range_(start: Any = None, end: Any = None, step: Any = None) -> Any:
    """``$range(start, end, step)``: ``start``, ``start+step``... up to ``end`` inclusive.

    A single value comes back bare, not in an array (as AWS answers). A zero step, a step
    pointing away from ``end``, or a missing argument gives no value.
    """
    if start is None or end is None or step is None:
        raise Undefined
    first, last, by = (_integer(value, index, "range") for index, value in enumerate((start, end, step), 1))
    if by == 0:
        raise Undefined
    count = bounds.range_length(first, last, by)
    if count == 0:
        raise Undefined
    if count > bounds.MAX_RANGE_ITEMS:
        # Refused before anything is allocated: $range(0, 1e9, 1) must end at once.
        limit = bounds.MAX_RANGE_ITEMS
        message = f"{bounds.MEMORY_LIMIT_MESSAGE} ($range of {count} values; the limit is {limit})"
        raise FunctionError(None, message)
    values = [first + i * by for i in range(count)]
    return values[0] if count == 1 else values


def hash_(value: Any = None, algorithm: Any = None) -> str:
    """``$hash(value, algorithm)``: the lowercase hex digest of a string's UTF-8 bytes."""
    if value is None or algorithm is None:
        raise Undefined
    if not isinstance(value, str):
        raise signature_error(1, "hash")
    name = HASH_ALGORITHMS.get(algorithm) if isinstance(algorithm, str) else None
    if name is None:
        supported = ", ".join(HASH_ALGORITHMS)
        refused = json.dumps(algorithm)
        raise FunctionError(None, f"The hash algorithm {refused} is not supported; use one of {supported}")
    return hashlib.new(name, value.encode("utf-8")).hexdigest()


def random_(rng: random.Random, seed: Any = None) -> float:
    """``$random()`` draws from the execution's random source; ``$random(seed)`` is repeatable."""
    if seed is None:
        return rng.random()
    return random.Random(_integer(seed, 1, "random")).random()


def uuid_(rng: random.Random) -> str:
    """``$uuid()``: a version 4 UUID drawn from the execution's random source."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def parse(text: Any = None) -> Any:
    """``$parse(json_text)``: the JSON value a string holds (AWS's replacement for ``$eval``)."""
    if text is None:
        raise Undefined
    if not isinstance(text, str):
        raise signature_error(1, "parse")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise FunctionError(None, f"Unable to parse the string as JSON: {exc}") from None


def eval_(*_args: Any) -> NoReturn:
    """``$eval``: AWS removes it, so calling it is calling something that is not a function."""
    raise FunctionError("T1006", "Attempted to invoke a non-function")


def entered_millis(context_object: dict[str, Any]) -> int:
    """Milliseconds since the epoch at which the state was entered, for ``$now()``/``$millis()``.

    Falls back to the execution's start, then to the epoch: never to the clock, which would
    make a replay answer differently.
    """
    for section, key in (("State", "EnteredTime"), ("Execution", "StartTime")):
        part = context_object.get(section)
        stamp = part.get(key) if isinstance(part, dict) else None
        if isinstance(stamp, str):
            millis = _iso_millis(stamp)
            if millis is not None:
                return millis
    return 0


def _iso_millis(stamp: str) -> int | None:
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _integer(value: Any, index: int, function: str) -> int:
    """A numeric argument as an integer, rounded towards zero (as AWS does)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise signature_error(index, function)
    return int(value)


def signature_error(index: int, function: str) -> FunctionError:
    """JSONata's error for an argument of the wrong type (or one too many)."""
    message = f'Argument {index} of function "{function}" does not match function signature'
    return FunctionError("T0410", message)


def _reject_constant(name: str) -> NoReturn:
    # Python's json accepts NaN and Infinity; JSON (and so AWS) does not.
    raise ValueError(f"{name} is not JSON")
