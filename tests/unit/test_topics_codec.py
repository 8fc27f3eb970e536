"""The wire contract without I/O: codec round trips and errors, ids and tokens, keys, the partitioner.

The hypothesis strategies for every record type live here; test_topics_schemas.py reuses them.
"""

from __future__ import annotations

import json
import string
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import topics
from topics import codec
from topics.canonical import canonical_json, correlation_record_key
from topics.catalogue import ROLES, Catalogue, TopicSpec
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
    CancelTimer,
    ChildExecutionFinished,
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

# ---------------------------------------------------------------- strategies (also used by the schema tests)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
names = st.text(alphabet=string.ascii_letters + string.digits + "-_.", min_size=1, max_size=40)
execution_ids = st.builds(execution_id_for, names, names)
engine_tokens = st.uuids().map(str)
times = st.floats(min_value=0, max_value=4e9, allow_nan=False)
texts = st.text(min_size=1, max_size=30)
optional_texts = st.none() | st.text(max_size=30)


@st.composite
def task_tokens(draw: st.DrawFn, execution_id: str | None = None) -> str:
    return public_task_token(execution_id or draw(execution_ids), draw(engine_tokens))


@st.composite
def task_requests(draw: st.DrawFn) -> TaskRequested:
    execution_id = draw(execution_ids)
    return TaskRequested(execution_id, draw(task_tokens(execution_id)), draw(texts), draw(texts), draw(json_values),
                         draw(st.text(max_size=20)), draw(st.none() | st.integers(1, 99_999)), draw(st.booleans()))


