"""SqlStore on a real Postgres: the same contract as MemoryStore, plus what only a database can show.

Each test gets a fresh schema (migrated from scratch) and drops it afterwards, so tests are
independent and can run against a shared database. Run with:

    .venv/bin/python -m pytest -p tests.integration.conftest_services tests/integration/test_store_postgres.py
"""

from __future__ import annotations

import math
import selectors
import socket
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, event, inspect, make_url, text
from sqlalchemy.exc import IntegrityError, OperationalError

from streams.store import (
    BatchWrite,
    ConflictError,
    ExecutionWrite,
    HistoryRow,
    OutboxRow,
    SqlStore,
    Store,
    StoreError,
    Subscription,
    SubscriptionKey,
    TimerRow,
    sql_batch,
    sql_small,
)
from streams.store.migrate import current_revision, head_revision, upgrade
from streams.store.schema import metadata
from tests.unit.test_store_memory import (
    RETENTION,
    T0,
    StoreContract,
    batch,
    described,
    outbox_rows,
    snapshot,
    write,
)

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


SMALL, COPY = "small", "copy"
#: ``small_batch_max`` that sends every batch down one path: the one-statement path or the COPY path.
FORCE = {SMALL: 10**9, COPY: -1}


class TestSqlStoreContract(StoreContract):
    """The contract on Postgres, batches routed by size as in production."""

    @pytest.fixture
    def store(self, sql_store: SqlStore) -> Store:
        return sql_store


class TestSqlStoreContractSmallPath(StoreContract):
    """The contract with every batch, however large, on the one-statement path (streams/store/sql_small.py)."""

    @pytest.fixture
    def store(self, sql_store: SqlStore) -> Store:
        sql_store.small_batch_max = FORCE[SMALL]
        return sql_store


class TestSqlStoreContractCopyPath(StoreContract):
    """The contract with every batch, however small, on the COPY path (streams/store/sql_batch.py)."""

    @pytest.fixture
    def store(self, sql_store: SqlStore) -> Store:
        sql_store.small_batch_max = FORCE[COPY]
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


@pytest.mark.parametrize("path", [SMALL, COPY])
@pytest.mark.parametrize("expected", [1, None], ids=["existing", "new"])
def test_concurrent_writers_one_wins(postgres_dsn: str, sql_store: SqlStore, schema: str,
                                     expected: int | None, path: str) -> None:
    """Two workers both believe they own exec-1 (a rebalance): exactly one write lands.

    The loser sees a conflict, or a replay when the winner's offset already covers its write;
    either way it wrote nothing. With ``expected`` None both create the execution at once.
    """
    if expected is not None:
        sql_store.commit_batch(batch(write("exec-1", expected)))
    other = SqlStore(postgres_dsn, schema=schema, pool_size=1)
    sql_store.small_batch_max = other.small_batch_max = FORCE[path]
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


# ---------------------------------------------------------------- the one-statement path and the COPY path agree


def _batch_of(*writes: ExecutionWrite, now: float = T0 + 1) -> BatchWrite:
    return BatchWrite(list(writes), now=now)


def _with(w: ExecutionWrite, **changes: Any) -> ExecutionWrite:
    return replace(w, **changes)


def _sub(value: Any, sub_id: str, execution_id: str, created_at: float = 0.0, key: str = "orderId") -> Subscription:
    return Subscription(key, value, sub_id, execution_id, created_at=created_at)


