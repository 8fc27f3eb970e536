"""``stepstream worker``: prepare topics and schema, then run the agents until stopped.

Topics are created before the consumers start (a consumer subscribed to a missing topic waits
for a metadata refresh), and the schema is migrated first, so a fresh deployment needs nothing
but a broker and a database.
"""

from __future__ import annotations

import gc
import logging
import signal
from typing import Any

from streams.agent_stats import GC_PAUSES
from streams.settings import Settings

log = logging.getLogger("stepstream")


def load_handlers(modules: tuple[str, ...]) -> dict[str, Any]:
    from streams.cli import load_handlers as load

    return load(list(modules))


def prepare(settings: Settings) -> None:
    """Create missing topics and migrate the database (both idempotent)."""
    from topics.catalogue import Catalogue, ensure_topics

    created = ensure_topics(settings.kafka_bootstrap, Catalogue(settings.topic_prefix, settings.partitions))
    if created:
        log.info("created topics: %s", ", ".join(created))
    store = settings.open_store()
    try:
        store.migrate()
    finally:
        store.close()


def run_worker(settings: Settings, *, loglevel: str = "info") -> int:
    """Run a worker in the foreground; returns the exit status."""
    from faust.worker import Worker

    from streams.app import create_app

    handlers = load_handlers(settings.handler_modules)
    prepare(settings)
    app = create_app(settings, handlers=handlers)
    log.info("worker %s: %d task handler(s), topics %s*", settings.worker_name, len(handlers),
             settings.topic_prefix)
    worker = Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False, override_logging=True)
    _stop_on(signal.SIGTERM, worker)
    _tune_garbage_collector()
    status = 0
    try:
        worker.execute_from_commandline()  # returns only by raising SystemExit
    except SystemExit as exc:
        status = int(exc.code or 0)
    finally:
        app.stepstream.publisher.close()  # type: ignore[attr-defined]
    return status


def _stop_on(signum: int, worker: Any) -> None:
    # faust installs its own SIGINT handling; SIGTERM (docker stop, scripts) should stop as cleanly.
    signal.signal(signum, lambda *_: worker.loop.call_soon_threadsafe(worker.stop_and_shutdown))


def _tune_garbage_collector() -> None:
    """Keep CPython's full collections short: they stop every thread of the worker.

    The ~100,000 objects that exist once the app is built (modules, faust, SQLAlchemy) live as
    long as the process, yet every full collection walked them: about 30 ms each, which showed
    in the message latency's p99. Freezing them leaves collections only the objects made since.
    Pauses are counted (``GC_PAUSES``) and the stats logger reports the slow ones.
    """
    gc.collect()
    gc.freeze()
    gc.callbacks.append(GC_PAUSES.observe)
