"""Message correlation: message-to-resume latency under load, and many waiting executions.

    scripts/services up && .venv/bin/python bench/message_bench.py [--waiters 2000] [--rate 200]
        [--held 100000]

Prints, from one run:
  raw            Kafka produce->consume round trip p50/p99 (the floor any bus-based resume pays)
  resume         p50/p99 from publishing a message (client clock) to the execution's MessageReceived
                 event (worker clock, same machine), with messages sent at --rate per second while
                 a background load of 10-state executions runs on the same worker
  held           --held executions left waiting on a Message state, and the worker's resident
                 memory before and after they all wait (it must not grow with the count: waits
                 live in Postgres, not in the worker)
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.service_bench import MIXED10, kafka_round_trips, percentile, publish_starts  # noqa: E402
from streams.deployment import LocalDeployment, drop_schema  # noqa: E402

WAITER = {"StartAt": "Pay", "States": {
    "Pay": {"Type": "Message", "CorrelationKey": "orderId", "CorrelationValuePath": "$.orderId",
            "ResultPath": "$.payment", "End": True}}}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


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
    batch = 0
    while not stop.is_set():
        publish_starts(deployment, "mixed10", [{"n": i} for i in range(per_second // 10)], tag=f"bg{batch}-")
        batch += 1
        time.sleep(0.1)


def resume_latency(deployment: LocalDeployment, waiters: int, rate: float, load: int) -> dict[str, float]:
    deployment.deploy("waiter", WAITER)
    deployment.deploy("mixed10", MIXED10)
    values = [f"o-{uuid.uuid4().hex[:8]}" for _ in range(waiters)]
    ids = list(publish_starts(deployment, "waiter", [{"orderId": v} for v in values], tag="r-"))
    wait_for_subscriptions(deployment, waiters, timeout=600)
    stop = threading.Event()
    loader = threading.Thread(target=background_load, args=(deployment, stop, load), daemon=True)
    loader.start()
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
    store = deployment.store()
    latencies = []
    try:
        for execution_id in ids:
            received = next(row for row in store.history(execution_id) if row.type == "MessageReceived")
            latencies.append((received.timestamp - sent[execution_id]) * 1000)
    finally:
        store.close()
    failed = sum(1 for r in records.values() if r.status != "SUCCEEDED")
    return {"messages": waiters, "failed": failed, "rate": rate, "background_starts_per_s": load,
            "p50_ms": percentile(latencies, 0.5), "p99_ms": percentile(latencies, 0.99)}


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
    parser.add_argument("--split", action="store_true",
                        help="run executions+timers and correlation+tasks in two worker processes")
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    database = os.environ.get("STEPSTREAM_DATABASE_URL",
                              "postgresql+psycopg://stepstream:stepstream@127.0.0.1:5433/stepstream")
    raw = kafka_round_trips(bootstrap)
    tag = uuid.uuid4().hex[:8]
    deployment = LocalDeployment(bootstrap, database, prefix=f"mbench{tag}.", schema=f"mbench_{tag}", partitions=12,
                                 handler_modules=("bench.handlers",))
    deployment.prepare()
    try:
        if args.split:
            worker = deployment.start_worker("mbench-exec", agents="executions,timers")
            deployment.start_worker("mbench-corr", agents="correlation,tasks")
            deployment.wait_until_ready(agents="executions,timers")
            deployment.wait_until_ready(agents="correlation,tasks")
        else:
            worker = deployment.start_worker("mbench")
            deployment.wait_until_ready()
        resume = resume_latency(deployment, args.waiters, args.rate, args.load)
        held = held_waits(deployment, worker.pid, args.held) if args.held else None
    finally:
        deployment.stop_all()
        drop_schema(database, deployment.schema)
    print(f"raw kafka round trip         p50 {raw['rtt_p50_ms']:.2f} ms  p99 {raw['rtt_p99_ms']:.2f} ms")
    print(f"message -> resume ({resume['messages']} messages at {resume['rate']:.0f}/s, "
          f"{resume['background_starts_per_s']} background executions/s, {resume['failed']} failed)")
    print(f"                             p50 {resume['p50_ms']:.1f} ms  p99 {resume['p99_ms']:.1f} ms  "
          f"(beyond raw: p50 {resume['p50_ms'] - raw['rtt_p50_ms']:.1f} ms, "
          f"p99 {resume['p99_ms'] - raw['rtt_p99_ms']:.1f} ms)")
    if held:
        steps = ", ".join(f"{n:,}: {mb:.0f} MB" for n, mb in held["rss_samples"])
        print(f"held waits                   {held['held']:,} executions waiting "
              f"({held['seconds_to_all_waiting']:.0f} s to start them all)")
        print(f"  worker RSS                 {held['rss_before_mb']:.0f} MB before; after {steps}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