def _scenario_lifecycle() -> list[BatchWrite]:
    """New executions, then updates with overlapping rows, timers and waits, replays and conflicts."""
    first = _batch_of(
        write("e1", 5, history=3, outbox=2, timers_added=[TimerRow("e1", "t1", 0, T0 + 10, "wait"),
                                                          TimerRow("e1", "t2", 0, T0 + 20, "task_timeout")],
              subscriptions_added=[_sub(42, "s1", "e1"), _sub("42", "s1-text", "e1", created_at=T0 - 5)]),
        write("e2", 6, partition=1, history=1, outbox=1),
    )
    e1 = write("e1", 9, expected=5, history=3, first_event=3, outbox=2)
    second = _batch_of(
        _with(e1, history=[replace(h, type="Changed") for h in e1.history],  # event 3 exists: kept as it was
              outbox=[*e1.outbox, *outbox_rows("e1", 5, 3)],  # (5, 0) and (5, 1) exist: kept
              timers_removed=["t2", "unknown", "t2"],
              timers_added=[TimerRow("e1", "t1", 0, T0 + 11, "wait"), TimerRow("e1", "t3", 0, T0 + 30, "wait"),
                            TimerRow("e1", "t3", 0, T0 + 31.5, "wait-again")],  # the last t3 wins
              subscriptions_removed=[SubscriptionKey("orderId", 42, "s1"), SubscriptionKey("orderId", 7, "nope")],
              subscriptions_added=[_sub(43, "s2", "e1"), _sub(43, "s2", "e1", created_at=T0 + 50),  # the first wins
                                   _sub("42", "s1-text", "e1", created_at=T0 + 60)]),  # exists: kept
        write("e2", 8, expected=6, partition=1, status="SUCCEEDED", output={"ok": [1, 2.5, None]}, stop=T0 + 3,
              history=2, first_event=2, outbox=1),
        now=T0 + 2,
    )
    replayed_one = _batch_of(write("e1", 9, expected=5, history=9, first_event=20, outbox=4),  # covered: skipped
                             write("e3", 3, partition=2, history=2, outbox=1), now=T0 + 3)
    stale = _batch_of(write("e4", 1, history=1, outbox=1), write("e2", 12, expected=6, history=1, first_event=9),
                      now=T0 + 4)
    return [first, second, second, replayed_one, stale,
            _batch_of(write("e3", 2, history=1, first_event=50)),  # new, but stored at 3: a replay
            _batch_of(write("e3", 4, history=1, first_event=50)),  # new, but stored at 3: a conflict
            _batch_of(write("e5", 1, outbox=1), write("e3", 2), write("e1", 2, expected=1)),  # replay + conflict
            _batch_of(), _batch_of(write("e3", 3))]


def _scenario_waits() -> list[BatchWrite]:
    """Waits removed and added again in one write replace the stored row; a timer removed and re-added is moved."""
    return [
        _batch_of(write("e1", 1, subscriptions_added=[_sub({"id": 1}, "a", "e1", created_at=T0 - 9),
                                                      _sub([1, "x"], "b", "e1")],
                        timers_added=[TimerRow("e1", "t", 0, T0 + 1, "wait")])),
        _batch_of(write("e1", 2, expected=1,
                        subscriptions_removed=[SubscriptionKey("orderId", {"id": 1}, "a"),
                                               SubscriptionKey("orderId", 42.0, "c")],
                        subscriptions_added=[_sub({"id": 1}, "a", "e1", created_at=T0 + 7),  # replaced
                                             _sub(42, "c", "e1")],  # removed and added, no row before
                        timers_removed=["t"], timers_added=[TimerRow("e1", "t", 3, T0 + 2.125, "moved")]),
                  now=T0 + 5),
        _batch_of(write("e1", 3, expected=2, subscriptions_removed=[SubscriptionKey("orderId", [1, "x"], "b")],
                        timers_removed=["t"]), now=T0 + 6),
    ]


def _scenario_shared_wait() -> list[BatchWrite]:
    """Two executions of one batch name one wait (the one-statement path hands this to the COPY path)."""
    return [
        _batch_of(write("e1", 1, subscriptions_added=[_sub(1, "w", "e1")])),
        _batch_of(write("e1", 2, expected=1, subscriptions_removed=[SubscriptionKey("orderId", 1, "w")]),
                  write("e2", 1, subscriptions_added=[_sub(1, "w", "e2", created_at=T0 + 9)])),
    ]


def _scenario_duplicate_rows() -> list[BatchWrite]:
    """A write repeating a history event or an outbox row: the first one is stored, as in sequence."""
    e1 = write("e1", 4, history=2, outbox=2)
    return [_batch_of(_with(e1, history=[*e1.history, HistoryRow("e1", 1, "Again", T0 + 9, {"again": True}, 0)],
                            outbox=[*e1.outbox, OutboxRow("e1", 4, 1, 0, "other", None, b"again")]))]


def _scenario_refused_values() -> list[BatchWrite]:
    """Values Postgres cannot store: refused when applied, ignored when replayed, a conflict first."""
    nul = write("e2", 2, output={"text": "a\x00b"})
    nan = write("e3", 2, history=1)
    nan = _with(nan, history=[replace(nan.history[0], details={"x": math.nan})])
    broken = _with(write("e4", 2), history=[HistoryRow("e4", 1, "Broken", T0, {"value": object()})])
    no_topic = _with(write("e5", 2), outbox=[OutboxRow("e5", 2, 0, 0, None, b"k", b"v")])  # type: ignore[arg-type]
    stored = write("e6", 5, history=1, outbox=1)
    return [
        _batch_of(write("e1", 1, outbox=1), nul), _batch_of(write("e1", 1), nan), _batch_of(broken),
        _batch_of(write("e1", 1, history=2), no_topic),
        _batch_of(stored, write("e7", 1)),
        _batch_of(_with(stored, snapshot=snapshot("e6", output={"text": "\x00"})), write("e8", 1, history=1)),
        _batch_of(write("e7", 3, expected=0), nul),  # the conflict is reported, not the NUL
        _batch_of(write("e1", 1, history=1, output={"text": "\\u0000 is text"})),
    ]


