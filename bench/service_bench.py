"""Service throughput and latency on a real broker and Postgres, next to their raw ceilings.

    scripts/services up && .venv/bin/python bench/service_bench.py [--executions 2000] [--timers 600]

Prints, from one run:
  raw ceilings   Kafka produce->consume round trips/s and latency (confluent-kafka, one key per
                 record, acks=all); Postgres batched upserts/s (multi-row INSERT .. ON CONFLICT)
  throughput     one worker process: state transitions/s and executions/s end to end (client
                 publishes StartExecution .. ExecutionSucceeded in Postgres), for a 10-state
                 workflow with 3 Python tasks, and p50/p99 start-to-complete latency
  timers         executions each waiting 1-3 s: timer lateness p50/p99/max (WaitStateExited time
                 minus the due time) and how many fired early (must be 0)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streams.deployment import LocalDeployment, drop_schema  # noqa: E402

MIXED10 = {"StartAt": "Reserve", "States": {
    "Reserve": {"Type": "Task", "Resource": "bench.work", "ResultPath": "$.reserved", "Next": "Mark"},
    "Mark": {"Type": "Pass", "Result": "reserved", "ResultPath": "$.stage", "Next": "Route"},
    "Route": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": 0, "Next": "Price"}],
              "Default": "Price"},
    "Price": {"Type": "Pass", "Parameters": {"n.$": "$.n", "price.$": "States.MathAdd($.n, 10)"},
              "ResultPath": "$.price", "Next": "Charge"},
    "Charge": {"Type": "Task", "Resource": "bench.work", "ResultPath": "$.charged", "Next": "Stamp"},
    "Stamp": {"Type": "Pass", "Result": "charged", "ResultPath": "$.stage", "Next": "Audit"},
    "Audit": {"Type": "Pass", "ResultPath": "$.audit", "Parameters": {"id.$": "$$.Execution.Name"}, "Next": "Ship"},
    "Ship": {"Type": "Task", "Resource": "bench.work", "ResultPath": "$.shipped", "Next": "Final"},
    "Final": {"Type": "Pass", "Result": "done", "ResultPath": "$.stage", "Next": "Done"},
    "Done": {"Type": "Succeed"}}}

WAITER = {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "SecondsPath": "$.wait", "End": True}}}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---------------------------------------------------------------------- raw ceilings


def kafka_round_trips(bootstrap: str, count: int = 5000) -> dict[str, float]:
    """Produce records and consume them back: round trips/s, and latency of single round trips."""
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = f"bench-raw-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 6, 1)])[topic].result(15)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 1, "partitioner": "murmur2_random"})
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": topic, "auto.offset.reset": "earliest",
                         "fetch.wait.max.ms": 5})
    consumer.subscribe([topic])
    drain_until_assigned(consumer)
    payload = b"x" * 200
    start = time.perf_counter()
    for i in range(count):
        producer.produce(topic, key=str(i).encode(), value=payload)
        if i % 500 == 0:
            producer.poll(0)
    producer.flush(30)
    received = 0
    while received < count and time.perf_counter() - start < 60:
        received += len(consumer.consume(1000, 0.2))
    throughput = received / (time.perf_counter() - start)
    latencies = []
    for i in range(300):
        sent = time.perf_counter()
        producer.produce(topic, key=f"l{i}".encode(), value=payload)
        producer.flush(5)
        while not consumer.consume(1, 1.0):
            pass
        latencies.append((time.perf_counter() - sent) * 1000)
    consumer.close()
    admin.delete_topics([topic])
    return {"round_trips_per_s": throughput, "rtt_p50_ms": percentile(latencies, 0.5),
            "rtt_p99_ms": percentile(latencies, 0.99)}


def drain_until_assigned(consumer: Any) -> None:
    """Poll a just-subscribed consumer until the group has given it partitions (at most 20 s)."""
    deadline = time.monotonic() + 20
    while not consumer.assignment() and time.monotonic() < deadline:
        consumer.poll(0.1)


def postgres_upserts(url: str, rows: int = 20000, batch: int = 500) -> dict[str, float]:
    """Batched INSERT .. ON CONFLICT DO UPDATE of snapshot-like rows, one transaction per batch."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    table = f"bench_upsert_{uuid.uuid4().hex[:8]}"
    snapshot = json.dumps({"status": "RUNNING", "frames": {"0": {"state": "Charge", "input": {"n": 1}}}})
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {table} (id text PRIMARY KEY, snapshot jsonb, n int)"))
    start = time.perf_counter()
    for first in range(0, rows, batch):
        values = [{"id": f"e{(first + i) % (rows // 2)}", "s": snapshot, "n": i} for i in range(batch)]
        with engine.begin() as conn:
            conn.execute(text(f"INSERT INTO {table} (id, snapshot, n) VALUES (:id, cast(:s as jsonb), :n) "
                              "ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot, n = excluded.n"),
                         values)
    elapsed = time.perf_counter() - start
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {table}"))
    engine.dispose()
    return {"upserts_per_s": rows / elapsed}


# ---------------------------------------------------------------------- the service


