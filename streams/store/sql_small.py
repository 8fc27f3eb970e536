"""Small batches in one round trip: the execution agent's path under light load.

Under light load a batch holds a handful of executions, and the general path
(:func:`streams.store.sql_batch.commit_batch`: a lock query, then a COPY, a staging table and
savepoints per table) pays a dozen round trips whatever the batch size. Here the whole batch
is one statement, sent with BEGIN and COMMIT in one psycopg pipeline:

* every column of every table is one array parameter (``unnest($7::integer[], ...)``), so the
  statement text and its parameter types never change: it is prepared once per connection;
* ``locked`` takes the rows' locks in execution id order (no deadlock between writers, as
  the general path) and ``verdict`` classifies each execution exactly as
  :func:`~streams.store.records.classify_writes` does; when any execution conflicts, ``applied``
  is empty and the statement writes nothing, so the pipelined COMMIT commits nothing, and
  Python raises the :class:`ConflictError` from the offsets the statement returns;
* the writes (data-modifying CTEs) touch only the applied executions' rows: executions by
  UPDATE (fenced by ``expected_offset``) or plain INSERT, history and outbox with ON CONFLICT
  DO NOTHING, timers and subscriptions as the general path does. A new execution another
  writer created meanwhile makes the INSERT fail on ``executions_pkey``: the pipeline aborts,
  nothing is committed, and that is a :class:`ConflictError` as on the general path.

Sub-statements of one statement must not touch the same row twice, so :func:`parameters`
merges in Python what the general path does in sequence (a timer removed and added again is
only upserted; a subscription removed and added again is replaced by an upsert), per
execution. What it cannot merge that way, it leaves to the general path by returning None: a
subscription key named by two executions of the batch, or a value that does not serialise
(the general path raises for it only when its execution is applied, after the conflict check).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.types.array import ListBinaryDumper
from sqlalchemy import Column, Connection, Table
from sqlalchemy.dialects import postgresql

from streams.store import sql_copy as copy
from streams.store.codec import canonical_json, dump_json, to_datetime
from streams.store.errors import ConflictError, StoreError
from streams.store.records import (
    BatchWrite,
    CommitResult,
    ExecutionWrite,
    Subscription,
    SubscriptionKey,
    classify_writes,
)
from streams.store.schema import executions, history, outbox, subscriptions, timers
from streams.store.sql_batch import execution_row, history_row, outbox_row_values

#: Batches of at most this many executions take this path. Measured on the 2-core development
#: machine (1 snapshot + 4 history + 3 outbox rows per execution), against the COPY path: idle,
#: 0.6x the time at 1-5 executions, even at 20-40, 1.1x at 64; with both cores busy, 0.4x at
#: 1-5, 0.8-0.95x at 20-64, even at 100. Past that COPY writes rows faster (and with less CPU).
SMALL_BATCH_MAX = 32

Params = dict[str, Any]

_GUARD = "stepstream commit_batch"  # starts the text of the error the statement raises if a locked row was not updated


# ---------------------------------------------------------------- the statement


class _Parameters:
    """Numbers the statement's ``$n`` parameters by name (a name used twice is one parameter)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, name: str, sql_type: str) -> str:
        if name not in self.names:
            self.names.append(name)
        return f"${self.names.index(name) + 1}::{sql_type}"


_PARAMS = _Parameters()
_DIALECT = postgresql.dialect()
_SHORT_TYPES = {"TIMESTAMP WITH TIME ZONE": "timestamptz", "DOUBLE PRECISION": "float8"}
# The psycopg type each array parameter is sent as: jsonb goes as text, cast by the server.
_WIRE_TYPES = {"text": "text", "jsonb": "text", "bigint": "int8", "integer": "int4", "timestamptz": "timestamptz",
               "bytea": "bytea", "float8": "float8", "boolean": "bool"}


def _element_type(column: Column[Any]) -> str:
    name = str(column.type.compile(dialect=_DIALECT))
    return _SHORT_TYPES.get(name, name).lower()


def _typed_array(wire_type: str) -> tuple[type[list[Any]], type[ListBinaryDumper]]:
    """A list class that psycopg sends as a binary ``wire_type`` array, and its dumper.

    psycopg otherwise picks an array's type from its content (int2, int4 or int8 by the
    largest value; unknown when empty or all None): the parameter types would change between
    batches, and with them the prepared statement psycopg looks up.
    """
    info = psycopg.postgres.types[wire_type]
    array = type(f"_{wire_type.capitalize()}Array", (list,), {})
    dumper = type(f"_{wire_type.capitalize()}ArrayDumper", (ListBinaryDumper,),
                  {"oid": info.array_oid, "element_oid": info.oid})
    return array, dumper