RECORDS: dict[type[Any], st.SearchStrategy[Any]] = {
    StartExecution: st.builds(StartExecution, names, json_values, st.none() | names, st.none() | st.integers(1, 999),
                              execution_ids),
    StopExecution: st.builds(StopExecution, execution_ids, optional_texts, optional_texts),
    SendTaskSuccess: st.builds(SendTaskSuccess, task_tokens(), json_values),
    SendTaskFailure: st.builds(SendTaskFailure, task_tokens(), optional_texts, optional_texts),
    SendTaskHeartbeat: st.builds(SendTaskHeartbeat, task_tokens(), st.none() | times),
    TimerFired: st.builds(TimerFired, execution_ids, texts, times),
    MessageDelivered: st.builds(MessageDelivered, execution_ids, texts, json_values, st.none() | texts),
    ChildExecutionFinished: st.builds(ChildExecutionFinished, execution_ids, execution_ids,
                                      st.sampled_from(["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]),
                                      json_values, st.none() | texts, st.none() | texts),
    ExecutionEvent: st.builds(ExecutionEvent, execution_ids, st.integers(1, 10**6), texts, times,
                              st.dictionaries(st.text(max_size=8), json_values, max_size=4), st.integers(0, 10**6)),
    ExecutionRejected: st.builds(ExecutionRejected, st.text(max_size=30), texts, texts, st.text(max_size=30), times),
    ScheduleTimer: st.builds(ScheduleTimer, execution_ids, texts, times, st.text(max_size=20)),
    CancelTimer: st.builds(CancelTimer, execution_ids, texts),
    TaskRequested: task_requests(),
    ExternalMessage: st.builds(ExternalMessage, texts, json_values, json_values, texts, times,
                               st.none() | st.floats(0, 1e7), st.booleans()),
    Subscribe: st.builds(Subscribe, texts, json_values, texts, execution_ids, times),
    Unsubscribe: st.builds(Unsubscribe, texts, json_values, texts, execution_ids),
    DeadLetter: st.builds(DeadLetter, texts, st.integers(0, 999), st.integers(0, 2**62), optional_texts, texts,
                          st.none() | st.text(max_size=50)),
}
records = st.one_of(*RECORDS.values())

EXECUTION = "arn:aws:states:us-east-1:111111111111:execution:Orders:order-42"
TOKEN = public_task_token(EXECUTION, "0b7c5d9e-1111-4222-8333-444455556666")


def test_every_record_type_has_a_strategy() -> None:
    assert set(RECORDS) == set(RECORD_TYPES.values())


# ---------------------------------------------------------------- round trips


@settings(max_examples=300)
@given(records)
def test_encode_decode_round_trip(record: Record) -> None:
    data = codec.encode(record)
    assert codec.decode(data) == record
    obj = json.loads(data)
    assert obj["type"] == type(record).__name__
    assert obj["v"] == codec.FORMAT_VERSION
    assert obj["id"] == record.id


def test_wire_shape_is_camel_case_with_renamed_event_type() -> None:
    event = ExecutionEvent(EXECUTION, 3, "TaskScheduled", 1.5, {"resource": "r"}, 2)
    assert json.loads(codec.encode(event)) == {
        "type": "ExecutionEvent", "v": 1, "id": f"{EXECUTION}#3", "executionId": EXECUTION, "eventId": 3,
        "eventType": "TaskScheduled", "timestamp": 1.5, "details": {"resource": "r"}, "previousEventId": 2}


def test_unknown_fields_are_ignored_and_optional_fields_default() -> None:
    data = json.dumps({"type": "StopExecution", "v": 1, "executionId": EXECUTION, "addedLater": [1, 2],
                       "id": "whatever: ignored on input"}).encode()
    assert codec.decode(data) == StopExecution(EXECUTION, None, None)
    message = codec.decode(json.dumps({"type": "ExternalMessage", "v": 1, "correlationKey": "k", "correlationValue": 1,
                                       "data": None, "messageId": "m", "sentAt": 5}).encode())
    assert message == ExternalMessage("k", 1, None, "m", 5.0, None, False)
    assert isinstance(message, ExternalMessage) and isinstance(message.sent_at, float)


def test_integral_numbers_are_accepted_for_integer_fields() -> None:
    record = codec.decode(b'{"type":"TimerFired","v":1.0,"executionId":"e","timerId":"t","fireAt":7}')
    assert record == TimerFired("e", "t", 7.0)
    event = codec.decode(b'{"type":"ExecutionEvent","v":1,"executionId":"e","eventId":2.0,"eventType":"X",'
                         b'"timestamp":0}')
    assert isinstance(event, ExecutionEvent) and event.event_id == 2 and type(event.event_id) is int


def test_lone_surrogates_are_escaped() -> None:
    record = MessageDelivered(EXECUTION, "s", "\ud800", None)
    assert codec.decode(codec.encode(record)) == record


# ---------------------------------------------------------------- decode errors: each reason


def _wire(**fields: Any) -> bytes:
    return json.dumps({"type": "StopExecution", "v": 1, "executionId": EXECUTION, **fields}).encode()


DECODE_ERRORS = [
    (None, "no value", None),
    (b"\xff\xfe", "not UTF-8", None),
    (b"{not json", "not JSON: Expecting property name", None),
    (b"", "not JSON", None),
    (b'{"type":"StopExecution","v":1,"executionId":NaN}', "not JSON: NaN is not valid JSON", None),
    (b"[1, 2]", "not a JSON object: found an array", None),
    (b'"text"', "not a JSON object: found a string", None),
    (b'{"v":1}', "missing field 'type'", "type"),
    (b'{"type":7,"v":1}', "field 'type' must be a string, found a number (7)", "type"),
    (b'{"type":"LaunchRocket","v":1}', "unknown record type 'LaunchRocket'", "type"),
    (b'{"type":"StopExecution","executionId":"e"}', "StopExecution: missing field 'v'", "v"),
    (b'{"type":"StopExecution","v":"1","executionId":"e"}', "StopExecution: field 'v' must be an integer", "v"),
    (_wire(v=2), "StopExecution: unsupported version 2 (this build reads version 1)", "v"),
    (b'{"type":"StopExecution","v":1}', "StopExecution: missing field 'executionId'", "executionId"),
    (_wire(executionId=12), "StopExecution: field 'executionId' must be a string, found a number (12)",
     "executionId"),
    (_wire(executionId=None), "StopExecution: field 'executionId' must be a string, found null", "executionId"),
    (_wire(executionId=""), "StopExecution: field 'executionId': must not be empty", "executionId"),
    (_wire(error=["x"]), "StopExecution: field 'error' must be a string or null, found an array", "error"),
    (b'{"type":"ExecutionEvent","v":1,"executionId":"e","eventId":0,"eventType":"X","timestamp":1}',
     "ExecutionEvent: field 'eventId': must be at least 1, found 0", "eventId"),
    (b'{"type":"ExecutionEvent","v":1,"executionId":"e","eventId":true,"eventType":"X","timestamp":1}',
     "ExecutionEvent: field 'eventId' must be an integer, found a boolean (true)", "eventId"),
    (b'{"type":"ExecutionEvent","v":1,"executionId":"e","eventId":1.5,"eventType":"X","timestamp":1}',
     "ExecutionEvent: field 'eventId' must be an integer, found a number (1.5)", "eventId"),
    (b'{"type":"ExecutionEvent","v":1,"executionId":"e","eventId":1,"eventType":"X","timestamp":"now"}',
     "ExecutionEvent: field 'timestamp' must be a number, found a string (\"now\")", "timestamp"),
    (b'{"type":"ExecutionEvent","v":1,"executionId":"e","eventId":1,"eventType":"X","timestamp":1,"details":[]}',
     "ExecutionEvent: field 'details' must be an object, found an array", "details"),
    (json.dumps({"type": "SendTaskSuccess", "v": 1, "taskToken": TOKEN}).encode(),
     "SendTaskSuccess: missing field 'output'", "output"),
    (b'{"type":"SendTaskSuccess","v":1,"taskToken":"not a token!","output":1}',
     "SendTaskSuccess: field 'taskToken': malformed task token: not base64url", "taskToken"),
    (b'{"type":"ExternalMessage","v":1,"correlationKey":"k","correlationValue":1,"data":1,"messageId":"m",'
     b'"sentAt":1,"singleConsumer":"yes"}',
     "ExternalMessage: field 'singleConsumer' must be a boolean, found a string (\"yes\")", "singleConsumer"),
]


@pytest.mark.parametrize(("data", "reason", "field"), DECODE_ERRORS)
def test_decode_error_says_what_is_wrong(data: bytes | None, reason: str, field: str | None) -> None:
    with pytest.raises(codec.DecodeError) as info:
        codec.decode(data)
    assert info.value.reason.startswith(reason), info.value.reason
    assert str(info.value) == info.value.reason
    assert info.value.field == field


def test_decode_error_for_a_cross_field_rule() -> None:
    other = public_task_token("arn:aws:states:us-east-1:111111111111:execution:M:other", "t")
    data = codec.encode(TaskRequested(EXECUTION, TOKEN, "r", "h", None, "S"))
    tampered = data.replace(TOKEN.encode(), other.encode())
    with pytest.raises(codec.DecodeError, match="TaskRequested: the task token belongs to .*:other'"):
        codec.decode(tampered)


def test_deeply_nested_json_is_a_decode_error() -> None:
    with pytest.raises(codec.DecodeError, match="not JSON"):
        codec.decode(b"[" * 100_000 + b"]" * 100_000)


# ---------------------------------------------------------------- encode errors


@pytest.mark.parametrize(("record", "message"), [
    (StopExecution(EXECUTION, error=3), "StopExecution: field 'error' must be a string or null, found a number"),  # type: ignore[arg-type]
    (TimerFired(EXECUTION, "t", float("nan")), "a value is not JSON"),
    (MessageDelivered(EXECUTION, "s", {1, 2}), "a value is not JSON"),
    (ExecutionEvent(EXECUTION, 0, "X", 1.0), "field 'eventId': must be at least 1"),
])
def test_encode_refuses_ill_typed_records(record: Record, message: str) -> None:
    with pytest.raises(codec.EncodeError, match=message):
        codec.encode(record)


def test_encode_refuses_a_foreign_type() -> None:
    with pytest.raises(codec.EncodeError, match="not a stepstream record type"):
        codec.encode(object())  # type: ignore[arg-type]


# ---------------------------------------------------------------- payload limit


def test_payload_limit_is_aws_256_kib() -> None:
    assert codec.MAX_PAYLOAD_BYTES == 262_144
    codec.check_payload_size({"x": "a" * (codec.MAX_PAYLOAD_BYTES - 8)})  # exactly at the limit: fine
    with pytest.raises(codec.DataLimitExceeded) as info:
        codec.check_payload_size({"x": "a" * (codec.MAX_PAYLOAD_BYTES - 7)}, "execution input")
    assert info.value.error == "States.DataLimitExceeded"
    assert info.value.size == codec.MAX_PAYLOAD_BYTES + 1
    assert "execution input (262145 bytes) exceeds the maximum" in info.value.cause
    with pytest.raises(codec.DataLimitExceeded):
        codec.check_payload_size("é" * (codec.MAX_PAYLOAD_BYTES // 2 + 1))  # counted in UTF-8 bytes


@given(json_values)
def test_payload_size_agrees_with_the_engine(value: Any) -> None:
    from engine.dataflow import MAX_PAYLOAD_BYTES, payload_size

    assert codec.MAX_PAYLOAD_BYTES == MAX_PAYLOAD_BYTES
    assert codec.payload_size(value) == payload_size(value)


# ---------------------------------------------------------------- task tokens


@given(execution_ids, engine_tokens)
def test_task_token_round_trip(execution_id: str, engine_token: str) -> None:
    token = public_task_token(execution_id, engine_token)
    assert parse_task_token(token) == (execution_id, engine_token)
    assert set(token) <= set(string.ascii_letters + string.digits + "-_")
    assert len(token) <= 1024


def test_task_token_format_is_base64url_json() -> None:
    import base64

    body = base64.urlsafe_b64decode(TOKEN + "=" * (-len(TOKEN) % 4))
    assert json.loads(body) == {"v": 1, "e": EXECUTION, "t": "0b7c5d9e-1111-4222-8333-444455556666"}
    assert "=" not in TOKEN


def _b64(raw: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(("token", "message"), [
    (None, "expected a string, found NoneType"),
    ("", "empty"),
    ("a" * 1025, "1025 characters long"),
    ("abc+/", "not base64url"),
    ("abcde", "not base64url"),
    (_b64(b"\xff\xfe\xfd"), "not the expected JSON"),
    (_b64(b"[1,2]"), "not a JSON object"),
    (_b64(b'{"v":2,"e":"x","t":"y"}'), "unsupported version 2"),
    (_b64(b'{"v":1,"t":"y"}'), "no execution id"),
    (_b64(b'{"v":1,"e":"x","t":""}'), "no engine token"),
])
def test_malformed_task_tokens_are_rejected(token: Any, message: str) -> None:
    with pytest.raises(InvalidTaskToken, match=f"^malformed task token: .*{message}"):
        parse_task_token(token)


def test_commands_refuse_tokens_they_cannot_route() -> None:
    with pytest.raises(InvalidTaskToken):
        SendTaskSuccess("garbage!", 1)
    answer = SendTaskFailure(TOKEN, "E", "c")
    assert answer.execution_id == EXECUTION
    assert answer.partition_key == EXECUTION.encode()


# ---------------------------------------------------------------- execution ids and names


def test_execution_id_is_derived_from_machine_and_name() -> None:
    assert execution_id_for("Orders", "order-42") == EXECUTION
    arn = "arn:aws:states:eu-west-1:222222222222:stateMachine:Orders:3"
    assert execution_id_for(arn, "n") == "arn:aws:states:eu-west-1:222222222222:execution:Orders:n"
    assert execution_id_for("Orders", "n", region="ap-south-1", account="333333333333") == \
        "arn:aws:states:ap-south-1:333333333333:execution:Orders:n"
    assert state_machine_name(arn) == "Orders"
    assert state_machine_name("Orders") == "Orders"


def test_start_with_the_same_name_names_the_same_execution() -> None:
    first = StartExecution.create("Orders", {"a": 1}, name="n")
    again = StartExecution.create("Orders", {"a": 2}, name="n")
    assert first.execution_id == again.execution_id and first.id == again.id
    unnamed = StartExecution.create("Orders", None)
    assert unnamed.execution_name and unnamed.execution_id.endswith(":" + unnamed.execution_name)
    assert StartExecution.create("Orders", None).execution_id != unnamed.execution_id


@pytest.mark.parametrize(("machine", "name", "message"), [
    ("Orders", "", "must be a non-empty string"),
    ("Orders", "a" * 81, "81 characters long"),
    ("Orders", "has space", "forbidden character ' '"),
    ("Orders", "a:b", "forbidden character ':'"),
    ("Orders", "a#1", "forbidden character '#'"),
    ("bad/machine", "n", "state machine name"),
])
def test_invalid_names_are_refused(machine: str, name: str, message: str) -> None:
    with pytest.raises(InvalidName, match=message):
        execution_id_for(machine, name)


def test_defaults_agree_with_the_engine() -> None:
    from engine import resources
    from engine.interpreter import _FINISH_EVENTS

    assert (topics.ids.DEFAULT_REGION, topics.ids.DEFAULT_ACCOUNT) == (resources.DEFAULT_REGION,
                                                                       resources.DEFAULT_ACCOUNT)
    assert frozenset(_FINISH_EVENTS.values()) == topics.TERMINAL_EVENT_TYPES


# ---------------------------------------------------------------- ids, keys and topics of records


def test_record_ids_are_deterministic() -> None:
    assert ExecutionEvent(EXECUTION, 7, "X", 0.0).id == f"{EXECUTION}#7"
    assert TimerFired(EXECUTION, "t1", 5.0).id == TimerFired(EXECUTION, "t1", 9.0).id
    assert SendTaskHeartbeat(TOKEN, 1.0).id != SendTaskHeartbeat(TOKEN, 2.0).id
    assert SendTaskSuccess(TOKEN, 1).id == SendTaskFailure(TOKEN).id  # one result per task
    assert ExternalMessage.create("k", 1, None, message_id="m-1").id == "m-1"
    assert ExecutionRejected("k", "r", "?", "", 1.0).id != ExecutionRejected("k", "r", "?", "", 2.0).id


def test_engine_shapes_convert() -> None:
    from engine import events as ev

    history = ev.HistoryEvent(2, "PassStateEntered", 3.0, 1, {"name": "P"})
    assert ExecutionEvent.from_history(EXECUTION, history) == ExecutionEvent(EXECUTION, 2, "PassStateEntered", 3.0,
                                                                             {"name": "P"}, 1)
    # The service's engine makes public tokens (task_token=public_task_token).
    run = ev.RunTask(public_task_token(EXECUTION, "tok"), "arn:aws:states:::lambda:invoke", "fn", {"x": 1}, "Call",
                     False, 30)
    request = TaskRequested.from_effect(EXECUTION, run)
    assert parse_task_token(request.task_token) == (EXECUTION, "tok")
    assert (request.handler, request.heartbeat_seconds, request.external) == ("fn", 30, False)


@pytest.mark.parametrize(("record", "role"), [
    (StartExecution.create("M", None, name="n"), "commands"),
    (TimerFired(EXECUTION, "t", 1.0), "commands"),
    (ExecutionEvent(EXECUTION, 1, "ExecutionStarted", 1.0), "events"),
    (ExecutionRejected(EXECUTION, "no such execution", "StopExecution", "x", 1.0), "events"),
    (ScheduleTimer(EXECUTION, "t", 1.0, "wait"), "timers"),
    (TaskRequested(EXECUTION, TOKEN, "my.handler", "my.handler", None, "S"), "tasks"),
    (TaskRequested(EXECUTION, TOKEN, "arn:aws:states:us-east-1:111111111111:activity:Review", "h", None, "S"),
     "activities"),
    (TaskRequested(EXECUTION, TOKEN, "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "h", None, "S",
                   wait_for_callback=True), "activities"),
    (Subscribe("orderId", "123", "s", EXECUTION, 1.0), "messages"),
    (DeadLetter("t", 0, 1, None, "bad", None), "dead_letters"),
])
def test_topic_roles(record: Record, role: str) -> None:
    assert topic_role(record) == role
    assert Catalogue(prefix="x.").topic_for(record) == getattr(Catalogue(prefix="x."), role)


def test_dead_letter_from_raw_keeps_what_it_can() -> None:
    letter = DeadLetter.from_raw("stepstream.commands", 3, 99, b"key\xff", b"\x00{", "not JSON")
    assert (letter.key, letter.payload_text) == ("key\ufffd", "\x00{")
    assert letter.id == "stepstream.commands/3@99"
    assert DeadLetter.from_raw("t", 0, 0, None, None, "no value").partition_key is None


# ---------------------------------------------------------------- correlation keys (RFC 8785)


def test_correlation_values_compare_as_typed_json() -> None:
    assert correlation_record_key("orderId", "123") == b'["orderId","123"]'
    assert correlation_record_key("orderId", 123) == b'["orderId",123]'
    assert correlation_record_key("orderId", 42.0) == correlation_record_key("orderId", 42)
    assert correlation_record_key("k", True) != correlation_record_key("k", 1)
    assert correlation_record_key("k", {"b": 1, "a": [None]}) == b'["k",{"a":[null],"b":1}]'
    assert correlation_record_key("k", "été") == '["k","été"]'.encode()
    with pytest.raises(ValueError, match="non-empty string"):
        correlation_record_key("", 1)
    with pytest.raises(ValueError, match="non-empty string"):
        Subscribe("", 1, "s", EXECUTION, 1.0)


@pytest.mark.parametrize(("value", "text"), [  # RFC 8785, appendix B and section 3.2.2.3
    (0.0, "0"), (-0.0, "0"), (1e-7, "1e-7"), (9.999999999999997e22, "9.999999999999997e+22"), (1e21, "1e+21"),
    (1e23, "1e+23"), (333333333.3333333, "333333333.3333333"), (5e-324, "5e-324"),
    (1.7976931348623157e308, "1.7976931348623157e+308"), (0.000001, "0.000001"), (1e20, "100000000000000000000"),
    (295147905179352830000.0, "295147905179352830000"), (4.5, "4.5"), (0.002, "0.002"), (1e-27, "1e-27"),
    (-1.5, "-1.5"), (2**60, "1152921504606846976"),
    ({"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\U0001f600": 5, "\u0080": 6, "\u00f6": 7},
     '{"\\r":2,"1":4,"\u0080":6,"\u00f6":7,"\u20ac":1,"\U0001f600":5,"\ufb33":3}'),
    ("\u2028\x1f\"\\", '"\u2028\\u001f\\"\\\\"'),
])
def test_canonical_json_follows_rfc_8785(value: Any, text: str) -> None:
    assert canonical_json(value) == text


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1: "a"}, {"a"}, b"x"])
def test_canonical_json_refuses_what_is_not_json(value: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        canonical_json(value)


@given(json_values)
def test_canonical_json_is_json(value: Any) -> None:
    assert canonical_json(json.loads(canonical_json(value))) == canonical_json(value)


# ---------------------------------------------------------------- murmur2 partitioner (values from Kafka's Java client)

JAVA_MURMUR2 = [  # (key, Utils.murmur2, partition of 12, of 7, of 1000), computed with kafka-clients 4.1.1
    ("", 275646681, 9, 2, 681),
    ("a", -1563381124, 4, 5, 524),
    ("21", -973932308, 0, 3, 340),
    ("foobar", -790332482, 6, 0, 166),
    ("abc", 479470107, 3, 4, 107),
    ("a-little-bit-long-string", -985981536, 8, 1, 112),
    ("a-little-bit-longer-string", -1486304829, 11, 0, 819),
    ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971, 5, 3, 677),
    (EXECUTION, -571074540, 8, 1, 108),
    ('["orderId","123"]', -2094856858, 10, 6, 790),
    ('["orderId",123]', 925273046, 2, 5, 46),
    ("été ☃ 😀", -1257150039, 5, 4, 609),
]


@pytest.mark.parametrize(("key", "hashed", "p12", "p7", "p1000"), JAVA_MURMUR2)
def test_murmur2_matches_the_java_client(key: str, hashed: int, p12: int, p7: int, p1000: int) -> None:
    assert murmur2(key.encode()) == hashed
    assert (partition_for(key.encode(), 12), partition_for(key.encode(), 7), partition_for(key.encode(), 1000)) == \
        (p12, p7, p1000)


def test_partition_count_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least one partition"):
        partition_for(b"k", 0)


# ---------------------------------------------------------------- catalogue


def test_catalogue_names_and_specs() -> None:
    catalogue = Catalogue()
    assert (catalogue.commands, catalogue.events, catalogue.timers, catalogue.tasks, catalogue.activities,
            catalogue.messages, catalogue.dead_letters) == (
        "stepstream.commands", "stepstream.events", "stepstream.timers", "stepstream.tasks",
        "stepstream.activities", "stepstream.messages", "stepstream.dead-letters")
    specs = Catalogue(prefix="gen2.", partitions=24).all()
    assert [s.name for s in specs] == [f"gen2.{Catalogue().spec(role).name.split('.', 1)[1]}" for role in ROLES]
    assert all(isinstance(s, TopicSpec) and s.partitions == 24 and not s.compacted for s in specs)
    assert specs[0].config() == {"cleanup.policy": "delete", "retention.ms": str(7 * 24 * 3600 * 1000)}


@pytest.mark.parametrize(("prefix", "partitions", "message"), [("bad prefix ", 12, "topic prefix"),
                                                               ("x.", 0, "at least 1")])
def test_catalogue_refuses_bad_settings(prefix: str, partitions: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Catalogue(prefix, partitions)


# ---------------------------------------------------------------- package surface


def test_public_names() -> None:
    assert len(topics.__all__) == len(set(topics.__all__))
    for name in topics.__all__:
        assert getattr(topics, name) is not None


def test_importable_without_faust_or_confluent_kafka() -> None:
    code = ("import sys, topics, topics.client, topics.catalogue; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('faust', 'aiokafka', 'confluent_kafka', "
            "'engine', 'streams')); print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