SCENARIOS: dict[str, Callable[[], list[BatchWrite]]] = {
    "lifecycle": _scenario_lifecycle, "waits": _scenario_waits, "shared-wait": _scenario_shared_wait,
    "duplicate-rows": _scenario_duplicate_rows, "refused-values": _scenario_refused_values,
}


def _outcome(store: SqlStore, write_batch: BatchWrite) -> tuple[Any, ...]:
    """What commit_batch did, comparable across paths (SQL errors by their psycopg class: the statements differ)."""
    try:
        result = store.commit_batch(write_batch)
    except ConflictError as exc:
        return ("ConflictError", exc.conflicts)
    except IntegrityError as exc:
        return ("IntegrityError", type(exc.orig).__name__)
    except Exception as exc:  # noqa: BLE001 - StoreError, TypeError, ValueError: compared by type and message
        return (type(exc).__name__, str(exc))
    return ("committed", result.applied, result.replayed)


_TABLES = ("executions", "history", "outbox", "timers", "subscriptions")


def _contents(store: SqlStore) -> dict[str, list[tuple[Any, ...]]]:
    with store.engine.connect() as conn:
        return {table: sorted((tuple(row) for row in conn.execute(text(f"SELECT * FROM {table}"))), key=repr)
                for table in _TABLES}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_small_and_copy_paths_agree(postgres_dsn: str, schema: str, scenario: str,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The same batches through the one-statement path and the COPY path: same outcomes, same rows, step by step."""
    calls = {SMALL: 0, COPY: 0}

    def counted(path: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            calls[path] += 1
            return function(*args)
        return call

    monkeypatch.setattr(sql_small, "commit_batch", counted(SMALL, sql_small.commit_batch))
    monkeypatch.setattr(sql_batch, "commit_batch", counted(COPY, sql_batch.commit_batch))
    stores = {path: SqlStore(postgres_dsn, schema=f"{schema}_{path}", pool_size=1) for path in (SMALL, COPY)}
    try:
        for path, store in stores.items():
            store.migrate()
            store.small_batch_max = FORCE[path]
        handed_over = 0  # batches the one-statement path left to the COPY path
        for step, write_batch in enumerate(SCENARIOS[scenario]()):
            before = calls[COPY]
            small = _outcome(stores[SMALL], write_batch)
            handed_over += calls[COPY] - before
            copied = _outcome(stores[COPY], write_batch)
            assert small == copied, f"step {step}"
            assert _contents(stores[SMALL]) == _contents(stores[COPY]), f"step {step}"
        assert calls[SMALL] > 0
        # Only a wait named by two executions, or a value that does not serialise, goes the general way.
        assert (handed_over > 0) == (scenario in ("shared-wait", "refused-values"))
    finally:
        for store in stores.values():
            with store.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{store.schema}" CASCADE'))
            store.close()


def test_scenarios_cover_every_outcome(sql_store: SqlStore) -> None:
    """The scenarios above meet each case they claim to (so agreeing on them means something)."""
    seen: set[str] = set()
    for scenario in SCENARIOS.values():
        with sql_store.engine.begin() as conn:
            for table in _TABLES:
                conn.execute(text(f"TRUNCATE {table}"))
        for write_batch in scenario():
            outcome = _outcome(sql_store, write_batch)
            seen.add(outcome[0] if outcome[0] != "committed" else "replayed" if outcome[2] else "committed")
    assert seen == {"committed", "replayed", "ConflictError", "StoreError", "ValueError", "TypeError",
                    "IntegrityError"}


def test_small_path_never_commits_past_a_missed_update(sql_store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the UPDATE missed a row it has locked (it cannot), the statement fails: nothing is committed."""
    sql_store.small_batch_max = FORCE[SMALL]
    sql_store.commit_batch(batch(write("exec-1", 1, history=1, outbox=1)))
    fence = "AND e.last_offset = b.expected_offset"
    assert fence in sql_small.STATEMENT
    monkeypatch.setattr(sql_small, "STATEMENT", sql_small.STATEMENT.replace(fence, fence + " AND false"))
    with pytest.raises(StoreError, match=r"^commit_batch: updated 0 of 1 locked executions$"):
        sql_store.commit_batch(batch(write("exec-1", 2, expected=1, history=1, first_event=2, outbox=1),
                                     write("exec-2", 1, history=1)))
    assert described(sql_store, "exec-1").last_offset == 1
    assert _row_counts(sql_store) == {"executions": 1, "history": 1, "outbox": 1}
    monkeypatch.undo()
    assert sql_store.commit_batch(batch(write("exec-1", 2, expected=1))).applied == ("exec-1",)  # usable afterwards


def test_small_path_prepares_one_statement(postgres_dsn: str, schema: str) -> None:
    """Batches of every shape bind the same parameter types: one prepared statement per connection."""
    store = SqlStore(postgres_dsn, schema=schema, pool_size=1)
    store.migrate()
    try:
        shapes = [
            write("e1", 1),
            write("e1", 2, expected=1, history=2, outbox=1, status="FAILED", stop=T0 + 1),
            write("e2", 70_000, partition=3, timers_added=[TimerRow("e2", "t", 3, T0 + 5, "wait")],
                  subscriptions_added=[_sub("x", "s", "e2")]),
            write("e2", 5_000_000_000, expected=70_000, timers_removed=["t"],
                  subscriptions_removed=[SubscriptionKey("orderId", "x", "s")]),
        ]
        for shape in shapes * 3:
            store.commit_batch(BatchWrite([shape], now=T0))
        with store.engine.connect() as conn:
            prepared = conn.execute(text("SELECT statement FROM pg_prepared_statements")).scalars().all()
        assert [s for s in prepared if "verdict" in s] == [sql_small.STATEMENT]
    finally:
        store.close()


# ---------------------------------------------------------------- what a small batch costs


class _RoundTripCounter:
    """A TCP proxy in front of Postgres that counts the times a client must wait for the server.

    In the PostgreSQL protocol a client waits for ReadyForQuery (``Z``: the end of a simple query,
    or of everything up to a Sync, which is how a psycopg pipeline ends) and for CopyInResponse
    (``G``: before it may send COPY data); everything else it may send without waiting. So the
    round trips are the ``Z`` and ``G`` messages from the server. Connect with SSL and GSS
    encryption off, so the server's bytes are plain protocol messages from the first one on.
    """

    WAITED_FOR = frozenset(b"ZG")

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.round_trips = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        pending = b""  # server bytes not yet parsed into whole messages
        with selectors.DefaultSelector() as selector, client, upstream:
            selector.register(client, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, client)
            while True:
                for key, _ in selector.select():
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = source.recv(1 << 16)
                    if not data:
                        return
                    if source is upstream:
                        pending += data
                        while len(pending) >= 5 and len(pending) >= 1 + int.from_bytes(pending[1:5], "big"):
                            self.round_trips += pending[0] in self.WAITED_FOR
                            pending = pending[1 + int.from_bytes(pending[1:5], "big"):]
                    key.data.sendall(data)


def _small_batches(size: int, round_no: int) -> BatchWrite:
    """``size`` executions, each with 4 history and 3 outbox rows; new in round 0, updated afterwards."""
    return _batch_of(*[
        write(f"exec-{size}-{i}", 10 * (round_no + 1), expected=10 * round_no if round_no else None,
              partition=i % 4, history=4, first_event=4 * round_no + 1, outbox=3)
        for i in range(size)], now=T0 + round_no)


def test_measure_small_batches(postgres_dsn: str, schema: str) -> None:
    """Round trips and time of one commit_batch of 1, 5 and 20 executions, COPY path vs one-statement path.

    Printed, not asserted as times (run with -s to see them); the round trips of the
    one-statement path are asserted: one pipeline (the pool does not pre-ping).
    """
    url = make_url(postgres_dsn)
    counter = _RoundTripCounter(url.host or "127.0.0.1", url.port or 5432)
    proxied = url.set(host="127.0.0.1", port=counter.port, query={"sslmode": "disable", "gssencmode": "disable"}
                      ).render_as_string(hide_password=False)
    stores = {(path, via): SqlStore(proxied if via else postgres_dsn, schema=f"{schema}_{path}{int(via)}",
                                    pool_size=1)
              for path in (COPY, SMALL) for via in (False, True)}
    lines = ["", f"commit_batch, median of idle batches (each execution: 1 snapshot + 4 history + 3 outbox rows;"
                 f" small_batch_max={sql_small.SMALL_BATCH_MAX}):"]
    try:
        for (path, _), store in stores.items():
            store.migrate()
            store.small_batch_max = FORCE[path]
        for size in (1, 5, 20):
            timings: dict[str, list[float]] = {COPY: [], SMALL: []}
            trips: dict[str, set[int]] = {COPY: set(), SMALL: set()}
            for round_no in range(25):
                write_batch = _small_batches(size, round_no)
                for (path, via), store in stores.items():
                    before, started = counter.round_trips, time.perf_counter()
                    result = store.commit_batch(write_batch)
                    elapsed = time.perf_counter() - started
                    assert len(result.applied) == size
                    if round_no < 5:  # warming up: connections made, statements prepared
                        continue
                    if via:
                        trips[path].add(counter.round_trips - before)
                    else:
                        timings[path].append(elapsed)
            assert trips[SMALL] == {1}, trips  # one pipeline: BEGIN + statement + COMMIT (no pre-ping)
            copy_ms, small_ms = (statistics.median(timings[p]) * 1000 for p in (COPY, SMALL))
            copy_trips = "/".join(map(str, sorted(trips[COPY])))
            lines.append(f"  {size:2d} executions: COPY path {copy_ms:5.2f} ms, {copy_trips} round trips;"
                         f" one statement {small_ms:5.2f} ms, {min(trips[SMALL])} round trips"
                         f" ({small_ms / copy_ms:.0%} of the time)")
        assert _contents(stores[COPY, False]) == _contents(stores[SMALL, False])
    finally:
        for store in stores.values():
            with store.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{store.schema}" CASCADE'))
            store.close()
        counter.close()
    print("\n".join(lines))


def test_a_store_whose_connections_were_killed_recovers_on_the_next_call(postgres_dsn: str, schema: str) -> None:
    """The pool does not pre-ping: a dead connection fails one call, then the pool starts afresh.

    The agents retry a failed batch, so one failed call after a Postgres restart costs a retry.
    """
    store = SqlStore(postgres_dsn, schema=schema, pool_size=1)
    store.migrate()
    admin = create_engine(postgres_dsn)
    try:
        store.deploy("m", {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}})
        with store.engine.connect() as conn:  # the pool's only connection
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with admin.begin() as conn:
            killed = conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
        assert killed
        time.sleep(0.2)  # let the backend exit
        outcomes: list[object] = []
        for _ in range(2):
            try:
                outcomes.append(store.get_state_machine("m") is not None)
            except OperationalError:
                outcomes.append("connection lost")
        assert outcomes in ([True, True], ["connection lost", True])
    finally:
        store.close()
        admin.dispose()


