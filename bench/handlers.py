"""Task handlers for bench/service_bench.py: instant, so the figures measure stepstream itself."""

from typing import Any


def work(payload: Any) -> dict[str, Any]:
    return {"ok": True}


HANDLERS = {"bench.work": work}
