"""pytest plugin: a real Kafka broker and a real PostgreSQL for stepstream's integration tests.

Session fixtures:

* ``kafka_bootstrap``: ``"host:port"`` of a Kafka broker.
* ``postgres_dsn``: a SQLAlchemy URL ``postgresql+psycopg://user:password@host:port/db`` (psycopg 3).

Where they come from is chosen by ``STEPSTREAM_TEST_SERVICES``:

* ``local`` (default): ``scripts/services up`` (idempotent, so this is cheap when they already run) starts a
  Kafka 4.1.1 broker from Maven Central jars and a throwaway Postgres 15 from Debian's binaries on 127.0.0.1,
  and prints the addresses. They are left running after the session (the next run reuses them);
  ``scripts/services down`` stops them.
* ``testcontainers``: testcontainers' Kafka and Postgres containers, if a Docker engine is reachable;
  otherwise this falls back to ``local`` with a warning. testcontainers is imported only in this mode.
* ``external``: use ``KAFKA_BOOTSTRAP`` and ``STEPSTREAM_DATABASE_URL`` from the environment as they are.

Also registers the ``integration`` marker (deselect with ``-m "not integration"``).
"""

from __future__ import annotations

import gc
import os
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICES_SCRIPT = REPO_ROOT / "scripts" / "services"

MODE_VAR = "STEPSTREAM_TEST_SERVICES"
MODES = ("local", "testcontainers", "external")
KAFKA_VAR = "KAFKA_BOOTSTRAP"
DATABASE_VAR = "STEPSTREAM_DATABASE_URL"

# testcontainers mode only; override the images with these variables.
TC_KAFKA_IMAGE = os.environ.get("STEPSTREAM_TC_KAFKA_IMAGE", "confluentinc/cp-kafka:7.6.0")
TC_POSTGRES_IMAGE = os.environ.get("STEPSTREAM_TC_POSTGRES_IMAGE", "postgres:15")

# A cold `scripts/services up` (jar download + initdb + broker start) takes about 10 s here.
SERVICES_UP_TIMEOUT_S = 600


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "integration: needs a real Kafka broker and/or PostgreSQL "
        f"(scripts/services, or testcontainers with {MODE_VAR}=testcontainers)",
    )


def _requested_mode() -> str:
    mode = os.environ.get(MODE_VAR, "").strip().lower() or "local"
    if mode not in MODES:
        raise pytest.UsageError(f"{MODE_VAR}={mode!r}: expected one of {', '.join(MODES)}")
    return mode


def _docker_unreachable_reason() -> str | None:
    """None if a Docker engine answers, else why not."""
    if not os.environ.get("DOCKER_HOST") and not Path("/var/run/docker.sock").exists():
        return "no Docker engine (DOCKER_HOST is unset and /var/run/docker.sock does not exist)"
    try:
        import docker  # installed with testcontainers
    except ImportError:
        return "the testcontainers/docker Python packages are not installed"
    # A failed docker client can leave its socket unclosed: keep that ResourceWarning out of the test run.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            client = docker.from_env(timeout=5)
        except Exception as exc:
            reason: str | None = f"no Docker engine: {exc}"
        else:
            try:
                client.ping()
                reason = None
            except Exception as exc:
                reason = f"the Docker engine does not answer: {exc}"
            finally:
                client.close()
        gc.collect()
    return reason


@pytest.fixture(scope="session")
def stepstream_services_mode() -> str:
    """The source actually used: local, testcontainers or external."""
    mode = _requested_mode()
    if mode == "testcontainers":
        reason = _docker_unreachable_reason()
        if reason is not None:
            warnings.warn(
                f"{MODE_VAR}=testcontainers but {reason}; using scripts/services (local) instead",
                UserWarning,
                stacklevel=1,
            )
            return "local"
    return mode


def _parse_env_lines(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            values[key] = value
    return values


@pytest.fixture(scope="session")
def _stepstream_local_services() -> dict[str, str]:
    """Run `scripts/services up` once per session (idempotent; serialised by a lock across processes)."""
    try:
        proc = subprocess.run(
            [str(SERVICES_SCRIPT), "up"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=SERVICES_UP_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"scripts/services up did not finish within {exc.timeout} s", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(
            f"scripts/services up failed (exit {proc.returncode}):\n{proc.stderr}{proc.stdout}",
            pytrace=False,
        )
    values = _parse_env_lines(proc.stdout)
    missing = [k for k in (KAFKA_VAR, DATABASE_VAR) if not values.get(k)]
    if missing:
        pytest.fail(f"scripts/services up printed no {', '.join(missing)}:\n{proc.stdout}", pytrace=False)
    return values


def _external(var: str) -> str:
    value = os.environ.get(var, "").strip()
    if not value:
        pytest.fail(f"{MODE_VAR}=external needs {var} in the environment", pytrace=False)
    return value


def _kafka_container_class() -> Any:
    try:
        from testcontainers.community.kafka import KafkaContainer  # testcontainers >= 4.15
    except ImportError:
        from testcontainers.kafka import KafkaContainer  # older 4.x
    return KafkaContainer


def _postgres_container_class() -> Any:
    try:
        from testcontainers.community.postgres import PostgresContainer  # testcontainers >= 4.15
    except ImportError:
        from testcontainers.postgres import PostgresContainer  # older 4.x
    return PostgresContainer


@pytest.fixture(scope="session")
def kafka_bootstrap(request: pytest.FixtureRequest, stepstream_services_mode: str) -> Iterator[str]:
    """Bootstrap servers ("host:port") of a real Kafka broker."""
    if stepstream_services_mode == "external":
        yield _external(KAFKA_VAR)
    elif stepstream_services_mode == "testcontainers":
        container = _kafka_container_class()(TC_KAFKA_IMAGE)
        try:  # KRaft like the local broker; needs a cp-kafka >= 7.0 tag
            container = container.with_kraft()
        except (ValueError, AttributeError) as exc:
            warnings.warn(f"{TC_KAFKA_IMAGE}: not using KRaft ({exc})", UserWarning, stacklevel=1)
        with container as kafka:
            yield kafka.get_bootstrap_server()
    else:
        yield request.getfixturevalue("_stepstream_local_services")[KAFKA_VAR]


@pytest.fixture(scope="session")
def postgres_dsn(request: pytest.FixtureRequest, stepstream_services_mode: str) -> Iterator[str]:
    """SQLAlchemy URL ``postgresql+psycopg://...`` of a real PostgreSQL database."""
    if stepstream_services_mode == "external":
        yield _external(DATABASE_VAR)
    elif stepstream_services_mode == "testcontainers":
        container = _postgres_container_class()(
            TC_POSTGRES_IMAGE,
            username="stepstream",
            password="stepstream",
            dbname="stepstream",
            driver="psycopg",
        )
        with container as pg:
            yield pg.get_connection_url()
    else:
        yield request.getfixturevalue("_stepstream_local_services")[DATABASE_VAR]
