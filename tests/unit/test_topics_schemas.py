"""The published JSON Schemas: up to date, valid draft 2020-12, and in agreement with the codec."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from tests.unit.test_topics_codec import EXECUTION, TOKEN, records
from topics import codec, load_schema
from topics.fields import GLOSSARY, wire_fields
from topics.messages import RECORD_TYPES, Record
from topics.schemagen import SCHEMA_DIR, generate_schema, main, stale_files

VALIDATORS = {name: Draft202012Validator(load_schema(name)) for name in RECORD_TYPES}


def test_schema_files_are_up_to_date() -> None:
    assert stale_files() == [], "regenerate with: .venv/bin/python -m topics.schemagen"
    assert sorted(p.name for p in SCHEMA_DIR.glob("*.json")) == sorted(f"{n}.schema.json" for n in RECORD_TYPES)
    assert main(["--check"]) == 0


def test_check_reports_stale_and_extra_files(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--dir", str(tmp_path)]) == 0
    (tmp_path / "StopExecution.schema.json").write_text("{}", encoding="utf-8")
    (tmp_path / "Gone.schema.json").write_text("{}", encoding="utf-8")
    assert main(["--check", "--dir", str(tmp_path)]) == 1
    assert stale_files(tmp_path) == ["Gone.schema.json", "StopExecution.schema.json"]
    assert "stale:" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(RECORD_TYPES))
def test_schemas_are_valid_draft_2020_12(name: str) -> None:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == name
    assert schema["properties"]["type"] == {"const": name, "description": "Record type."}
    assert schema == generate_schema(name)
    for prop in schema["properties"].values():
        assert prop["description"], f"{name}: every field is described"


def test_every_wire_field_is_in_the_glossary_and_used() -> None:
    used = {f.wire for cls in RECORD_TYPES.values() for f in wire_fields(cls)}
    assert used == set(GLOSSARY)


@settings(max_examples=300)
@given(records)
def test_encoded_records_validate_against_their_schema(record: Record) -> None:
    obj = json.loads(codec.encode(record))
    VALIDATORS[obj["type"]].validate(obj)


@given(records)
def test_minimal_records_validate_and_decode(record: Record) -> None:
    """What a foreign producer may leave out (optional fields, id) is left out in the schema too."""
    obj = json.loads(codec.encode(record))
    schema = load_schema(obj["type"])
    minimal = {key: value for key, value in obj.items() if key in schema["required"]}
    VALIDATORS[obj["type"]].validate(minimal)
    assert type(codec.from_wire(minimal)) is type(record)


# Invalid objects: the schema and the codec must both refuse each one.
INVALID = [
    {"type": "StopExecution", "v": 1},
    {"type": "StopExecution", "v": 2, "executionId": EXECUTION},
    {"type": "StopExecution", "v": 1, "executionId": ""},
    {"type": "StopExecution", "v": 1, "executionId": EXECUTION, "error": 5},
    {"type": "StartExecution", "v": 1, "stateMachine": "M", "executionId": EXECUTION},  # no input
    {"type": "StartExecution", "v": 1, "stateMachine": "M", "input": {}, "executionId": EXECUTION, "version": 0},
    {"type": "SendTaskSuccess", "v": 1, "taskToken": "has spaces", "output": 1},
    {"type": "ExecutionEvent", "v": 1, "executionId": "e", "eventId": 0, "eventType": "X", "timestamp": 1},
    {"type": "ExecutionEvent", "v": 1, "executionId": "e", "eventId": 1, "eventType": "X", "timestamp": "x"},
    {"type": "TaskRequested", "v": 1, "executionId": EXECUTION, "taskToken": TOKEN, "resource": "r", "handler": "h",
     "payload": None, "state": "S", "heartbeatSeconds": 0},
    {"type": "ExternalMessage", "v": 1, "correlationKey": "k", "correlationValue": 1, "data": None, "messageId": "m",
     "sentAt": 1, "ttlSeconds": -1},
    {"type": "ExternalMessage", "v": 1, "correlationKey": "k", "data": None, "messageId": "m", "sentAt": 1},
    {"type": "DeadLetter", "v": 1, "topic": "t", "partition": -1, "offset": 0, "reason": "r"},
]


@pytest.mark.parametrize("obj", INVALID, ids=lambda o: o["type"])
def test_schema_and_codec_refuse_the_same_objects(obj: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        VALIDATORS[obj["type"]].validate(obj)
    with pytest.raises(codec.DecodeError):
        codec.decode(json.dumps(obj).encode())


def test_unknown_members_are_allowed_by_schema_and_codec() -> None:
    obj = {"type": "StopExecution", "v": 1, "executionId": EXECUTION, "futureField": {"x": 1}}
    VALIDATORS["StopExecution"].validate(obj)
    assert codec.from_wire(obj) == codec.decode(json.dumps(obj).encode())
