"""The wire fields of every record: camelCase names, JSON types, descriptions and constraints.

One table feeds both the codec (which checks types and constraints when encoding and decoding)
and the published JSON Schemas, so the two cannot disagree. A field's JSON type and whether it
may be null or left out come from the dataclass annotation; its meaning and limits come from
:data:`GLOSSARY`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from topics.ids import MAX_NAME_LENGTH, MAX_TASK_TOKEN_LENGTH

__all__ = ["GLOSSARY", "WireField", "wire_fields", "wire_name"]

_NON_EMPTY: dict[str, Any] = {"minLength": 1}
_TOKEN: dict[str, Any] = {"minLength": 1, "maxLength": MAX_TASK_TOKEN_LENGTH, "pattern": "^[A-Za-z0-9_-]+$"}

#: wire name -> (description, JSON Schema keywords the codec also enforces).
GLOSSARY: dict[str, tuple[str, dict[str, Any]]] = {
    "stateMachine": ("State machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME[:QUALIFIER]) or name.",
                     _NON_EMPTY),
    "input": ("Execution input: any JSON value (at most 256 KiB as compact JSON).", {}),
    "executionName": ("Execution name (1-80 characters, AWS rules); the execution id is derived from it.",
                      {"minLength": 1, "maxLength": MAX_NAME_LENGTH}),
    "version": ("State machine version to run; null runs the latest.", {"minimum": 1}),
    "executionId": ("Execution ARN (arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME); the record key.",
                    _NON_EMPTY),
    "error": ("ASL error name, e.g. States.TaskFailed or a custom name.", {}),
    "cause": ("Human-readable cause of the error.", {}),
    "taskToken": ("Public task token: unpadded base64url of {\"v\":1,\"e\":executionId,\"t\":engineToken}.", _TOKEN),
    "output": ("Task result: any JSON value (at most 256 KiB as compact JSON).", {}),
    "sentAt": ("When the sender sent it (POSIX seconds, UTC).", {}),
    "timerId": ("Timer id, unique within the execution.", _NON_EMPTY),
    "fireAt": ("When the timer is due (POSIX seconds, UTC); it never fires earlier.", {}),
    "purpose": ("Why the timer exists: wait, task_timeout, heartbeat_timeout, message_timeout, "
                "execution_timeout, retry...", {}),
    "subscriptionId": ("Subscription id, unique within the execution.", _NON_EMPTY),
    "data": ("Message data: any JSON value (at most 256 KiB as compact JSON).", {}),
    "messageId": ("Message id: messages with the same id are one message (duplicates are dropped).", _NON_EMPTY),
    "eventId": ("History event number, from 1, in order within the execution.", {"minimum": 1}),
    "previousEventId": ("Number of the event this one follows from (0: none).", {"minimum": 0}),
    "eventType": ("History event type, e.g. ExecutionStarted, TaskScheduled, ExecutionSucceeded.", _NON_EMPTY),
    "timestamp": ("When it happened (POSIX seconds, UTC).", {}),
    "details": ("Event details, as in the AWS history (input, output, error, cause, resource...).", {}),
    "key": ("Record key of the original record (a dead letter's key is null if it had none).", {}),
    "reason": ("What is wrong, in words.", _NON_EMPTY),
    "commandType": ("Wire type of the rejected command, e.g. StopExecution.", _NON_EMPTY),
    "commandId": ("De-duplication id of the rejected command (empty if it could not be decoded).", {}),
    "resource": ("The Task state's Resource, e.g. arn:aws:states:::lambda:invoke or an activity ARN.", _NON_EMPTY),
    "handler": ("Name the handler is registered under (the Lambda function name, else the resource).", _NON_EMPTY),
    "payload": ("What the handler receives: any JSON value.", {}),
    "state": ("Name of the Task state.", {}),
    "heartbeatSeconds": ("Send a heartbeat at least this often, or the task fails with States.HeartbeatTimeout.",
                         {"minimum": 1}),
    "waitForCallback": ("The .waitForTaskToken pattern: the task ends when someone reports on the token.", {}),
    "correlationKey": ("Correlation key, as in the Message state's CorrelationKey.", _NON_EMPTY),
    "correlationValue": ("Correlation value: any JSON value, compared as typed JSON (\"123\" is not 123).", {}),
    "ttlSeconds": ("Keep the message this long if no execution waits yet; null: not kept.", {"minimum": 0}),
    "singleConsumer": ("Resume only one waiting execution (the oldest subscription) instead of all.", {}),
    "createdAt": ("When the execution started waiting (POSIX seconds, UTC).", {}),
    "topic": ("Topic the record was read from.", _NON_EMPTY),
    "partition": ("Partition the record was read from.", {"minimum": 0}),
    "offset": ("Offset of the record in its partition.", {"minimum": 0}),
    "parentExecutionId": ("For a child execution of a distributed Map: the parent execution's id.", {}),
    "rootScope": ("For a child execution: JSON pointer of the ItemProcessor it runs, e.g. /States/Fan/ItemProcessor.",
                  {}),
    "childExecutionId": ("The child execution (a distributed Map iteration) that ended.", _NON_EMPTY),
    "status": ("How the child execution ended: SUCCEEDED, FAILED, TIMED_OUT or ABORTED.", _NON_EMPTY),
    "payloadText": ("The record's value as text (invalid UTF-8 replaced), or null if it had none.", {}),
}

#: Python names whose camelCase would clash with the envelope's own "type".
_RENAMED = {"type": "eventType"}

_KINDS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object"}


@dataclass(frozen=True)
class WireField:
    """One field of a record type on the wire."""

    name: str  # Python attribute
    wire: str  # JSON member
    kind: str  # string, integer, number, boolean, object or any
    nullable: bool
    required: bool  # must be present on the wire
    default: Callable[[], Any] | None  # makes the value of an absent optional field
    description: str
    constraints: dict[str, Any]


def wire_name(name: str) -> str:
    """The camelCase wire name of a Python field name."""
    if name in _RENAMED:
        return _RENAMED[name]
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def wire_fields(cls: type) -> tuple[WireField, ...]:
    """The wire fields of record type ``cls``, in declaration order."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        kind, nullable = _kind(hints[f.name])
        wire = wire_name(f.name)
        description, constraints = GLOSSARY[wire]
        default = _default(f)
        if default is None and nullable and kind != "any":
            # An optional field (``X | None``) may be left out: it means null. A JSON value
            # (``Any``) must be written, even as null, so a forgotten one is not taken for null.
            default = _null
        out.append(WireField(f.name, wire, kind, nullable, default is None, default, description, constraints))
    return tuple(out)


def _kind(hint: Any) -> tuple[str, bool]:
    if hint is Any:
        return "any", True
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1 or len(rest) == len(args):
            raise TypeError(f"unsupported wire type {hint!r}")
        return _kind(rest[0])[0], True
    base = typing.get_origin(hint) or hint
    if base not in _KINDS:
        raise TypeError(f"unsupported wire type {hint!r}")
    return _KINDS[base], False


def _default(f: dataclasses.Field[Any]) -> Callable[[], Any] | None:
    if f.default is not dataclasses.MISSING:
        value = f.default
        return lambda: value
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory
    return None


def _null() -> None:
    return None
