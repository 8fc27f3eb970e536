"""The timer and correlation agents' tables on Postgres: timers, subscriptions, buffered and seen messages.

Correlation values are matched on their canonical JSON text (``"123"`` is not ``123``), which
is also part of the primary key, so a lookup by key and value is one index range. The batched
reads (:func:`find_correlations`, :func:`seen_message_ids`) pass every wanted key as one array
parameter: one statement per table whatever the batch size, planned as primary key lookups, with
a statement text that does not change with the number of keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Row, Select, Table, Text, and_, any_, bindparam, delete, func, select, true, tuple_
from sqlalchemy.dialects.postgresql import ARRAY, insert

from streams.store.codec import canonical_json, to_datetime
from streams.store.records import BufferedMessage, CorrelationWrite, ExpireResult, Subscription, TimerKey, TimerRow
from streams.store.schema import buffered_messages, seen_messages, subscriptions, timers

# ---------------------------------------------------------------- timers


def upsert_timer_rows(conn: Connection, rows: Iterable[TimerRow], stamp: Any) -> None:
    params = [
        {"execution_id": t.execution_id, "timer_id": t.timer_id, "partition": t.partition, "fire_at": t.fire_at,
         "purpose": t.purpose, "created_at": stamp}
        for t in rows
    ]
    if not params:
        return
    stmt = insert(timers)
    stmt = stmt.on_conflict_do_update(
        index_elements=[timers.c.execution_id, timers.c.timer_id],
        set_={name: stmt.excluded[name] for name in ("partition", "fire_at", "purpose", "created_at")},
    )
    conn.execute(stmt, params)


def delete_timers(conn: Connection, keys: Iterable[TimerKey]) -> int:
    wanted = sorted(set(keys))
    if not wanted:
        return 0
    result = conn.execute(delete(timers).where(tuple_(timers.c.execution_id, timers.c.timer_id).in_(wanted)))
    return int(result.rowcount)


def load_timers(conn: Connection, partitions: Iterable[int], until: float | None, limit: int | None) -> list[TimerRow]:
    wanted = sorted(set(partitions))
    if not wanted:
        return []
    stmt = select(timers).where(timers.c.partition.in_(wanted))
    if until is not None:
        stmt = stmt.where(timers.c.fire_at <= until)
    stmt = stmt.order_by(timers.c.fire_at, timers.c.execution_id, timers.c.timer_id).limit(limit)
    return [
        TimerRow(row.execution_id, row.timer_id, row.partition, row.fire_at, row.purpose, row.created_at.timestamp())
        for row in conn.execute(stmt)
    ]


# ---------------------------------------------------------------- subscriptions


def subscription_params(subscription: Subscription, now: float) -> dict[str, Any]:
    """The row of a subscription; ``created_at`` is the caller's when set, else ``now``."""
    return {
        "correlation_key": subscription.correlation_key,
        "correlation_value_text": canonical_json(subscription.correlation_value),
        "correlation_value": subscription.correlation_value,
        "subscription_id": subscription.subscription_id,
        "execution_id": subscription.execution_id,
        "created_at": to_datetime(subscription.created_at or now),
    }


def add_subscription(conn: Connection, subscription: Subscription, now: float) -> bool:
    stmt = insert(subscriptions).values(subscription_params(subscription, now))
    returning = stmt.on_conflict_do_nothing().returning(subscriptions.c.subscription_id)
    return conn.execute(returning).first() is not None


def remove_subscription(conn: Connection, key: str, value: Any, subscription_id: str) -> bool:
    stmt = delete(subscriptions).where(
        _subscription_match(key, value), subscriptions.c.subscription_id == subscription_id
    )
    return conn.execute(stmt).rowcount == 1


def find_subscriptions(conn: Connection, key: str, value: Any) -> list[Subscription]:
    stmt = (
        select(subscriptions)
        .where(_subscription_match(key, value))
        .order_by(subscriptions.c.created_at, subscriptions.c.subscription_id)
    )
    return [_subscription(row) for row in conn.execute(stmt)]


