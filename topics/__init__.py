"""stepstream's wire contract: topics, records, their JSON encoding and schemas, and a client.

Importable without faust, and without loading confluent-kafka (only :func:`ensure_topics` and
:class:`StepstreamClient` use it, when called). See docs/wire-contract.md.

* :class:`Catalogue` names the topics (``catalogue.commands``...); :func:`ensure_topics` creates them.
* The records (``StartExecution``, ``ExecutionEvent``, ``TaskRequested``...) are frozen dataclasses
  with a de-duplication ``id`` and a ``partition_key``; :func:`encode` and :func:`decode` convert
  them to and from versioned JSON, checked as ``topics/schemas/<TypeName>.schema.json`` describes.
* :func:`public_task_token` / :func:`parse_task_token`, :func:`execution_id_for` and
  :func:`correlation_record_key` define the ids and keys; :func:`partition_for` is Kafka's
  murmur2 partitioner.
"""

from typing import Any

from topics.canonical import canonical_json, correlation_record_key
from topics.catalogue import Catalogue, TopicMismatch, TopicSpec, ensure_topics
from topics.client import Delivery, ExecutionRejectedError, PublishError, StepstreamClient
from topics.codec import (
    DATA_LIMIT_EXCEEDED,
    FORMAT_VERSION,
    MAX_PAYLOAD_BYTES,
    DataLimitExceeded,
    DecodeError,
    EncodeError,
    check_payload_size,
    decode,
    encode,
    payload_size,
)
from topics.ids import (
    InvalidName,
    InvalidTaskToken,
    execution_id_for,
    parse_task_token,
    public_task_token,
    state_machine_name,
)
from topics.messages import (
    RECORD_TYPES,
    TERMINAL_EVENT_TYPES,
    CancelTimer,
    ChildExecutionFinished,
    Command,
    DeadLetter,
    ExecutionEvent,
    ExecutionRejected,
    ExternalMessage,
    MessageDelivered,
    Record,
    ScheduleTimer,
    SendTaskFailure,
    SendTaskHeartbeat,
    SendTaskSuccess,
    StartExecution,
    StopExecution,
    Subscribe,
    TaskRequested,
    TimerFired,
    Unsubscribe,
    topic_role,
)
from topics.partitioner import murmur2, partition_for


def load_schema(type_name: str) -> dict[str, Any]:
    """The published JSON Schema of record type ``type_name`` (``topics/schemas/<type_name>.schema.json``)."""
    # Imported here, not at the top, so ``python -m topics.schemagen`` does not import itself twice.
    from topics.schemagen import load_schema as load

    return load(type_name)


__all__ = [
    "DATA_LIMIT_EXCEEDED",
    "FORMAT_VERSION",
    "MAX_PAYLOAD_BYTES",
    "RECORD_TYPES",
    "TERMINAL_EVENT_TYPES",
    "CancelTimer",
    "Catalogue",
    "Command",
    "DataLimitExceeded",
    "DeadLetter",
    "DecodeError",
    "Delivery",
    "EncodeError",
    "ExecutionEvent",
    "ExecutionRejected",
    "ExecutionRejectedError",
    "ExternalMessage",
    "InvalidName",
    "InvalidTaskToken",
    "ChildExecutionFinished",
    "MessageDelivered",
    "PublishError",
    "Record",
    "ScheduleTimer",
    "SendTaskFailure",
    "SendTaskHeartbeat",
    "SendTaskSuccess",
    "StartExecution",
    "StepstreamClient",
    "StopExecution",
    "Subscribe",
    "TaskRequested",
    "TimerFired",
    "TopicMismatch",
    "TopicSpec",
    "Unsubscribe",
    "canonical_json",
    "check_payload_size",
    "correlation_record_key",
    "decode",
    "encode",
    "ensure_topics",
    "execution_id_for",
    "load_schema",
    "murmur2",
    "parse_task_token",
    "partition_for",
    "payload_size",
    "public_task_token",
    "state_machine_name",
    "topic_role",
]
