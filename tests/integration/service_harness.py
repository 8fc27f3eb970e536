"""pytest fixture: an isolated stepstream deployment with test handlers (see streams/deployment.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from streams.deployment import LocalDeployment, drop_schema

Service = LocalDeployment


@pytest.fixture
def service(kafka_bootstrap: str, postgres_dsn: str) -> Iterator[LocalDeployment]:
    tag = uuid.uuid4().hex[:10]
    svc = LocalDeployment(kafka_bootstrap, postgres_dsn, prefix=f"t{tag}.", schema=f"t_{tag}",
                          handler_modules=("tests.integration.handlers",))
    svc.prepare()
    try:
        yield svc
    finally:
        svc.stop_all()
        svc.delete_topics()  # every partition left behind costs the broker files and metadata
        drop_schema(postgres_dsn, svc.schema)
