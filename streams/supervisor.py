"""``stepstream worker --processes N``: one worker command whose agents run in N processes.

One Python process runs on one core at a time (the GIL), and a worker running every agent keeps
that core busy well before the machine is: a message waits behind the executions agent's engine
work, the task handlers and faust's dispatch of every other agent. Splitting the agents over
processes gives each group its own interpreter. The parent prepares topics and schema once, starts
one child worker per group, forwards SIGTERM/SIGINT to them, and when one child ends stops the
others, so a deployment (systemd, Kubernetes) sees one unit that lives and dies as a whole.

Each group is its own consumer group (see ``create_app``): switching an existing deployment from
one process to several starts new groups, which read their topics from the earliest offset. Every
command is idempotent, so nothing is applied twice, but the new groups re-read what the topics
retain; switch on an empty or drained deployment.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

from streams.settings import AGENTS, Settings

log = logging.getLogger("stepstream")

#: How agents are grouped for each process count. Two keeps the message path (correlation) apart
#: from the engine (executions); the timer agent is light and feeds the executions agent.
PROCESS_GROUPS: dict[int, tuple[tuple[str, ...], ...]] = {
    1: (AGENTS,),
    2: (("executions", "timers"), ("correlation", "tasks")),
    3: (("executions",), ("correlation",), ("timers", "tasks")),
    4: tuple((agent,) for agent in AGENTS),
}

#: Seconds a child gets to stop after SIGTERM before it is killed.
STOP_GRACE = 30.0


def agent_groups(processes: int, agents: Sequence[str]) -> list[tuple[str, ...]]:
    """The agent set of each process: the ``processes`` grouping, keeping only ``agents``, empty groups dropped."""
    if processes not in PROCESS_GROUPS:
        raise ValueError(f"--processes: {processes} is not one of {', '.join(map(str, PROCESS_GROUPS))}")
    wanted = set(agents)
    groups = [tuple(a for a in group if a in wanted) for group in PROCESS_GROUPS[processes]]
    return [group for group in groups if group]


def child_environment(group: Sequence[str], settings: Settings) -> dict[str, str]:
    """A child worker's environment: the parent's, with the settings its flags changed (not flags: a
    database URL on a command line shows in ``ps``), and the child's agents."""
    return {**os.environ, "KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "STEPSTREAM_DATABASE_URL": settings.database_url,
            "STEPSTREAM_TOPIC_PREFIX": settings.topic_prefix, "STEPSTREAM_HANDLERS": ",".join(settings.handler_modules),
            "STEPSTREAM_AGENTS": ",".join(group), "STEPSTREAM_PROCESSES": "1",
            "STEPSTREAM_WORKER_NAME": f"{settings.worker_name}-{'-'.join(group)}"}


def run_supervisor(settings: Settings, groups: Sequence[tuple[str, ...]], *, loglevel: str = "info") -> int:
    """Run one child worker per group until a signal or a child ends; returns the exit status."""
    from streams.worker import prepare

    prepare(settings)  # once, here: children racing to migrate the schema would collide
    return _Supervisor(settings, groups, loglevel).run()


class _Supervisor:
    def __init__(self, settings: Settings, groups: Sequence[tuple[str, ...]], loglevel: str) -> None:
        self.settings = settings
        self.groups = groups
        self.loglevel = loglevel
        self.children: list[subprocess.Popen[bytes]] = []
        self.terminated: set[int] = set()
        self.stopping = False

    def run(self) -> int:
        previous = {signum: signal.signal(signum, self._on_signal) for signum in (signal.SIGTERM, signal.SIGINT)}
        try:
            for group in self.groups:
                if self.stopping:
                    break
                command = [sys.executable, "-m", "streams.cli", "worker", "--loglevel", self.loglevel]
                self.children.append(subprocess.Popen(command, env=child_environment(group, self.settings)))
                log.info("worker %s: agents %s in process %d", self.settings.worker_name, ",".join(group),
                         self.children[-1].pid)
            first = self._wait_for_first_exit() if self.children else 0
            if self.children and not self.stopping:
                log.error("worker process %d (agents %s) exited with status %s; stopping the others",
                          self.children[first].pid, ",".join(self.groups[first]), self.children[first].returncode)
            statuses = self._stop_all()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if self.stopping:
            return max((_status(s) for s in statuses), default=0)
        return _status(statuses[first]) or 1  # a child that ended on its own is a failure of the whole worker

    def _on_signal(self, _signum: int, _frame: object) -> None:
        self.stopping = True
        self._terminate()

    def _terminate(self) -> None:
        # Once each: a second SIGTERM would cut a faust worker's shutdown (and its offset commits) short.
        for child in self.children:
            if child.poll() is None and child.pid not in self.terminated:
                self.terminated.add(child.pid)
                child.send_signal(signal.SIGTERM)

    def _wait_for_first_exit(self) -> int:
        while True:
            for index, child in enumerate(self.children):
                if child.poll() is not None:
                    return index
            time.sleep(0.2)

    def _stop_all(self) -> list[int]:
        self._terminate()
        deadline = time.monotonic() + STOP_GRACE
        for child in self.children:
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("worker process %d did not stop within %.0fs; killing it", child.pid, STOP_GRACE)
                child.kill()
                child.wait()
        for child in self.children:
            log.info("worker process %d exited with status %d", child.pid, child.returncode)
        return [child.returncode for child in self.children]


def _status(returncode: int) -> int:
    return 1 if returncode < 0 else returncode  # killed by a signal: a failure
