"""Task resources: which handler a Task calls, and AWS Lambda's input, result and error shapes.

Definitions written for AWS run unchanged: a Lambda function ARN, or the
``arn:aws:states:::lambda:invoke`` integration with ``FunctionName``, calls the handler
registered under the function's name, with the payload and result shapes Lambda has. Any other
resource string (an activity ARN, ``my.handler``) names a handler directly. This module is
pure; the local runner and the service's task workers share it.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import Any

from engine.errors import StatesError, StatesFailure

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"

#: Where ARNs built by stepstream say they live. Placeholders in the style of AWS's own
#: documentation; the service and the local runner take the real values as settings.
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "111111111111"
_LAMBDA_ARN = re.compile(r"^arn:aws[\w-]*:lambda:([\w-]+):(\d+):function:([\w.-]+)(?::([\w$-]+))?$")
_CALLBACK_SUFFIX = ".waitForTaskToken"
_SYNC_SUFFIXES = (".sync:2", ".sync")


@dataclass(frozen=True)
class Invocation:
    """How a Task calls its handler.

    Attributes:
        kind: "lambda" (function ARN), "lambda_invoke" (the integration) or "handler".
        handler: the name the handler is registered under.
        payload: what the handler receives.
        function_arn: the Lambda function's ARN, for Lambda kinds.
        wait_for_callback: the ``.waitForTaskToken`` pattern.
    """

    kind: str
    handler: str
    payload: Any
    function_arn: str | None = None
    wait_for_callback: bool = False

    @property
    def is_lambda(self) -> bool:
        return self.kind != "handler"

    @property
    def history_prefix(self) -> str:
        """AWS names a direct Lambda task's history events LambdaFunction*, others Task*."""
        return "LambdaFunction" if self.kind == "lambda" else "Task"


def resolve(resource: str, task_input: Any) -> Invocation:
    """The invocation of ``resource`` with the task's effective input."""
    base, callback = _strip_suffix(resource)
    match = _LAMBDA_ARN.match(base)
    if match:
        return Invocation("lambda", match.group(3), task_input, base, callback)
    if base == LAMBDA_INVOKE:
        params = task_input if isinstance(task_input, dict) else {}
        name = str(params.get("FunctionName", ""))
        return Invocation("lambda_invoke", function_name(name), _lambda_payload(params.get("Payload")),
                          function_arn(name), callback)
    return Invocation("handler", base, task_input, None, callback)


def function_name(name_or_arn: str) -> str:
    match = _LAMBDA_ARN.match(name_or_arn)
    return match.group(3) if match else name_or_arn


def function_arn(name_or_arn: str) -> str:
    if _LAMBDA_ARN.match(name_or_arn):
        return name_or_arn
    return f"arn:aws:lambda:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:function:{name_or_arn}"


def shape_result(invocation: Invocation, result: Any) -> Any:
    """The task result AWS reports for a handler's return value."""
    if invocation.kind != "lambda_invoke":
        return result
    return {
        "ExecutedVersion": "$LATEST",
        "Payload": result,
        "SdkHttpMetadata": {"HttpStatusCode": 200},
        "SdkResponseMetadata": {},
        "StatusCode": 200,
    }


def shape_error(invocation: Invocation, error: str | None, cause: str | None) -> tuple[str, str | None]:
    """AWS's error name and cause for a failed handler.

    The lambda:invoke integration re-serialises a function error's JSON compactly; a direct
    Lambda task passes the function's error text through verbatim.
    """
    name = error or StatesError.TASK_FAILED
    if invocation.kind == "lambda_invoke" and cause:
        with contextlib.suppress(ValueError):
            cause = json.dumps(json.loads(cause), separators=(",", ":"), ensure_ascii=False)
    return name, cause


def function_not_found(invocation: Invocation) -> StatesFailure:
    """The failure AWS reports for a Lambda function that does not exist."""
    arn = invocation.function_arn or function_arn(invocation.handler)
    return StatesFailure(
        "Lambda.ResourceNotFoundException",
        f"Function not found: {arn}:$LATEST (Service: AWSLambda; Status Code: 404; Error Code: "
        "ResourceNotFoundException; Request ID: 00000000-0000-0000-0000-000000000000; Proxy: null)",
    )


def data_limit_owner(invocation: Invocation) -> str:
    """The name AWS puts in a DataLimitExceeded cause for an oversized result."""
    if invocation.kind == "lambda_invoke":
        return "lambda"
    return invocation.function_arn or invocation.handler


def _strip_suffix(resource: str) -> tuple[str, bool]:
    if resource.endswith(_CALLBACK_SUFFIX):
        return resource[: -len(_CALLBACK_SUFFIX)], True
    for suffix in _SYNC_SUFFIXES:
        if resource.endswith(suffix):
            return resource[: -len(suffix)], False
    return resource, False


def _lambda_payload(payload: Any) -> Any:
    # A null Payload reaches the function as {}; a string is sent as the raw request body,
    # so text that is JSON arrives decoded ("0.0" reaches the function as 0.0).
    if payload is None:
        return {}
    if isinstance(payload, str):
        try:
            return json.loads(payload)
        except ValueError:
            return payload
    return payload
