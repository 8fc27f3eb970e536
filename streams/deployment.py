"""Run an isolated stepstream deployment with real worker processes (tests and benchmarks).

A deployment is a topic prefix (a fresh generation of topics) plus a Postgres schema on a shared
broker and database, so several can coexist. Workers are plain ``stepstream worker`` processes,
so a test can SIGKILL one exactly as a machine would die.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def drop_schema(url: str, schema: str) -> None:
    """Drop a deployment's schema and everything in it."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()


@dataclass
class LocalDeployment:
    """One isolated stepstream deployment (topic prefix + Postgres schema) on a shared broker and database."""

    bootstrap: str
    database_url: str
    prefix: str
    schema: str
    partitions: int = 6
    handler_modules: tuple[str, ...] = ()
    loglevel: str = "info"
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "KAFKA_BOOTSTRAP": self.bootstrap, "STEPSTREAM_DATABASE_URL": self.database_url,
                "STEPSTREAM_TOPIC_PREFIX": self.prefix, "STEPSTREAM_DATABASE_SCHEMA": self.schema,
                "STEPSTREAM_PARTITIONS": str(self.partitions), "STEPSTREAM_APP_ID": f"app-{self.prefix}",
                "PYTHONPATH": str(ROOT)}

    def settings(self) -> Any:
        from streams.settings import Settings

        return Settings(kafka_bootstrap=self.bootstrap, database_url=self.database_url, topic_prefix=self.prefix,
                        database_schema=self.schema, partitions=self.partitions, app_id=f"app-{self.prefix}")

    def prepare(self) -> None:
        from streams.worker import prepare

        prepare(self.settings())

    def store(self) -> Any:
        return self.settings().open_store()

    def client(self) -> Any:
        from topics.catalogue import Catalogue
        from topics.client import StepstreamClient

        return StepstreamClient(self.bootstrap, catalogue=Catalogue(self.prefix, self.partitions))

    def deploy(self, name: str, definition: dict[str, Any]) -> int:
        """Validate and store a definition, as ``stepstream deploy`` does."""
        from engine import InvalidDefinition, validate

        problems = validate(definition)
        if problems:
            raise InvalidDefinition(problems)
        store = self.store()
        try:
            version: int = store.deploy(name, definition)
            return version
        finally:
            store.close()

    def start_worker(self, name: str = "w", agents: str | None = None,
                     processes: int | None = None) -> subprocess.Popen[bytes]:
        log = Path(tempfile.gettempdir()) / f"stepstream-{self.prefix}{name}.log"
        self.logs.append(log)
        env = {**self.env, "STEPSTREAM_WORKER_NAME": name}
        if agents:
            env["STEPSTREAM_AGENTS"] = agents
        if processes:
            env["STEPSTREAM_PROCESSES"] = str(processes)
        with log.open("wb") as out:  # the child keeps its own descriptor
            proc = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "worker", "--loglevel", self.loglevel,
                 *[arg for module in self.handler_modules for arg in ("--handlers", module)]],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.workers.append(proc)
        return proc

    def wait_until_ready(self, workers: int = 1, timeout: float = 90.0, agents: str | None = None,
                         processes: int = 1) -> None:
        """Wait until ``workers`` members of the consumer group (of workers running ``agents``) own partitions.

        Workers started with ``processes`` > 1 form one group per process: every one is waited for.
        """
        if processes > 1:
            from streams.settings import AGENTS, agent_list
            from streams.supervisor import agent_groups

            for process_agents in agent_groups(processes, agent_list(agents, "agents") or AGENTS):
                self.wait_until_ready(workers, timeout, ",".join(process_agents))
            return
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        group = f"app-{self.prefix}" + (f"-{agents.replace(',', '-')}" if agents else "")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                members = admin.describe_consumer_groups([group])[group].result(timeout=10).members
                if len(members) >= workers and all(m.assignment.topic_partitions for m in members):
                    return
            except Exception:  # the group does not exist yet
                pass
            time.sleep(0.3)
        raise TimeoutError(f"workers of {group} not ready after {timeout}s\n{self.log_tail()}")

    def kill(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=30)

    def stop_all(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def delete_topics(self) -> None:
        """Delete this deployment's topics (its prefix's), e.g. after a benchmark.

        Every partition is a log with open files on the broker: runs that leave theirs behind
        eventually exhaust the broker's file descriptors.
        """
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        names = [name for name in admin.list_topics(timeout=10).topics if name.startswith(self.prefix)]
        for future in admin.delete_topics(names).values() if names else ():
            future.result(30)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(f"--- {log}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
                         for log in self.logs if log.exists())

    def wait_for_status(self, execution_ids: list[str], *, timeout: float = 60.0,
                        statuses: tuple[str, ...] = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"),
                        poll: float = 0.2) -> dict[str, Any]:
        """Poll Postgres until every execution has one of ``statuses``; returns records by id."""
        store = self.store()
        try:
            deadline = time.monotonic() + timeout
            while True:
                records = store.load_executions(execution_ids)
                if all(r.status in statuses for r in records.values()) and len(records) == len(execution_ids):
                    return records
                if time.monotonic() > deadline:
                    pending = {i: (records[i].status if i in records else "absent") for i in execution_ids
                               if i not in records or records[i].status not in statuses}
                    raise AssertionError(f"not finished after {timeout}s: {list(pending.items())[:10]}\n"
                                         + self.log_tail())
                time.sleep(poll)
        finally:
            store.close()