def take_subscriptions(conn: Connection, key: str, value: Any, single: bool) -> list[Subscription]:
    match = _subscription_match(key, value)
    if single:
        oldest = (
            select(subscriptions.c.subscription_id)
            .where(match)
            .order_by(subscriptions.c.created_at, subscriptions.c.subscription_id)
            .limit(1)
            .with_for_update(skip_locked=True)  # a row another transaction is taking is not the oldest left
            .scalar_subquery()
        )
        match = and_(match, subscriptions.c.subscription_id == oldest)
    rows = conn.execute(delete(subscriptions).where(match).returning(*subscriptions.columns)).all()
    return sorted((_subscription(row) for row in rows), key=lambda s: (s.created_at, s.subscription_id))


def find_correlations(conn: Connection, correlations: Iterable[tuple[str, Any]], now: float
                      ) -> dict[tuple[str, str], tuple[list[Subscription], list[BufferedMessage]]]:
    """Waits and unexpired buffered messages of many (key, value) pairs: one statement per table."""
    found: dict[tuple[str, str], tuple[list[Subscription], list[BufferedMessage]]] = {}
    for key, value in correlations:
        found.setdefault((key, canonical_json(value)), ([], []))
    if not found:
        return found
    params = {"keys": [key for key, _ in found], "values": [text for _, text in found]}
    table = subscriptions
    stmt = _per_correlation(table, order_by=(table.c.created_at, table.c.subscription_id))  # as find_subscriptions
    for row in conn.execute(stmt, params):
        found[(row.correlation_key, row.correlation_value_text)][0].append(_subscription(row))
    table = buffered_messages
    stmt = _per_correlation(table, table.c.expires_at > now, order_by=(table.c.created_at, table.c.message_id))
    for row in conn.execute(stmt, params):
        found[(row.correlation_key, row.correlation_value_text)][1].append(_buffered(row))
    return found


def _per_correlation(table: Table, *where: Any, order_by: tuple[Any, ...]) -> Select[Any]:
    """The rows of ``table`` for each (key, canonical value) of the ``keys`` and ``values`` array parameters.

    ``FROM unnest(:keys, :values) AS wanted(key, value) JOIN LATERAL (SELECT ... WHERE key and value
    match ... ORDER BY ...)``: the ORDER BY keeps Postgres from flattening the subquery into a
    plain join, so each wanted pair is one primary key range scan whatever the table's size (a
    join may be planned as a hash join over a sequential scan). Rows come out in ``order_by``
    order across all pairs, so each pair's rows are in that order too.
    """
    wanted = func.unnest(bindparam("keys", type_=ARRAY(Text)), bindparam("values", type_=ARRAY(Text))
                         ).table_valued("key", "value").render_derived(name="wanted")
    rows = (
        select(table)
        .where(table.c.correlation_key == wanted.c.key, table.c.correlation_value_text == wanted.c.value, *where)
        .order_by(*order_by)
        .lateral("found")
    )
    return select(rows).select_from(wanted).join(rows, true()).order_by(*(rows.c[c.name] for c in order_by))


def _subscription(row: Row[Any]) -> Subscription:
    return Subscription(row.correlation_key, row.correlation_value, row.subscription_id, row.execution_id,
                        row.created_at.timestamp())


def _subscription_match(key: str, value: Any) -> Any:
    return and_(subscriptions.c.correlation_key == key,
                subscriptions.c.correlation_value_text == canonical_json(value))


# ---------------------------------------------------------------- buffered and seen messages


def _buffered_params(message: BufferedMessage, now: float) -> dict[str, Any]:
    return {
        "correlation_key": message.correlation_key,
        "correlation_value_text": canonical_json(message.correlation_value),
        "correlation_value": message.correlation_value,
        "message_id": message.message_id,
        "data": message.data,
        "expires_at": message.expires_at,
        "single_consumer": message.single_consumer,
        "created_at": to_datetime(message.created_at or now),
    }


def buffer_message(conn: Connection, message: BufferedMessage, now: float) -> bool:
    stmt = insert(buffered_messages).values(_buffered_params(message, now))
    returning = stmt.on_conflict_do_nothing().returning(buffered_messages.c.message_id)
    return conn.execute(returning).first() is not None


