"""Message correlation: message-to-resume latency under load, and many waiting executions.

    scripts/services up && .venv/bin/python bench/message_bench.py [--waiters 2000] [--rate 200]
        [--held 100000]

Prints, from one run:
  raw            Kafka produce->consume round trip p50/p99 (the floor any bus-based resume pays)
  resume         p50/p99 from publishing a message to the moment a client consuming the events topic
                 sees the execution's MessageReceived event (both on the bench's clock), with
                 messages sent at --rate per second while a background load of 10-state executions
                 runs on the same worker; also the history timestamp (when the worker applied it)
  raw under load the same produce->consume round trip, probed every 20 ms during the resume run
  held           --held executions left waiting on a Message state, and the worker's resident
                 memory before and after they all wait (it must not grow with the count: waits
                 live in Postgres, not in the worker)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.service_bench import (  # noqa: E402
    MIXED10,
    drain_until_assigned,
    kafka_round_trips,
    percentile,
    publish_starts,
)
from streams.deployment import LocalDeployment, drop_schema  # noqa: E402
from topics.catalogue import Catalogue  # noqa: E402

WAITER = {"StartAt": "Pay", "States": {
    "Pay": {"Type": "Message", "CorrelationKey": "orderId", "CorrelationValuePath": "$.orderId",
            "ResultPath": "$.payment", "End": True}}}


def rss_mb(pid: int) -> float:
    """Resident memory of a worker: the process and, with --processes, its child workers."""
    total = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1]) / 1024
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return total + sum(rss_mb(int(child)) for child in children)


def count_subscriptions(deployment: LocalDeployment) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(deployment.database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f'SELECT count(*) FROM "{deployment.schema}".subscriptions')).scalar_one())
    finally:
        engine.dispose()


def wait_for_subscriptions(deployment: LocalDeployment, count: int, timeout: float) -> float:
    began = time.monotonic()
    while count_subscriptions(deployment) < count:
        if time.monotonic() - began > timeout:
            raise TimeoutError(f"fewer than {count} subscriptions after {timeout}s")
        time.sleep(0.5)
    return time.monotonic() - began


def background_load(deployment: LocalDeployment, stop: threading.Event, per_second: int) -> None:
    """Start ``per_second`` 10-state executions a second, in tenths, through one long-lived producer."""
    from confluent_kafka import Producer

    from topics import codec
    from topics import messages as wire

    producer = Producer({"bootstrap.servers": deployment.bootstrap, "partitioner": "murmur2_random",
                         "linger.ms": 0, "enable.idempotence": True})
    tick = 0
    while not stop.is_set():
        for i in range(per_second // 10):
            command = wire.StartExecution.create("mixed10", {"n": i}, name=f"mixed10-bg{tick}-{i}")
            producer.produce(deployment.prefix + "commands", key=command.partition_key, value=codec.encode(command))
        producer.poll(0)
        tick += 1
        time.sleep(0.1)
    producer.flush(30)


class EventWatcher:
    """Consumes the events topic from the start and records when each MessageReceived shows up."""

    def __init__(self, deployment: LocalDeployment) -> None:
        from confluent_kafka import Consumer

        self.seen: dict[str, float] = {}
        self.stop = threading.Event()
        self.consumer = Consumer({"bootstrap.servers": deployment.bootstrap, "group.id": f"watch-{uuid.uuid4().hex}",
                                  "auto.offset.reset": "latest", "fetch.wait.max.ms": 5, "enable.auto.commit": False})
        self.consumer.subscribe([Catalogue(deployment.prefix, deployment.partitions).events])
        drain_until_assigned(self.consumer)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            # poll, not consume(n, timeout): consume waits for n records or the whole timeout.
            record = self.consumer.poll(0.05)
            if record is not None:
                value = record.value()
                if record.error() or value is None or b"MessageReceived" not in value:
                    continue
                at = time.time()
                event = json.loads(value)
                self.seen.setdefault(event.get("executionId", ""), at)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.consumer.close()


def raw_probes(deployment: LocalDeployment, stop: threading.Event, every: float = 0.02) -> list[float]:
    """Kafka produce->consume round trips (ms) on a topic of their own, while the load runs."""
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = f"{deployment.prefix}probe"
    admin = AdminClient({"bootstrap.servers": deployment.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(15)
    producer = Producer({"bootstrap.servers": deployment.bootstrap, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 0})
    consumer = Consumer({"bootstrap.servers": deployment.bootstrap, "group.id": topic, "auto.offset.reset": "earliest",
                         "fetch.wait.max.ms": 5})
    consumer.subscribe([topic])
    samples: list[float] = []
    while not stop.is_set():
        sent = time.perf_counter()
        producer.produce(topic, value=b"x" * 200)
        producer.poll(0)
        while not consumer.consume(1, 1.0) and not stop.is_set():
            pass
        samples.append((time.perf_counter() - sent) * 1000)
        time.sleep(every)
    consumer.close()
    return samples[5:]  # the first few include the consumer joining


def resume_latency(deployment: LocalDeployment, waiters: int, rate: float, load: int) -> dict[str, Any]:
    deployment.deploy("waiter", WAITER)
    deployment.deploy("mixed10", MIXED10)
    values = [f"o-{uuid.uuid4().hex[:8]}" for _ in range(waiters)]
    ids = list(publish_starts(deployment, "waiter", [{"orderId": v} for v in values], tag="r-"))
    wait_for_subscriptions(deployment, waiters, timeout=600)
    watcher = EventWatcher(deployment)
    stop = threading.Event()
    loader = threading.Thread(target=background_load, args=(deployment, stop, load), daemon=True)
    loader.start()
    probes: list[float] = []
    prober = threading.Thread(target=lambda: probes.extend(raw_probes(deployment, stop)), daemon=True)
    prober.start()
    sent: dict[str, float] = {}
    with deployment.client() as client:
        interval = 1.0 / rate
        next_at = time.time()
        for execution_id, value in zip(ids, values, strict=True):
            next_at += interval
            time.sleep(max(0.0, next_at - time.time()))
            sent[execution_id] = time.time()
            client.send_message("orderId", value, {"paid": True})
    records = deployment.wait_for_status(ids, timeout=300)
    stop.set()
    loader.join()
    prober.join()
    watcher.close()
    store = deployment.store()
    applied = []
    try:
        for execution_id in ids:
            received = next(row for row in store.history(execution_id) if row.type == "MessageReceived")
            applied.append((received.timestamp - sent[execution_id]) * 1000)
    finally:
        store.close()
    observed = [(watcher.seen[i] - sent[i]) * 1000 for i in ids if i in watcher.seen]
    failed = sum(1 for r in records.values() if r.status != "SUCCEEDED")
    return {"messages": waiters, "failed": failed, "rate": rate, "background_starts_per_s": load,
            "unobserved": waiters - len(observed),
            "p50_ms": percentile(observed, 0.5), "p99_ms": percentile(observed, 0.99),
            "applied_p50_ms": percentile(applied, 0.5), "applied_p99_ms": percentile(applied, 0.99),
            "raw_p50_ms": percentile(probes, 0.5), "raw_p99_ms": percentile(probes, 0.99), "probes": len(probes)}


def held_waits(deployment: LocalDeployment, worker_pid: int, count: int) -> dict[str, Any]:
    """Start ``count`` waiting executions in quarters; the worker's RSS after each quarter shows
    whether memory grows with the number of waits (it must plateau: waits live in Postgres)."""
    before = rss_mb(worker_pid)
    began = time.monotonic()
    chunk, quarter, samples = 5000, max(count // 4, 1), []
    for first in range(0, count, chunk):
        size = min(chunk, count - first)
        publish_starts(deployment, "waiter", [{"orderId": f"h-{first + i}"} for i in range(size)], tag=f"h{first}-")
        if (first + size) % quarter == 0 or first + size == count:
            wait_for_subscriptions(deployment, first + size, timeout=3600)
            samples.append((first + size, rss_mb(worker_pid)))
    return {"held": count, "rss_before_mb": before, "rss_samples": samples,
            "seconds_to_all_waiting": time.monotonic() - began}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waiters", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0, help="messages per second")
    parser.add_argument("--load", type=int, default=50, help="background executions started per second")
    parser.add_argument("--held", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=12, help="partitions per topic")
    parser.add_argument("--workers", type=int, default=1,
                        help="workers (each with --processes processes); the held figure is the first one's")
    parser.add_argument("--processes", type=int, default=1,
                        help="processes per worker (stepstream worker --processes): 2 runs executions+timers "
                             "and correlation+tasks apart")
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    database = os.environ.get("STEPSTREAM_DATABASE_URL",
                              "postgresql+psycopg://stepstream:stepstream@127.0.0.1:5433/stepstream")
    raw = kafka_round_trips(bootstrap)
    tag = uuid.uuid4().hex[:8]
    deployment = LocalDeployment(bootstrap, database, prefix=f"mbench{tag}.", schema=f"mbench_{tag}",
                                 partitions=args.partitions, handler_modules=("bench.handlers",))
    deployment.prepare()
    try:
        workers = [deployment.start_worker(f"mbench{n}", processes=args.processes) for n in range(args.workers)]
        deployment.wait_until_ready(args.workers, processes=args.processes)
        worker = workers[0]
        resume = resume_latency(deployment, args.waiters, args.rate, args.load)
        held = held_waits(deployment, worker.pid, args.held) if args.held else None
    finally:
        deployment.stop_all()
        deployment.delete_topics()
        drop_schema(database, deployment.schema)
    print(f"raw kafka round trip         p50 {raw['rtt_p50_ms']:.2f} ms  p99 {raw['rtt_p99_ms']:.2f} ms")
    print(f"raw round trip under load    p50 {resume['raw_p50_ms']:.2f} ms  p99 {resume['raw_p99_ms']:.2f} ms  "
          f"({resume['probes']} probes during the resume run)")
    print(f"message -> resume ({resume['messages']} messages at {resume['rate']:.0f}/s, "
          f"{resume['background_starts_per_s']} background executions/s, {resume['failed']} failed, "
          f"{resume['unobserved']} resume events not seen)")
    seen_p50, seen_p99 = resume["p50_ms"], resume["p99_ms"]
    print(f"  seen on the events topic   p50 {seen_p50:.1f} ms  p99 {seen_p99:.1f} ms")
    print(f"    beyond raw (idle)        p50 {seen_p50 - raw['rtt_p50_ms']:.1f} ms  "
          f"p99 {seen_p99 - raw['rtt_p99_ms']:.1f} ms")
    print(f"    beyond raw (under load)  p50 {seen_p50 - resume['raw_p50_ms']:.1f} ms  "
          f"p99 {seen_p99 - resume['raw_p99_ms']:.1f} ms")
    print(f"  applied by the worker      p50 {resume['applied_p50_ms']:.1f} ms  p99 {resume['applied_p99_ms']:.1f} ms "
          "(history timestamp of MessageReceived)")
    if held:
        steps = ", ".join(f"{n:,}: {mb:.0f} MB" for n, mb in held["rss_samples"])
        print(f"held waits                   {held['held']:,} executions waiting "
              f"({held['seconds_to_all_waiting']:.0f} s to start them all)")
        print(f"  worker RSS                 {held['rss_before_mb']:.0f} MB before; after {steps}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