def publish_starts(deployment: LocalDeployment, machine: str, inputs: list[Any], tag: str = "") -> dict[str, float]:
    """Publish StartExecution commands in bulk, as a busy upstream service would; returns send times."""
    from confluent_kafka import Producer

    from topics import codec
    from topics import messages as wire

    producer = Producer({"bootstrap.servers": deployment.bootstrap, "partitioner": "murmur2_random",
                         "linger.ms": 2, "enable.idempotence": True})
    sent: dict[str, float] = {}
    for i, item in enumerate(inputs):
        command = wire.StartExecution.create(machine, item, name=f"{machine}-{tag}{i}")
        producer.produce(deployment.prefix + "commands", key=command.partition_key, value=codec.encode(command))
        sent[command.execution_id] = time.time()
        if i % 200 == 0:
            producer.poll(0)
    producer.flush(30)
    return sent


def run_throughput(deployment: LocalDeployment, executions: int) -> dict[str, float]:
    deployment.deploy("mixed10", MIXED10)
    sent = publish_starts(deployment, "mixed10", [{"n": i} for i in range(executions)])
    records = deployment.wait_for_status(list(sent), timeout=600)
    first_start = min(r.start_time for r in records.values())
    elapsed = max(r.stop_time for r in records.values()) - first_start
    transitions = sum(r.transitions for r in records.values())
    failed = [r for r in records.values() if r.status != "SUCCEEDED"]
    latencies = [(r.stop_time - r.start_time) * 1000 for r in records.values()]
    return {"executions": executions, "failed": len(failed), "seconds": elapsed,
            "transitions_per_s": transitions / elapsed, "executions_per_s": executions / elapsed,
            "latency_p50_ms": percentile(latencies, 0.5), "latency_p99_ms": percentile(latencies, 0.99),
            "idle_latency_p50_ms": idle_latency(deployment)}


def idle_latency(deployment: LocalDeployment, count: int = 30) -> float:
    """Start-to-complete latency of executions started one at a time on an idle worker."""
    latencies = []
    for i in range(count):
        sent = publish_starts(deployment, "mixed10", [{"n": i}], tag=f"idle{i}-")
        execution_id = next(iter(sent))
        record = deployment.wait_for_status([execution_id], timeout=60, poll=0.005)[execution_id]
        latencies.append((record.stop_time - record.start_time) * 1000)
    return percentile(latencies, 0.5)


def run_timers(deployment: LocalDeployment, count: int) -> dict[str, float]:
    deployment.deploy("waiter", WAITER)
    with deployment.client() as client:
        ids = [client.start_execution("waiter", {"wait": 1 + i % 3}, name=f"w{i}") for i in range(count)]
    deployment.wait_for_status(ids, timeout=300)
    store = deployment.store()
    lateness = []
    try:
        for execution_id in ids:
            rows = {row.type: row for row in store.history(execution_id)}
            entered, exited = rows["WaitStateEntered"], rows["WaitStateExited"]
            due = entered.timestamp + entered.details["input"]["wait"]
            lateness.append((exited.timestamp - due) * 1000)
    finally:
        store.close()
    return {"timers": count, "lateness_p50_ms": percentile(lateness, 0.5),
            "lateness_p99_ms": percentile(lateness, 0.99), "lateness_max_ms": max(lateness),
            "early": sum(1 for x in lateness if x < 0)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=2000)
    parser.add_argument("--timers", type=int, default=600)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    database = os.environ.get("STEPSTREAM_DATABASE_URL",
                              "postgresql+psycopg://stepstream:stepstream@127.0.0.1:5433/stepstream")
    figures: dict[str, Any] = {"kafka": kafka_round_trips(bootstrap), "postgres": postgres_upserts(database)}
    tag = uuid.uuid4().hex[:8]
    deployment = LocalDeployment(bootstrap, database, prefix=f"bench{tag}.", schema=f"bench_{tag}", partitions=12,
                                 handler_modules=("bench.handlers",))
    deployment.prepare()
    try:
        deployment.start_worker("bench")
        deployment.wait_until_ready()
        figures["throughput"] = run_throughput(deployment, args.executions)
        figures["timers"] = run_timers(deployment, args.timers)
    finally:
        deployment.stop_all()
        deployment.delete_topics()
        drop_schema(database, deployment.schema)
    report(figures)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0


def report(f: dict[str, Any]) -> None:
    k, p, t, w = f["kafka"], f["postgres"], f["throughput"], f["timers"]
    print("raw ceilings (same run)")
    print(f"  kafka produce->consume      {k['round_trips_per_s']:10,.0f} records/s   "
          f"round trip p50 {k['rtt_p50_ms']:.2f} ms  p99 {k['rtt_p99_ms']:.2f} ms")
    print(f"  postgres batched upserts    {p['upserts_per_s']:10,.0f} rows/s")
    print(f"one worker, {t['executions']} executions of a 10-state workflow (3 tasks), {t['failed']} failed")
    print(f"  state transitions           {t['transitions_per_s']:10,.0f} /s")
    print(f"  executions                  {t['executions_per_s']:10,.1f} /s")
    print(f"  start-to-complete latency   p50 {t['latency_p50_ms']:.0f} ms  p99 {t['latency_p99_ms']:.0f} ms "
          "(all started at once: queueing included)")
    print(f"  one at a time, idle worker  p50 {t['idle_latency_p50_ms']:.0f} ms")
    print(f"timers: {w['timers']} waits of 1-3 s")
    print(f"  lateness                    p50 {w['lateness_p50_ms']:.1f} ms  p99 {w['lateness_p99_ms']:.1f} ms  "
          f"max {w['lateness_max_ms']:.1f} ms  early {w['early']}")


if __name__ == "__main__":
    sys.exit(main())
