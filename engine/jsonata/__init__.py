"""JSONata for ``QueryLanguage: "JSONata"`` states, with AWS Step Functions' additions and limits.

* :func:`is_expression` tells a ``"{% expr %}"`` string from a literal.
* :func:`compile_expression` parses once (cached); :class:`JsonataSyntaxError` when it cannot.
* :func:`evaluate` evaluates one expression against ``$states`` and the workflow variables;
  :data:`UNDEFINED` stands for JSONata's "no value".
* :func:`evaluate_template` evaluates a whole field value (Arguments, Output, Assign, Items...).
* :func:`expression_problems` is the validator's static check.

Evaluation is pure: randomness comes from ``ctx.rng`` and ``$now()`` from the context object.
It is bounded in time, depth and size (:mod:`engine.jsonata.bounds`).
"""

from engine.jsonata.evaluation import (
    UNDEFINED,
    CompiledExpression,
    JsonataSyntaxError,
    compile_expression,
    evaluate,
    evaluate_template,
    expression_problems,
    expression_text,
    is_expression,
)

__all__ = [
    "UNDEFINED",
    "CompiledExpression",
    "JsonataSyntaxError",
    "compile_expression",
    "evaluate",
    "evaluate_template",
    "expression_problems",
    "expression_text",
    "is_expression",
]
