"""The intrinsic functions of JSONPath states, as a registry {name: Function}.

Each function receives its evaluated arguments, the evaluation context (for ``ctx.rng``) and
the argument nodes (``States.Format`` needs to know which ``{}`` of a literal were escaped).
Arity is checked when the call is parsed; types and values when it runs. A bad argument fails
the state with ``States.IntrinsicFailure``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.context import EvalContext
from engine.errors import EvaluationError, StatesError
from engine.intrinsics.java import JavaRandom, is_number, java_round, to_display, to_json

#: AWS's limits on the inputs of States.ArrayRange, encoding and hashing.
MAX_RANGE_ITEMS = 1000
MAX_STRING_CHARS = 10000
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}
_ORDINALS = ("first", "second", "third")
_KINDS: dict[type, str] = {str: "string", list: "array", dict: "object"}

Impl = Callable[[list[Any], EvalContext, tuple[Any, ...]], Any]


@dataclass(frozen=True)
class Function:
    """An intrinsic: its name, how many arguments it takes (max None: any number) and its code."""

    name: str
    min_args: int
    max_args: int | None
    impl: Impl


def failure(name: str, reason: str) -> EvaluationError:
    return EvaluationError(StatesError.INTRINSIC_FAILURE, f"Invalid arguments in {name}: {reason}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if is_number(value):
        return "number"
    return _KINDS.get(type(value), type(value).__name__)


def _expect(name: str, args: list[Any], index: int, kind: str) -> Any:
    value = args[index]
    if _kind(value) != kind:
        raise failure(name, f"the {_ORDINALS[index]} argument must be a JSON {kind}, but was {_kind(value)}")
    return value


def _integer(name: str, args: list[Any], index: int) -> int:
    # AWS rounds non-integer numbers to the nearest integer (Java Math.round) where integers are due.
    return java_round(_expect(name, args, index, "number"))


def _canonical(value: Any) -> str:
    # Equality as Java's collections see it: key order does not matter, 1 and 1.0 differ.
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_canonical(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_canonical(item) for item in value) + "]"
    return f"{type(value).__name__}:{json.dumps(value)}"


# ---------------------------------------------------------------- generic and JSON


def _format(args: list[Any], ctx: EvalContext, nodes: tuple[Any, ...]) -> str:
    template = _expect("States.Format", args, 0, "string")
    # A literal template knows its escaped braces; a template read from a path splits on every {}.
    parts = getattr(nodes[0], "template_parts", None) or tuple(template.split("{}"))
    values = args[1:]
    if len(parts) - 1 != len(values):
        raise failure("States.Format", f"the format string has {len(parts) - 1} placeholder(s) "
                      f"but {len(values)} argument(s) were given")
    pieces = [parts[0]]
    for value, part in zip(values, parts[1:], strict=True):
        pieces += [to_display(value), part]
    return "".join(pieces)


def _string_to_json(args: list[Any], ctx: EvalContext, nodes: tuple[Any, ...]) -> Any:
    text = _expect("States.StringToJson", args, 0, "string")
    if not text.strip():
        return None  # AWS: an empty or blank string parses to null
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise failure("States.StringToJson", f"the argument is not valid JSON text ({exc})") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python accepts NaN/Infinity, Jackson does not


def _json_to_string(args: list[Any], ctx: EvalContext, nodes: tuple[Any, ...]) -> str:
    return to_json(args[0])


def _json_merge(args: list[Any], ctx: EvalContext, nodes: tuple[Any, ...]) -> dict[str, Any]:
    left = _expect("States.JsonMerge", args, 0, "object")
    right = _expect("States.JsonMerge", args, 1, "object")
    if _expect("States.JsonMerge", args, 2, "boolean"):
        raise failure("States.JsonMerge", "deep merging is not supported; the third argument must be false")
    return {**left, **right}


# ---------------------------------------------------------------- arrays


def _array(args: list[Any], ctx: EvalContext, nodes: tuple[Any, ...]) -> list[Any]:
    return list(args)


def _array_partition(args: list[Any], ctx: EvalContext, nodes: tuple[Any, ...]) -> list[list[Any]]:
    items = _expect("States.ArrayPartition", args, 0, "array")
    size = _integer("States.ArrayPartition", args, 1)
    if size <= 0:
        raise failure("States.ArrayPartition", f"the chunk size must be a positive integer, but was {size}")
    return [items[start:start + size] for start in range(0, len(items), size)]


def _array_contains(args: list[Any], ctx: EvalContext, nodes: tuple[Any, ...]) -> bool:
    items = _expect("States.ArrayContains", args, 0, "array")
    wanted = _canonical(args[1])
    return any(_canonical(item) == wanted for item in items)


def _array_range(args: list[Any], ctx: EvalContext, nodes: tuple[Any, ...]) -> list[int]:
    start, end, step = (_integer("States.ArrayRange", args, i) for i in range(3))
    if step == 0:
        raise failure("States.ArrayRange", "the step (third argument) must not be 0")
    count = max(0, (end - start) // step + 1)
    if count > MAX_RANGE_ITEMS:
        raise failure("States.ArrayRange", f"the range has {count} items, more than {MAX_RANGE_ITEMS}")
    return [start + i * step for i in range(count)]


def _array_get_item(args: list[Any], ctx: EvalContext, nodes: tuple[Any, ...]) -> Any:
    items = _expect("States.ArrayGetItem", args, 0, "array")
    index = _integer("States.ArrayGetItem", args, 1)
    if not 0 <= index < len(items):
        raise failure("States.ArrayGetItem", f"the index {index} is out of bounds (length {len(items)})")
    return items[index]


def _array_length(args: list[Any], ctx: EvalContext, nodes: tuple[Any, ...]) -> int:
    return len(_expect("States.ArrayLength", args, 0, "array"))


def _array_unique(args: list[Any], ctx: EvalContext, nodes: tuple[Any, ...]) -> list[Any]:
    seen: dict[str, Any] = {}
    for item in _expect("States.ArrayUnique", args, 0, "array"):
        seen.setdefault(_canonical(item), item)  # keeps the first occurrence, in order
    return list(seen.values())


# ---------------------------------------------------------------- encoding, hashing


def _limited_string(name: str, args: list[Any], index: int) -> str:
    text: str = _expect(name, args, index, "string")
    if len(text) > MAX_STRING_CHARS:
        raise failure(name, f"the input string has {len(text)} characters, more than {MAX_STRING_CHARS}")
    return text


def _base64_encode(args: list[Any], ctx: EvalContext, nodes: tuple[Any, ...]) -> str:
    return base64.b64encode(_limited_string("States.Base64Encode", args, 0).encode()).decode("ascii")


def _base64_decode(args: list[Any], ctx: EvalContext, nodes: tuple[Any, ...]) -> str:
    text = _limited_string("States.Base64Decode", args, 0)
    try:
        # Java's decoder accepts input without its trailing '=' padding.
        raw = base64.b64decode((text + "=" * (-len(text) % 4)).encode(), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise failure("States.Base64Decode", "the argument is not valid base64 text") from None
    return raw.decode("utf-8", errors="replace")  # as Java's new String(bytes, UTF_8)


def _hash(args: list[Any], ctx: EvalContext, nodes: tuple[Any, ...]) -> str:
    data = _limited_string("States.Hash", args, 0)
    algorithm = _expect("States.Hash", args, 1, "string")
    if algorithm not in _HASHES:
        raise failure("States.Hash", f"the hashing algorithm must be one of {', '.join(_HASHES)}, "
                      f"but was '{algorithm}'")
    return hashlib.new(_HASHES[algorithm], data.encode()).hexdigest()


# ---------------------------------------------------------------- math, strings, ids


def _math_random(args: list[Any], ctx: EvalContext, nodes: tuple[Any, ...]) -> int:
    start = _integer("States.MathRandom", args, 0)
    end = _integer("States.MathRandom", args, 1)
    if start >= end:
        raise failure("States.MathRandom", f"the start ({start}) must be less than the end ({end})")
    if len(args) == 3:  # a seeded call is reproducible, as with java.util.Random
        return start + JavaRandom(_integer("States.MathRandom", args, 2)).next_int(end - start)
    return ctx.rng.randrange(start, end)  # start inclusive, end exclusive


def _math_add(args: list[Any], ctx: EvalContext, nodes: tuple[Any, ...]) -> int:
    # Each operand is rounded first (recorded: MathAdd(-0.5, 0.5) is 1, MathAdd(1.49, 1.5) is 3).
    left, right = _integer("States.MathAdd", args, 0), _integer("States.MathAdd", args, 1)
    for value in (left, right):
        if not _INT_MIN <= value <= _INT_MAX:
            raise failure("States.MathAdd", f"{value} is outside the integer range [{_INT_MIN}, {_INT_MAX}]")
    return left + right


def _string_split(args: list[Any], ctx: EvalContext, nodes: tuple[Any, ...]) -> list[str]:
    text = _expect("States.StringSplit", args, 0, "string")
    delimiters = set(_expect("States.StringSplit", args, 1, "string"))
    # Like java.util.StringTokenizer: every character of the delimiter splits, empty tokens vanish.
    tokens: list[str] = []
    current: list[str] = []
    for char in text:
        if char in delimiters:
            if current:
                tokens.append("".join(current))
            current = []
        else:
            current.append(char)
    if current:
        tokens.append("".join(current))
    return tokens


def _uuid(args: list[Any], ctx: EvalContext, nodes: tuple[Any, ...]) -> str:
    return str(uuid.UUID(int=ctx.rng.getrandbits(128), version=4))


FUNCTIONS: dict[str, Function] = {
    fn.name: fn
    for fn in (
        Function("States.Format", 1, None, _format),
        Function("States.StringToJson", 1, 1, _string_to_json),
        Function("States.JsonToString", 1, 1, _json_to_string),
        Function("States.Array", 0, None, _array),
        Function("States.ArrayPartition", 2, 2, _array_partition),
        Function("States.ArrayContains", 2, 2, _array_contains),
        Function("States.ArrayRange", 3, 3, _array_range),
        Function("States.ArrayGetItem", 2, 2, _array_get_item),
        Function("States.ArrayLength", 1, 1, _array_length),
        Function("States.ArrayUnique", 1, 1, _array_unique),
        Function("States.Base64Encode", 1, 1, _base64_encode),
        Function("States.Base64Decode", 1, 1, _base64_decode),
        Function("States.Hash", 2, 2, _hash),
        Function("States.JsonMerge", 3, 3, _json_merge),
        Function("States.MathRandom", 2, 3, _math_random),
        Function("States.MathAdd", 2, 2, _math_add),
        Function("States.StringSplit", 2, 2, _string_split),
        Function("States.UUID", 0, 0, _uuid),
    )
}
