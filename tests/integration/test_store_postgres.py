"""SqlStore on a real Postgres: the same contract as MemoryStore, plus what only a database can show.

Each test gets a fresh schema (migrated from scratch) and drops it afterwards, so tests are
independent and can run against a shared database. Run with:

    .venv/bin/python -m pytest -p tests.integration.conftest_services tests/integration/test_store_postgres.py
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.exc import IntegrityError

from streams.store import BatchWrite, ConflictError, OutboxRow, SqlStore, Store
from streams.store.migrate import current_revision, head_revision, upgrade
from streams.store.schema import metadata
from tests.unit.test_store_memory import RETENTION, T0, StoreContract, batch, described, write

pytestmark = pytest.mark.integration


@pytest.fixture
def schema(postgres_dsn: str) -> Iterator[str]:
    """A unique schema name, dropped with everything in it after the test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield name
    admin = create_engine(postgres_dsn)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture
def sql_store(postgres_dsn: str, schema: str) -> Iterator[SqlStore]:
    store = SqlStore(postgres_dsn, schema=schema, pool_size=2, message_retention_seconds=RETENTION)
    store.migrate()
    yield store
    store.close()


class TestSqlStoreContract(StoreContract):
    """The contract on Postgres."""

    @pytest.fixture
    def store(self, sql_store: SqlStore) -> Store:
        return sql_store


def test_migrate_twice_is_a_noop(sql_store: SqlStore) -> None:
    assert current_revision(sql_store.engine) == head_revision() == "0002"
    tables = sorted(inspect(sql_store.engine).get_table_names())
    sql_store.deploy("orders", {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}, now=T0)
    sql_store.migrate()
    assert current_revision(sql_store.engine) == "0002"
    assert sorted(inspect(sql_store.engine).get_table_names()) == tables
    assert sql_store.get_state_machine("orders") is not None


def test_upgrade_from_the_first_revision(postgres_dsn: str, schema: str) -> None:
    store = SqlStore(postgres_dsn, schema=schema, pool_size=0)
    try:
        upgrade(store.engine, schema=schema, revision="0001")
        assert current_revision(store.engine) == "0001"
        store.migrate()
        assert current_revision(store.engine) == head_revision()
        with store.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        store.close()


def test_migrations_build_exactly_the_metadata(sql_store: SqlStore) -> None:
    """streams/store/schema.py (what the queries use) and the migrations (what creates tables) agree."""
    with sql_store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    tables = set(inspect(sql_store.engine).get_table_names())
    assert tables == {"alembic_version", "state_machines", "executions", "history", "outbox", "timers",
                      "subscriptions", "buffered_messages", "seen_messages"}


def test_schemas_are_isolated(postgres_dsn: str, sql_store: SqlStore, schema: str) -> None:
    sql_store.commit_batch(batch(write("exec-1", 1)))
    other_schema = f"{schema}_b"
    other = SqlStore(postgres_dsn, schema=other_schema, pool_size=0)
    try:
        other.migrate()
        assert other.load_executions(["exec-1"]) == {}
    finally:
        with other.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{other_schema}" CASCADE'))
        other.close()


def test_error_mid_batch_leaves_nothing(sql_store: SqlStore) -> None:
    """The executions and history statements succeed, then the outbox insert fails: all rolled back."""
    broken = OutboxRow("exec-2", 5, 0, 0, None, b"k", b"v")  # type: ignore[arg-type]  # topic is NOT NULL
    good = write("exec-1", 4, history=3, outbox=1)
    bad = write("exec-2", 5, history=2)
    bad = type(bad)(**{**bad.__dict__, "outbox": [broken]})
    with pytest.raises(IntegrityError):
        sql_store.commit_batch(BatchWrite([good, bad], now=T0))
    assert sql_store.load_executions(["exec-1", "exec-2"]) == {}
    assert sql_store.history("exec-1") == []
    assert sql_store.pending_outbox([0]) == []
    sql_store.commit_batch(BatchWrite([good], now=T0))  # the store is usable afterwards
    assert sql_store.describe("exec-1") is not None


