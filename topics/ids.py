"""Execution ids, names and public task tokens.

An execution id is an AWS-style execution ARN derived from the state machine and the execution
name, so starting the same name twice names the same execution (and lands on the same partition).
A public task token carries the execution id, so whoever answers a task (a worker in any
language) lets the client route the answer to the execution's partition without a lookup.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_REGION",
    "MAX_NAME_LENGTH",
    "MAX_TASK_TOKEN_LENGTH",
    "InvalidName",
    "InvalidTaskToken",
    "check_name",
    "execution_id_for",
    "new_execution_name",
    "parse_task_token",
    "public_task_token",
    "state_machine_name",
]

#: The same placeholders as ``engine.resources`` (kept equal by a unit test): ``topics`` must not
#: import the engine, and a client and a service that keep the defaults agree on every id.
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "111111111111"

#: AWS limits state machine and execution names to 80 characters.
MAX_NAME_LENGTH = 80
#: AWS's limit on a task token (SendTaskSuccess and friends accept at most 1024 characters).
MAX_TASK_TOKEN_LENGTH = 1024
_TOKEN_VERSION = 1

# AWS's rules for names: no whitespace, brackets, wildcards, special characters or controls.
# ':' and '#' matter to us too: ':' separates ARN parts and '#' separates ids from suffixes.
_FORBIDDEN_IN_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")
_STATE_MACHINE_ARN = re.compile(
    r"^arn:(?P<partition>aws[\w-]*):states:(?P<region>[a-z0-9-]+):(?P<account>\d{12})"
    r":stateMachine:(?P<name>[^:]+)(?::[^:]+)?$"
)
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")


class InvalidName(ValueError):
    """A state machine or execution name that AWS would refuse."""


class InvalidTaskToken(ValueError):
    """A task token that stepstream did not issue (or that was damaged on the way)."""


def check_name(name: str, what: str = "execution name") -> str:
    """``name`` if it is a valid AWS name (1 to 80 characters, none of the forbidden ones)."""
    if not isinstance(name, str) or not name:
        raise InvalidName(f"the {what} must be a non-empty string")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidName(f"the {what} {name[:20]!r}... is {len(name)} characters long (at most {MAX_NAME_LENGTH})")
    bad = _FORBIDDEN_IN_NAME.search(name)
    if bad:
        raise InvalidName(f"the {what} {name!r} contains the forbidden character {bad.group()!r}")
    return name


def new_execution_name() -> str:
    """A fresh execution name for a start without one (a random UUID, as AWS does)."""
    return str(uuid.uuid4())


def execution_id_for(state_machine: str, name: str, *, region: str = DEFAULT_REGION,
                     account: str = DEFAULT_ACCOUNT) -> str:
    """The execution ARN of execution ``name`` of ``state_machine``.

    ``state_machine`` is a state machine ARN (``arn:aws:states:REGION:ACCOUNT:stateMachine:NAME``,
    optionally with a version or alias qualifier, whose region and account win) or a bare name.
    The result is ``arn:aws:states:REGION:ACCOUNT:execution:NAME:EXECUTION_NAME``, as AWS names it.
    """
    check_name(name)
    match = _STATE_MACHINE_ARN.match(state_machine) if isinstance(state_machine, str) else None
    if match:
        partition, region, account = match["partition"], match["region"], match["account"]
        machine = check_name(match["name"], "state machine name")
    else:
        partition = "aws"
        machine = check_name(state_machine, "state machine name (or ARN)")
    return f"arn:{partition}:states:{region}:{account}:execution:{machine}:{name}"


def state_machine_name(state_machine: str) -> str:
    """The name in a state machine ARN (without a version or alias qualifier), or ``state_machine`` itself."""
    match = _STATE_MACHINE_ARN.match(state_machine)
    return match["name"] if match else state_machine


def public_task_token(execution_id: str, engine_token: str) -> str:
    """The task token workers see: base64url (no padding) of ``{"v":1,"e":execution_id,"t":engine_token}``."""
    if not execution_id or not engine_token:
        raise ValueError("a task token needs a non-empty execution id and engine token")
    body = json.dumps({"v": _TOKEN_VERSION, "e": execution_id, "t": engine_token},
                      separators=(",", ":"), ensure_ascii=False)
    token = base64.urlsafe_b64encode(body.encode()).rstrip(b"=").decode("ascii")
    if len(token) > MAX_TASK_TOKEN_LENGTH:
        raise ValueError(f"the task token would be {len(token)} characters long (at most {MAX_TASK_TOKEN_LENGTH})")
    return token


def parse_task_token(token: str) -> tuple[str, str]:
    """``(execution_id, engine_token)`` of a public task token.

    Raises:
        InvalidTaskToken: saying what is wrong (not a string, too long, not base64url, not the
            expected JSON, unsupported version, missing part).
    """
    if not isinstance(token, str):
        raise InvalidTaskToken(f"malformed task token: expected a string, found {type(token).__name__}")
    if not token:
        raise InvalidTaskToken("malformed task token: empty")
    if len(token) > MAX_TASK_TOKEN_LENGTH:
        raise InvalidTaskToken(f"malformed task token: {len(token)} characters long (at most {MAX_TASK_TOKEN_LENGTH})")
    body = _token_body(token)
    version = body.get("v")
    if version != _TOKEN_VERSION:
        raise InvalidTaskToken(f"malformed task token: unsupported version {version!r} (expected {_TOKEN_VERSION})")
    execution_id, engine_token = body.get("e"), body.get("t")
    if not isinstance(execution_id, str) or not execution_id:
        raise InvalidTaskToken("malformed task token: no execution id")
    if not isinstance(engine_token, str) or not engine_token:
        raise InvalidTaskToken("malformed task token: no engine token")
    return execution_id, engine_token


def _token_body(token: str) -> dict[str, object]:
    if not _BASE64URL.match(token) or len(token) % 4 == 1:
        raise InvalidTaskToken("malformed task token: not base64url (unpadded)")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw.decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidTaskToken("malformed task token: its content is not the expected JSON") from None
    if not isinstance(body, dict):
        raise InvalidTaskToken("malformed task token: its content is not a JSON object")
    return body