_ARRAYS = {wire_type: _typed_array(wire_type) for wire_type in set(_WIRE_TYPES.values())}


def _names(names: Sequence[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


class _Source:
    """Rows of ``table`` passed as one array parameter per column: ``unnest($1::text[], ...) AS alias(...)``.

    JSON columns travel as text and are cast to jsonb by the server (``$n::jsonb[]``).
    """

    def __init__(self, alias: str, table: Table, names: Sequence[str] | None = None,
                 extra: Sequence[tuple[str, str]] = ()) -> None:
        self.alias = alias
        self.columns = [table.c[name] for name in names] if names is not None else list(table.columns)
        typed = [(c.name, _element_type(c)) for c in self.columns] + list(extra)
        self.names = [name for name, _ in typed]
        self.arrays = [_ARRAYS[_WIRE_TYPES[sql_type]][0] for _, sql_type in typed]
        arrays = ", ".join(_PARAMS(f"{alias}.{name}", f"{sql_type}[]") for name, sql_type in typed)
        self.sql = f"unnest({arrays}) AS {alias}({_names(self.names)})"

    def insert(self, table: Table, where: str, conflict: str = "ON CONFLICT DO NOTHING") -> str:
        values = ", ".join(f'{self.alias}."{c.name}"' for c in self.columns)
        return (f'INSERT INTO "{table.name}" ({_names([c.name for c in self.columns])}) '
                f"SELECT {values} FROM {self.sql} WHERE {where} {conflict}")

    def params(self, rows: Sequence[tuple[Any, ...]]) -> Params:
        """The array parameters of these rows (tuples in ``names`` order)."""
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in self.names]
        if len(columns) != len(self.names):
            raise StoreError(f"commit_batch: {self.alias} rows have {len(columns)} values, expected {len(self.names)}")
        return {f"{self.alias}.{name}": array(values)
                for name, array, values in zip(self.names, self.arrays, columns, strict=True)}


_BATCH = _Source("b", executions, extra=[("expected_offset", "bigint")])
_HISTORY = _Source("h", history)
_OUTBOX = _Source("o", outbox)
_TIMERS_ADDED = _Source("ta", timers)
_TIMERS_REMOVED = _Source("tr", timers, ["execution_id", "timer_id"])
_SUBSCRIPTIONS_ADDED = _Source("sa", subscriptions, extra=[("replacing", "boolean")])
_SUBSCRIPTIONS_REMOVED = _Source(
    "sr", subscriptions, ["execution_id", "correlation_key", "correlation_value_text", "subscription_id"])

_APPLIED = "execution_id IN (SELECT execution_id FROM applied)"
_SUBSCRIPTION_KEY = ("correlation_key", "correlation_value_text", "subscription_id")


def _statement() -> str:
    ids, expected, last = (_PARAMS(f"b.{name}", "bigint[]" if name != "execution_id" else "text[]")
                           for name in ("execution_id", "expected_offset", "last_offset"))
    set_columns = ", ".join(f'"{c.name}" = b."{c.name}"' for c in executions.columns if c.name != "execution_id")
    timer_updates = ", ".join(f'"{n}" = EXCLUDED."{n}"' for n in ("partition", "fire_at", "purpose", "created_at"))
    replaced = ", ".join(f'"{n}" = EXCLUDED."{n}"' for n in ("correlation_value", "execution_id", "created_at"))
    same_subscription = " AND ".join(f's."{n}" = sr."{n}"' for n in _SUBSCRIPTION_KEY)
    applied_existing = "(SELECT count(*) FROM applied JOIN locked USING (execution_id))"
    return f"""
WITH
locked AS MATERIALIZED (
    SELECT execution_id, last_offset FROM executions
    WHERE execution_id = ANY({ids})
    ORDER BY execution_id FOR UPDATE
),
verdict AS MATERIALIZED (
    SELECT w.execution_id, locked.last_offset AS stored_offset,
           CASE WHEN locked.last_offset IS NOT DISTINCT FROM w.expected_offset THEN 'apply'
                WHEN locked.last_offset >= w.last_offset THEN 'replay'
                ELSE 'conflict' END AS outcome
    FROM unnest({ids}, {expected}, {last}) AS w(execution_id, expected_offset, last_offset)
    LEFT JOIN locked USING (execution_id)
),
applied AS MATERIALIZED (
    SELECT execution_id FROM verdict
    WHERE outcome = 'apply' AND NOT EXISTS (SELECT FROM verdict WHERE outcome = 'conflict')
),
updated AS (
    UPDATE executions AS e SET {set_columns}
    FROM {_BATCH.sql}
    WHERE e.execution_id = b.execution_id AND b.{_APPLIED} AND e.last_offset = b.expected_offset
    RETURNING e.execution_id
),
created AS (
    {_BATCH.insert(executions, f"b.{_APPLIED} AND b.expected_offset IS NULL", "")}
    RETURNING execution_id
),
history_rows AS ({_HISTORY.insert(history, f"h.{_APPLIED}")}),
outbox_rows AS ({_OUTBOX.insert(outbox, f"o.{_APPLIED}")}),
timers_removed AS (
    DELETE FROM timers AS t USING {_TIMERS_REMOVED.sql}
    WHERE t.execution_id = tr.execution_id AND t.timer_id = tr.timer_id AND tr.{_APPLIED}
),
timers_added AS ({_TIMERS_ADDED.insert(
        timers, f"ta.{_APPLIED}", f"ON CONFLICT (execution_id, timer_id) DO UPDATE SET {timer_updates}")}),
subscriptions_removed AS (
    DELETE FROM subscriptions AS s USING {_SUBSCRIPTIONS_REMOVED.sql}
    WHERE {same_subscription} AND sr.{_APPLIED}
),
subscriptions_added AS ({_SUBSCRIPTIONS_ADDED.insert(subscriptions, f"sa.{_APPLIED} AND NOT sa.replacing")}),
subscriptions_replaced AS ({_SUBSCRIPTIONS_ADDED.insert(
        subscriptions, f"sa.{_APPLIED} AND sa.replacing",
        f"ON CONFLICT ({_names(_SUBSCRIPTION_KEY)}) DO UPDATE SET {replaced}")})
SELECT verdict.execution_id, verdict.stored_offset, verdict.outcome,
       CASE WHEN u.n = {applied_existing} THEN u.n
            -- cannot happen while the rows are locked; never commit past it (the error aborts everything)
            ELSE ('{_GUARD}: updated ' || u.n || ' of ' || {applied_existing} || ' locked executions')::bigint
       END AS updated
FROM verdict, (SELECT count(*) AS n FROM updated) AS u
"""


STATEMENT = _statement()
PARAMETER_NAMES = tuple(_PARAMS.names)  # the order of $1, $2...


# ---------------------------------------------------------------- parameters


def parameters(batch: BatchWrite) -> Params | None:
    """The statement's parameters for a (validated) batch, or None when it needs the general path."""
    writes = batch.executions
    if _shared_subscriptions(writes):
        return None
    stamp = to_datetime(batch.now)
    try:
        rows = {
            _BATCH: [(*execution_row(w, stamp), w.expected_offset) for w in writes],
            _HISTORY: _first_per_key([history_row(h) for w in writes for h in w.history], 2),
            _OUTBOX: _first_per_key([outbox_row_values(o, stamp) for w in writes for o in w.outbox], 3),
            _TIMERS_ADDED: [], _TIMERS_REMOVED: [], _SUBSCRIPTIONS_ADDED: [], _SUBSCRIPTIONS_REMOVED: [],
        }
        for write in writes:
            if write.timers_added or write.timers_removed:
                _add_timers(rows, write, stamp)
            if write.subscriptions_added or write.subscriptions_removed:
                _add_subscriptions(rows, write, batch.now)
    except Exception:  # the general path raises it if and when it should (only for an applied execution)
        return None
    params: Params = {}
    for source, source_rows in rows.items():
        params.update(source.params(source_rows))
    return params


def _add_timers(rows: dict[_Source, list[tuple[Any, ...]]], write: ExecutionWrite, stamp: datetime) -> None:
    """Upserts in sequence: the last row of a timer id wins, and a removal before it changes nothing."""
    added = {t.timer_id: (t.execution_id, t.timer_id, t.partition, t.fire_at, t.purpose, stamp)
             for t in write.timers_added}
    rows[_TIMERS_ADDED].extend(added.values())
    removed = dict.fromkeys(t for t in write.timers_removed if t not in added)
    rows[_TIMERS_REMOVED].extend((write.execution_id, timer_id) for timer_id in removed)


def _add_subscriptions(rows: dict[_Source, list[tuple[Any, ...]]], write: ExecutionWrite, now: float) -> None:
    """Removals, then inserts that keep what exists: one removed and added again is replaced by the new row."""
    removed = dict.fromkeys((k.correlation_key, canonical_json(k.correlation_value), k.subscription_id)
                            for k in write.subscriptions_removed)
    added: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    for s in write.subscriptions_added:
        key = (s.correlation_key, canonical_json(s.correlation_value), s.subscription_id)
        added.setdefault(key, (key[0], key[1], dump_json(s.correlation_value), key[2], s.execution_id,
                               to_datetime(s.created_at or now), key in removed))  # the first one wins
    rows[_SUBSCRIPTIONS_ADDED].extend(added.values())
    rows[_SUBSCRIPTIONS_REMOVED].extend((write.execution_id, *key) for key in removed if key not in added)


def _first_per_key(rows: list[tuple[Any, ...]], width: int) -> list[tuple[Any, ...]]:
    """The rows less those whose primary key (the first ``width`` values) an earlier row has.

    ON CONFLICT DO NOTHING in sequence keeps the first; one statement must not see a key twice.
    """
    if len({row[:width] for row in rows}) == len(rows):
        return rows
    first: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for row in rows:
        first.setdefault(row[:width], row)
    return list(first.values())


def _shared_subscriptions(writes: Sequence[ExecutionWrite]) -> bool:
    """Whether two executions name one subscription (the general path's sequence decides; rare)."""
    owner: dict[tuple[str, str, str], str] = {}
    try:
        for write in writes:
            named: list[Subscription | SubscriptionKey] = [*write.subscriptions_removed, *write.subscriptions_added]
            for key in ((k.correlation_key, canonical_json(k.correlation_value), k.subscription_id) for k in named):
                if owner.setdefault(key, write.execution_id) != write.execution_id:
                    return True
    except StoreError:
        return True  # not a JSON value: let the general path report it
    return False


# ---------------------------------------------------------------- the call


def supported() -> bool:
    """Whether psycopg's libpq has pipeline mode (libpq 14 or newer; the binary wheels do)."""
    return bool(psycopg.Pipeline.is_supported())


def commit_batch(conn: Connection, batch: BatchWrite, params: Params) -> CommitResult:
    """Write the batch in one transaction of its own: BEGIN, the statement and COMMIT in one round trip.

    ``conn`` must not be in a transaction: the psycopg connection underneath runs its own.
    """
    driver: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
    # $n placeholders as they are (no client-side parsing of a long statement), arrays in binary.
    cur = psycopg.RawCursor(driver)
    for array, dumper in _ARRAYS.values():
        cur.adapters.register_dumper(array, dumper)
    # BEGIN and COMMIT are sent as statements: a transaction psycopg starts itself costs a Sync, a round trip.
    driver.autocommit = True
    try:
        try:
            with driver.pipeline():
                driver.execute("BEGIN")
                # The text never changes: prepared once per connection, then only bound and executed.
                cur.execute(STATEMENT, [params[name] for name in PARAMETER_NAMES], prepare=True)
                driver.execute("COMMIT")  # skipped by the server if the statement fails
            rows = cur.fetchall()
        except BaseException:
            _abandon(conn, driver)
            raise
    except psycopg.Error as exc:
        if isinstance(exc, pg_errors.UniqueViolation) and exc.diag.constraint_name == "executions_pkey":
            # Another writer created one of the new executions since the offsets were checked.
            raise ConflictError({w.execution_id: (None, None) for w in batch.executions
                                 if w.expected_offset is None}) from exc
        if isinstance(exc, pg_errors.InvalidTextRepresentation) and _GUARD in str(exc):
            raise StoreError(f"commit_batch: {str(exc).split(_GUARD + ': ', 1)[-1].rstrip(chr(34))}") from exc
        raise copy.translate_errors("commit_batch (small batch)", exc) from exc
    finally:
        cur.close()
        if not driver.closed:
            driver.autocommit = False
    stored = {execution_id: offset for execution_id, offset, _, _ in rows if offset is not None}
    apply, replayed = classify_writes(batch.executions, stored)  # the ConflictError the statement saw, if any
    applied = {execution_id for execution_id, _, outcome, _ in rows if outcome == "apply"}
    if applied != {w.execution_id for w in apply}:  # the same rule on the same offsets: cannot differ
        raise StoreError(f"commit_batch: the statement applied {sorted(applied)}, "
                         f"expected {[w.execution_id for w in apply]}")
    return CommitResult(tuple(w.execution_id for w in apply), tuple(replayed))


def _abandon(conn: Connection, driver: psycopg.Connection[Any]) -> None:
    """Roll back after a failure (the server skipped the COMMIT), or drop a connection that cannot."""
    if not driver.broken:
        try:
            driver.rollback()
            return
        except psycopg.Error:
            pass
    conn.invalidate()