def find_buffered(conn: Connection, key: str, value: Any, now: float) -> list[BufferedMessage]:
    table = buffered_messages
    stmt = (
        select(table)
        .where(table.c.correlation_key == key, table.c.correlation_value_text == canonical_json(value),
               table.c.expires_at > now)
        .order_by(table.c.created_at, table.c.message_id)
    )
    return [_buffered(row) for row in conn.execute(stmt)]


def take_buffered(conn: Connection, key: str, value: Any, now: float) -> BufferedMessage | None:
    table = buffered_messages
    match = and_(table.c.correlation_key == key, table.c.correlation_value_text == canonical_json(value))
    oldest = (
        select(table.c.message_id)
        .where(match, table.c.expires_at > now)
        .order_by(table.c.created_at, table.c.message_id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    stmt = delete(table).where(match, table.c.message_id == oldest).returning(*table.columns)
    row = conn.execute(stmt).first()
    return None if row is None else _buffered(row)


def _buffered(row: Row[Any]) -> BufferedMessage:
    return BufferedMessage(
        correlation_key=row.correlation_key,
        correlation_value=row.correlation_value,
        message_id=row.message_id,
        data=row.data,
        expires_at=row.expires_at,
        single_consumer=row.single_consumer,
        created_at=row.created_at.timestamp(),
    )


def message_seen(conn: Connection, message_id: str, now: float, retention: float) -> bool:
    stmt = select(seen_messages.c.message_id).where(
        seen_messages.c.message_id == message_id, seen_messages.c.seen_at > now - retention)
    return conn.execute(stmt).first() is not None


def seen_message_ids(conn: Connection, message_ids: Iterable[str], now: float, retention: float) -> set[str]:
    ids = sorted(set(message_ids))
    if not ids:
        return set()
    stmt = select(seen_messages.c.message_id).where(
        seen_messages.c.message_id == any_(bindparam("ids", type_=ARRAY(Text))),
        seen_messages.c.seen_at > now - retention)
    return set(conn.scalars(stmt, {"ids": ids}))


def mark_message_seen(conn: Connection, message_id: str, now: float, retention: float) -> bool:
    stmt = _mark_seen(now, retention).values(message_id=message_id, seen_at=now)
    return conn.execute(stmt.returning(seen_messages.c.message_id)).first() is not None


def _mark_seen(now: float, retention: float) -> Any:
    stmt = insert(seen_messages)
    return stmt.on_conflict_do_update(
        index_elements=[seen_messages.c.message_id],
        set_={"seen_at": stmt.excluded.seen_at},
        # An id seen longer ago than the retention counts as new (housekeeping may not have run yet).
        where=seen_messages.c.seen_at <= now - retention,
    )


def apply_correlation(conn: Connection, write: CorrelationWrite, now: float, retention: float) -> None:
    """Adds before removals: a wait added and ended within one batch must end up gone."""
    added = [subscription_params(s, now) for s in write.subscriptions_added]
    if added:
        conn.execute(insert(subscriptions).on_conflict_do_nothing(), added)
    if write.subscriptions_removed:
        conn.execute(delete(subscriptions).where(subscriptions.c.subscription_id.in_(set(write.subscriptions_removed))))
    buffered = [_buffered_params(m, now) for m in write.buffered_added]
    if buffered:
        conn.execute(insert(buffered_messages).on_conflict_do_nothing(), buffered)
    if write.buffered_removed:
        conn.execute(delete(buffered_messages).where(buffered_messages.c.message_id.in_(set(write.buffered_removed))))
    if write.seen_ids:
        conn.execute(_mark_seen(now, retention), [{"message_id": m, "seen_at": now} for m in write.seen_ids])


def expire(conn: Connection, now: float, retention: float) -> ExpireResult:
    buffered = conn.execute(delete(buffered_messages).where(buffered_messages.c.expires_at <= now)).rowcount
    seen = conn.execute(delete(seen_messages).where(seen_messages.c.seen_at <= now - retention)).rowcount
    return ExpireResult(buffered_messages=int(buffered), seen_messages=int(seen))
