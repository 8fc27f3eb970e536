"""What one consumer hop costs, by the library that consumes it.

    scripts/services up && .venv/bin/python bench/hop_bench.py [--count 500] [--every 0.02]

A message to an execution crosses the bus three times (client -> correlation agent -> executions
agent -> client); two of those hops are consumed by the worker. This bench measures one such hop
with nothing else in it: a probe produces to topic A, an echo process consumes A and produces each
record to topic B, the probe consumes B. The echo process consumes with, in turn:

  librdkafka   confluent-kafka's Consumer.poll (librdkafka, C)
  aiokafka     aiokafka's consumer (what faust uses; pure-Python protocol code)
  faust        a plain faust agent (faust on aiokafka, as the worker configures it)
  stepstream   the worker's own agent machinery (streams.agent_loop.batched_agent) with a batch
               step that only produces: the worker's hop without Postgres or the engine

Every echo produces with the worker's producer settings (confluent-kafka, linger 0). Prints, per
consumer, the round trip p50/p99 and what the hop adds to the raw round trip (the probe producing
straight to B) measured in the same run, just before.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.service_bench import drain_until_assigned, percentile  # noqa: E402

CONSUMERS = ("librdkafka", "aiokafka", "faust", "stepstream", "faust-rdkafka", "stepstream-rdkafka")
PARTITIONS = 4


def _producer(bootstrap: str) -> Any:
    from confluent_kafka import Producer

    return Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "enable.idempotence": True})


# ---------------------------------------------------------------- the echo process


def echo_librdkafka(bootstrap: str, source: str, target: str) -> None:
    from confluent_kafka import Consumer

    out = _producer(bootstrap)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"echo-{source}",
                         "auto.offset.reset": "latest"})
    consumer.subscribe([source])
    while True:
        message = consumer.poll(1.0)
        if message is not None and not message.error():
            out.produce(target, key=message.key(), value=message.value())
            out.poll(0)


def echo_aiokafka(bootstrap: str, source: str, target: str) -> None:
    from aiokafka import AIOKafkaConsumer

    out = _producer(bootstrap)

    async def run() -> None:
        consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, group_id=f"echo-{source}",
                                    auto_offset_reset="latest")
        await consumer.start()
        async for message in consumer:
            out.produce(target, key=message.key, value=message.value)
            out.poll(0)

    asyncio.run(run())


def _faust_app(bootstrap: str, source: str, scheme: str) -> Any:
    import faust

    from streams import faust_rdkafka

    faust_rdkafka.register()
    # The worker's faust settings (streams/app.py) where they bear on consuming.
    return faust.App(f"echo-{source}", broker=f"{scheme}://{bootstrap}", value_serializer="raw",
                     key_serializer="raw", store="memory://", topic_allow_declare=False,
                     topic_disable_leader=True, web_enabled=False, consumer_auto_offset_reset="latest",
                     datadir=tempfile.mkdtemp(prefix="hop-bench-faust-"), autodiscover=False)


def echo_faust(bootstrap: str, source: str, target: str, scheme: str = "kafka") -> None:
    from streams.agent_loop import topic

    app = _faust_app(bootstrap, source, scheme)
    out = _producer(bootstrap)

    async def echo(stream: Any) -> None:
        async for event in stream.events():
            out.produce(target, key=event.message.key, value=event.message.value)
            out.poll(0)

    app.agent(topic(app, source, PARTITIONS), name="echo")(echo)
    _run_faust(app)


def echo_stepstream(bootstrap: str, source: str, target: str, scheme: str = "kafka") -> None:
    from streams.agent_loop import Finish, batched_agent
    from streams.agent_stats import BatchTimings
    from streams.publisher import Outgoing, Publisher

    app = _faust_app(bootstrap, source, scheme)
    publisher = Publisher(bootstrap)

    async def apply(events: list[Any]) -> Finish:
        sent = publisher.send([Outgoing(target, e.message.key, e.message.value) for e in events])

        async def settle() -> None:
            await sent

        return settle

    batched_agent(app, source, PARTITIONS, "echo", 32, apply, BatchTimings("echo"))
    _run_faust(app)


def _run_faust(app: Any) -> None:
    sys.argv = ["hop-bench", "worker", "--without-web", "--loglevel", "warn"]
    app.main()


ECHOES = {"librdkafka": echo_librdkafka, "aiokafka": echo_aiokafka, "faust": echo_faust,
          "stepstream": echo_stepstream,
          "faust-rdkafka": partial(echo_faust, scheme="rdkafka"),
          "stepstream-rdkafka": partial(echo_stepstream, scheme="rdkafka")}


# ---------------------------------------------------------------- the probe


class Probe:
    """Produces records carrying their send time and consumes them back from ``target``."""

    def __init__(self, bootstrap: str, target: str) -> None:
        from confluent_kafka import Consumer

        self.producer = _producer(bootstrap)
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"probe-{target}",
                                  "auto.offset.reset": "latest"})
        self.consumer.subscribe([target])
        drain_until_assigned(self.consumer)

    def round_trip(self, topic: str, timeout: float = 1.0) -> float | None:
        """Milliseconds from producing to ``topic`` until the record is back; None if it is not back in time."""
        sent = time.perf_counter()
        marker = uuid.uuid4().hex.encode()
        self.producer.produce(topic, key=marker, value=marker)
        self.producer.poll(0)
        while time.perf_counter() - sent < timeout:
            message = self.consumer.poll(timeout)
            if message is not None and not message.error() and message.value() == marker:
                return (time.perf_counter() - sent) * 1000
        return None

    def series(self, topic: str, count: int, every: float) -> list[float]:
        latencies = []
        for _ in range(count):
            latency = self.round_trip(topic)
            if latency is not None:
                latencies.append(latency)
            time.sleep(every)
        return latencies

    def close(self) -> None:
        self.consumer.close()


def measure(bootstrap: str, consumer: str, count: int, every: float) -> dict[str, float]:
    from confluent_kafka.admin import AdminClient, NewTopic

    run = uuid.uuid4().hex[:8]
    source, target = f"hop-a-{run}", f"hop-b-{run}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(source, PARTITIONS, 1), NewTopic(target, PARTITIONS, 1)]).values():
        future.result(15)
    echo = subprocess.Popen([sys.executable, __file__, "--echo", consumer, "--source", source, "--target", target,
                             "--bootstrap", bootstrap], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    probe = Probe(bootstrap, target)
    try:
        deadline = time.monotonic() + 90
        while probe.round_trip(source, timeout=0.5) is None:  # the echo has joined its group when one comes back
            if time.monotonic() > deadline or echo.poll() is not None:
                raise RuntimeError(f"the {consumer} echo never answered")
        probe.series(source, 50, every)  # warm up
        raw = probe.series(target, count, every)
        hop = probe.series(source, count, every)
    finally:
        probe.close()
        echo.kill()
        echo.wait()
        admin.delete_topics([source, target])
    return {"raw_p50": percentile(raw, 0.5), "raw_p99": percentile(raw, 0.99),
            "hop_p50": percentile(hop, 0.5), "hop_p99": percentile(hop, 0.99)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=500, help="round trips per series")
    parser.add_argument("--every", type=float, default=0.02, help="pause between round trips (s)")
    parser.add_argument("--consumers", default=",".join(CONSUMERS))
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    parser.add_argument("--echo", choices=CONSUMERS, help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo:
        ECHOES[args.echo](args.bootstrap, args.source, args.target)
        return 0
    print(f"one consumer hop, {args.count} round trips each, one every {args.every * 1000:.0f} ms")
    for consumer in args.consumers.split(","):
        figures = measure(args.bootstrap, consumer, args.count, args.every)
        print(f"  {consumer:<11} round trip p50 {figures['hop_p50']:5.2f} ms  p99 {figures['hop_p99']:6.2f} ms   "
              f"adds p50 {figures['hop_p50'] - figures['raw_p50']:5.2f} ms to the raw round trip "
              f"(p50 {figures['raw_p50']:.2f} ms, p99 {figures['raw_p99']:.2f} ms)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
