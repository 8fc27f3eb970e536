"""Intrinsic functions of JSONPath states (``States.Format(...)`` and friends).

``parse_intrinsic`` turns the text of a call into an :class:`IntrinsicCall` (cached); its
``evaluate(data, ctx)`` computes the value. ``FUNCTIONS`` is the registry of every function AWS
defines, with its arity.
"""

from engine.intrinsics.functions import FUNCTIONS, Function
from engine.intrinsics.parser import IntrinsicCall, IntrinsicSyntaxError, is_intrinsic, parse_intrinsic

__all__ = [
    "FUNCTIONS", "Function", "IntrinsicCall", "IntrinsicSyntaxError", "is_intrinsic", "parse_intrinsic",
]