def test_replayed_batch_changes_no_row(sql_store: SqlStore) -> None:
    first = batch(write("exec-1", 5, history=3, outbox=2), write("exec-2", 6, history=1, outbox=1))
    sql_store.commit_batch(first)
    counts = _row_counts(sql_store)
    assert sql_store.commit_batch(first).replayed == ("exec-1", "exec-2")
    assert _row_counts(sql_store) == counts == {"executions": 2, "history": 4, "outbox": 3}


@pytest.mark.parametrize("expected", [1, None], ids=["existing", "new"])
def test_concurrent_writers_one_wins(postgres_dsn: str, sql_store: SqlStore, schema: str,
                                     expected: int | None) -> None:
    """Two workers both believe they own exec-1 (a rebalance): exactly one write lands.

    The loser sees a conflict, or a replay when the winner's offset already covers its write;
    either way it wrote nothing. With ``expected`` None both create the execution at once.
    """
    if expected is not None:
        sql_store.commit_batch(batch(write("exec-1", expected)))
    other = SqlStore(postgres_dsn, schema=schema, pool_size=1)
    outcomes: dict[int, str] = {}
    barrier = threading.Barrier(2)

    def commit(store: SqlStore, offset: int) -> None:
        barrier.wait()
        try:
            result = store.commit_batch(batch(write("exec-1", offset, expected=expected, history=1,
                                                    first_event=offset)))
            outcomes[offset] = "committed" if result.applied else "replayed"
        except ConflictError:
            outcomes[offset] = "conflict"

    threads = [threading.Thread(target=commit, args=(s, o)) for s, o in ((sql_store, 5), (other, 6))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    other.close()
    assert sorted(outcomes.values()) in (["committed", "conflict"], ["committed", "replayed"])
    (winner,) = [offset for offset, outcome in outcomes.items() if outcome == "committed"]
    assert [h.event_id for h in sql_store.history("exec-1")] == [winner]
    assert described(sql_store, "exec-1").last_offset == winner


def test_measure_commit_batch_throughput(sql_store: SqlStore) -> None:
    """Rows/s for batches of 500 executions x (1 snapshot + 3 history + 2 outbox rows); printed, not asserted."""
    executions, rounds = 500, 5
    rows_per_batch = executions * (1 + 3 + 2)
    elapsed: list[float] = []
    for round_no in range(rounds):
        writes = [
            write(f"exec-{i:04d}", 10 * (round_no + 1), expected=None if round_no == 0 else 10 * round_no,
                  partition=i % 12, history=3, first_event=3 * round_no + 1, outbox=2)
            for i in range(executions)
        ]
        started = time.perf_counter()
        result = sql_store.commit_batch(batch(*writes, now=T0 + round_no))
        elapsed.append(time.perf_counter() - started)
        assert len(result.applied) == executions
    best, median = min(elapsed), sorted(elapsed)[rounds // 2]
    print(f"\ncommit_batch: {executions} executions x (1 snapshot + 3 history + 2 outbox) = {rows_per_batch} rows;"
          f" best {best * 1000:.0f} ms ({rows_per_batch / best:,.0f} rows/s, {executions / best:,.0f} executions/s),"
          f" median {median * 1000:.0f} ms ({rows_per_batch / median:,.0f} rows/s) over {rounds} batches")
    loads = []
    for _ in range(rounds):
        started = time.perf_counter()
        assert len(sql_store.load_executions(f"exec-{i:04d}" for i in range(executions))) == executions
        loads.append(time.perf_counter() - started)
    print(f"load_executions: {executions} executions in {min(loads) * 1000:.0f} ms (best of {rounds})")
    assert _row_counts(sql_store) == {"executions": executions, "history": 3 * executions * rounds,
                                      "outbox": 2 * executions * rounds}


def test_batched_correlation_reads_use_the_primary_keys(sql_store: SqlStore) -> None:
    """find_correlations and seen_message_ids on 100k stored rows per table: index lookups, never a table scan.

    EXPLAINs the statements exactly as the store sent them (captured from the engine), and
    prints how long 500 keys take; the time is printed, not asserted.
    """
    with sql_store.engine.begin() as conn:
        for table, key, prefix in (("subscriptions", "orderId", "sub"), ("buffered_messages", "paymentId", "msg")):
            extra = "jsonb_build_object('n', g), :t0 + (g % 7) * 100, true," if table == "buffered_messages" else ""
            conn.execute(text(f"""
                INSERT INTO {table}
                SELECT :key, v.t, v.t::jsonb, '{prefix}-' || g || '-' || n,
                       {extra if extra else "'exec-' || g,"} to_timestamp(:t0 + g + n)
                FROM generate_series(1, 50000) g, generate_series(1, 2) n,
                     LATERAL (SELECT CASE WHEN g % 2 = 0 THEN g::text ELSE '"' || g || '"' END AS t) v
            """), {"key": key, "t0": T0})
        conn.execute(text("INSERT INTO seen_messages SELECT 'seen-' || g, :t0 + g / 100.0"
                          " FROM generate_series(1, 100000) g"), {"t0": T0})  # all within the retention window
        conn.execute(text("ANALYZE subscriptions, buffered_messages, seen_messages"))
    orders = [("orderId", g if g % 2 == 0 else str(g)) for g in range(1, 50001, 100)]  # 500 stored values
    payments = [("paymentId", value) for _, value in orders]
    message_ids = [f"seen-{g}" for g in range(1, 100001, 250)] + [f"new-{n}" for n in range(100)]
    now = T0 + 300

    statements: list[tuple[str, object]] = []

    def capture(_conn: object, _cursor: object, statement: str, parameters: object, *_: object) -> None:
        statements.append((statement, parameters))

    event.listen(sql_store.engine, "before_cursor_execute", capture)
    try:
        found = sql_store.find_correlations(orders + payments, now)
        seen = sql_store.seen_message_ids(message_ids, T0 + 1000)
    finally:
        event.remove(sql_store.engine, "before_cursor_execute", capture)
    assert len(found) == 1000
    assert sum(len(waits) for waits, _ in found.values()) == 1000  # two waits per stored order value
    assert sum(len(kept) for _, kept in found.values()) == 2 * sum(
        1 for g in range(1, 50001, 100) if (g % 7) * 100 > 300)
    assert seen == set(message_ids[:400])
    assert len(statements) == 3  # one per table
    plans = []
    with sql_store.engine.connect() as conn:
        for statement, parameters in statements:
            explained = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)  # type: ignore[arg-type]
            plans.append("\n".join(explained.scalars()))
    for plan, index in zip(plans, ("subscriptions_pkey", "buffered_messages_pkey", "seen_messages_pkey"), strict=True):
        assert f"Index Scan using {index}" in plan, plan
        assert "Seq Scan" not in plan, plan

    timings: dict[str, list[float]] = {"find_correlations": [], "seen_message_ids": []}
    for _ in range(5):
        started = time.perf_counter()
        sql_store.find_correlations(orders, now)
        timings["find_correlations"].append(time.perf_counter() - started)
        started = time.perf_counter()
        sql_store.seen_message_ids(message_ids, T0 + 1000)
        timings["seen_message_ids"].append(time.perf_counter() - started)
    print(f"\nfind_correlations: 500 keys against 100k subscriptions + 100k buffered messages in"
          f" {min(timings['find_correlations']) * 1000:.1f} ms; seen_message_ids: 500 ids against 100k seen in"
          f" {min(timings['seen_message_ids']) * 1000:.1f} ms (best of 5)")


def _row_counts(store: SqlStore) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("executions", "history", "outbox")}
