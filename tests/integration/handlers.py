"""Task handlers the service integration tests run in real worker processes.

Handlers record nothing in memory (workers are separate processes); behaviour is driven by the
payload, so a test decides outcomes through its execution input.
"""

from __future__ import annotations

import time
from typing import Any

import engine


def echo(payload: Any) -> Any:
    return payload


def flaky(payload: dict[str, Any]) -> dict[str, Any]:
    """Fails until the retry count (passed in by the state's Parameters) reaches ``succeed_at``."""
    if payload["retry"] < payload["succeed_at"]:
        raise engine.TaskFailed("Flaky", f"attempt {payload['retry']} failed")
    return {"succeeded_on_retry": payload["retry"]}


def always_fails(payload: Any) -> Any:
    raise engine.TaskFailed("Boom", "the handler always fails")


def slow(payload: dict[str, Any]) -> dict[str, Any]:
    time.sleep(float(payload.get("seconds", 0.2)))
    return {"slept": payload.get("seconds", 0.2)}


def add_one(payload: dict[str, Any]) -> dict[str, Any]:
    return {"n": payload["n"] + 1}


HANDLERS = {"test.echo": echo, "test.flaky": flaky, "test.fails": always_fails, "test.slow": slow,
            "test.add_one": add_one}