def test_reads_take_one_round_trip_and_keep_the_connections_prepared_statements(postgres_dsn: str,
                                                                                 schema: str) -> None:
    """The agents' hot reads: no BEGIN, no ROLLBACK, no DEALLOCATE ALL (which would make the next
    commit_batch on the connection parse its statement again)."""
    url = make_url(postgres_dsn)
    counter = _RoundTripCounter(url.host or "127.0.0.1", url.port or 5432)
    proxied = url.set(host="127.0.0.1", port=counter.port, query={"sslmode": "disable", "gssencmode": "disable"}
                      ).render_as_string(hide_password=False)
    store = SqlStore(proxied, schema=schema, pool_size=1)
    try:
        store.migrate()
        store.commit_batch(_small_batches(1, 0))
        prepared = _prepared_statements(store)
        assert prepared, "commit_batch prepares its statement"
        statements = {"seen_message_ids": 1, "find_correlations": 2, "load_executions": 1}
        reads = {"seen_message_ids": lambda: store.seen_message_ids(["m-1", "m-2"], time.time()),
                 "find_correlations": lambda: store.find_correlations([("k", "v")], time.time()),
                 "load_executions": lambda: store.load_executions(["e-1"])}
        trips = {}
        for name, read in reads.items():
            read()  # the first call of a statement may take longer (psycopg prepares it after a few)
            before = counter.round_trips
            read()
            trips[name] = counter.round_trips - before
        assert trips == statements  # one round trip per statement, nothing around them
        assert prepared <= _prepared_statements(store)
    finally:
        with store.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        store.close()
        counter.close()


def _prepared_statements(store: SqlStore) -> set[str]:
    with store._reading() as conn:
        return set(conn.execute(text("SELECT statement FROM pg_prepared_statements")).scalars())
