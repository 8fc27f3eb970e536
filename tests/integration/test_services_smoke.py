"""Smoke tests: the Kafka broker and the Postgres database behind the integration fixtures really work.

Needs the plugin tests/integration/conftest_services.py (fixtures kafka_bootstrap, postgres_dsn) and the
packages confluent-kafka, sqlalchemy>=2 and psycopg[binary]>=3.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.integration

KAFKA_TIMEOUT_S = 30.0


def _create_topic(admin: AdminClient, topic: str, partitions: int) -> None:
    # Create topics explicitly before any consumer subscribes: never rely on auto-creation.
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=1)],
        operation_timeout=KAFKA_TIMEOUT_S,
    )
    futures[topic].result(timeout=KAFKA_TIMEOUT_S)
    deadline = time.monotonic() + KAFKA_TIMEOUT_S
    while True:  # wait until the metadata shows every partition with a leader
        meta = admin.list_topics(topic=topic, timeout=KAFKA_TIMEOUT_S).topics.get(topic)
        if (
            meta is not None
            and meta.error is None
            and len(meta.partitions) == partitions
            and all(p.leader >= 0 for p in meta.partitions.values())
        ):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"topic {topic} has no leaders after {KAFKA_TIMEOUT_S} s: {meta}")
        time.sleep(0.1)


def _delete_topic(admin: AdminClient, topic: str) -> None:
    with contextlib.suppress(KafkaException):  # best effort: the topic name is unique anyway
        admin.delete_topics([topic], operation_timeout=KAFKA_TIMEOUT_S)[topic].result(timeout=KAFKA_TIMEOUT_S)


def test_kafka_produce_then_consume(kafka_bootstrap: str) -> None:
    topic = f"stepstream-smoke-{uuid.uuid4().hex}"
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    _create_topic(admin, topic, partitions=3)
    try:
        records = {f"exec-{i}".encode(): json.dumps({"step": i, "state": "Pass"}).encode() for i in range(5)}
        delivered: list[Message] = []
        errors: list[KafkaError] = []

        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                errors.append(err)
            else:
                delivered.append(msg)

        producer = Producer(
            {"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5}
        )
        for key, value in records.items():
            producer.produce(topic, key=key, value=value, headers={"kind": b"smoke"}, on_delivery=on_delivery)
        assert producer.flush(KAFKA_TIMEOUT_S) == 0, "records still queued after flush"
        assert errors == []
        assert len(delivered) == len(records)

        consumer = Consumer(
            {
                "bootstrap.servers": kafka_bootstrap,
                "group.id": f"stepstream-smoke-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "session.timeout.ms": 6000,
            }
        )
        received: dict[bytes, bytes] = {}
        try:
            consumer.subscribe([topic])
            deadline = time.monotonic() + KAFKA_TIMEOUT_S
            while len(received) < len(records) and time.monotonic() < deadline:
                msg = consumer.poll(0.5)
                if msg is None:
                    continue
                if msg.error() is not None:
                    raise KafkaException(msg.error())
                assert msg.topic() == topic
                assert dict(msg.headers() or []) == {"kind": b"smoke"}
                got_key, got_value = msg.key(), msg.value()
                assert isinstance(got_key, bytes)
                assert isinstance(got_value, bytes)
                received[got_key] = got_value
                consumer.commit(message=msg, asynchronous=False)
        finally:
            consumer.close()
        assert received == records
    finally:
        _delete_topic(admin, topic)


def test_postgres_round_trip(postgres_dsn: str) -> None:
    assert postgres_dsn.startswith("postgresql+psycopg://")
    engine = create_engine(postgres_dsn, pool_pre_ping=True)
    table = f"smoke_{uuid.uuid4().hex[:12]}"
    try:
        assert engine.dialect.driver == "psycopg"
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version_num")).scalar_one()
            assert int(version) >= 150000
        with engine.begin() as conn:
            conn.execute(
                text(f"CREATE TABLE {table} (id text PRIMARY KEY, doc jsonb NOT NULL, n int NOT NULL)")
            )
            upsert = text(
                f"INSERT INTO {table} (id, doc, n) VALUES (:id, CAST(:doc AS jsonb), 1) "
                f"ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, n = {table}.n + 1"
            )
            conn.execute(upsert, [{"id": "a", "doc": json.dumps({"state": "Start"})}])
            conn.execute(upsert, [{"id": "a", "doc": json.dumps({"state": "Done", "out": [1, 2]})}])
            conn.execute(upsert, [{"id": "b", "doc": json.dumps({"state": "Start"})}])
        with engine.connect() as conn:  # a new transaction sees the committed rows
            rows = conn.execute(text(f"SELECT id, doc, n FROM {table} ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [
            ("a", {"state": "Done", "out": [1, 2]}, 2),
            ("b", {"state": "Start"}, 1),
        ]
        with engine.connect() as conn:  # a rolled-back transaction leaves nothing behind
            conn.execute(text(f"DELETE FROM {table}"))
            conn.rollback()
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 2
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()
