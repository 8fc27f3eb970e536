"""Limits on one JSONata evaluation, so that a hostile expression cannot stall or exhaust a worker.

The library enforces the time, depth and sequence limits inside its evaluator (its own checks,
in Rust, between evaluation steps); this module holds the numbers, the checks the library cannot
make for us (the size of a ``$range`` before it is allocated, the size of a result), and the
texts of the errors, each of which says which limit was exceeded.
"""

from __future__ import annotations

from typing import Final

#: Wall-clock budget of one evaluation, in milliseconds. Generous: the slowest legitimate
#: expression over a 256 KiB payload takes a few milliseconds.
TIME_LIMIT_MS: Final = 1000

#: Evaluation depth, in the library's units. 100 matches AWS closely: a non-tail-recursive
#: function nests about three levels per call, so ``$f(32)`` still fits, as it does on AWS.
MAX_DEPTH: Final = 100

#: Longest sequence an evaluation may build (a range, a mapped or filtered sequence).
MAX_SEQUENCE_LENGTH: Final = 1_000_000

#: Most elements ``$range`` may produce; it is checked before anything is allocated.
#: AWS is reported to accept ``$range(1, 360145, 1)`` and to refuse one element more.
MAX_RANGE_ITEMS: Final = 360_145

#: Largest result, measured as the length of its JSON text (the library hands results over as
#: JSON text, so this costs nothing). A state's payload is limited to 256 KiB anyway; this only
#: stops an expression from handing a huge value (a padded string...) to the interpreter.
MAX_RESULT_CHARS: Final = 8 * 1024 * 1024

#: The library's own error codes for its limits, with texts that name the limit exceeded.
LIMIT_MESSAGES: Final = {
    "D1011": f"Stack overflow: the evaluation depth limit of {MAX_DEPTH} was exceeded",
    "U1001": f"Stack overflow: the evaluation depth limit of {MAX_DEPTH} was exceeded",
    "D1012": f"Evaluation timeout: the time limit of {TIME_LIMIT_MS} milliseconds was exceeded",
    "D2014": "Range too large: the range operator (..) exceeded the sequence length limit",
    "D2015": f"Sequence too long: the sequence length limit of {MAX_SEQUENCE_LENGTH} was exceeded",
}

#: Text of a result (or ``$range``) over its size limit: AWS's own wording, which has no code.
MEMORY_LIMIT_MESSAGE: Final = "Expression evaluation memory limit exceeded"


def range_length(start: int, end: int, step: int) -> int:
    """How many values ``start, start+step, ...`` stay within ``end`` (inclusive); 0 if none."""
    if (step > 0 and start > end) or (step < 0 and start < end):
        return 0
    return (end - start) // step + 1


def result_too_large(json_text: str) -> bool:
    """True when a result's JSON text exceeds :data:`MAX_RESULT_CHARS`."""
    return len(json_text) > MAX_RESULT_CHARS
