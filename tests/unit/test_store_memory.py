"""The Store contract, as a reusable suite, run here against MemoryStore (no I/O).

``StoreContract`` holds every behaviour both stores must share; a subclass provides the
``store`` fixture. tests/integration/test_store_postgres.py runs the same suite on SqlStore
against a real Postgres, so the fake cannot drift from the real thing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from engine.model import Frame, Snapshot
from engine.timefmt import iso
from streams.store import (
    BatchWrite,
    BufferedMessage,
    CommitResult,
    ConflictError,
    CorrelationWrite,
    ExecutionRecord,
    ExecutionWrite,
    HistoryRow,
    MemoryStore,
    OutboxRow,
    StateMachineRecord,
    Store,
    StoreError,
    Subscription,
    SubscriptionKey,
    TimerRow,
    canonical_json,
)
from streams.store.codec import to_microseconds

T0 = 1_700_000_000.0
RETENTION = 3600.0  # the stores under test remember message ids for one hour
DEFINITION = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}


# ---------------------------------------------------------------- builders


def snapshot(execution_id: str, *, status: str = "RUNNING", state: str = "Work", start: float = T0,
             output: Any = None, stop: float | None = None, execution_input: Any = None) -> dict[str, Any]:
    """A snapshot as the engine writes it (``Snapshot.to_json()``)."""
    snap = Snapshot(execution_id=execution_id, name=execution_id.rsplit(":", 1)[-1], status=status,
                    input=execution_input if execution_input is not None else {"n": 1}, output=output,
                    start_time=iso(start), stop_time=None if stop is None else iso(stop), transitions=2)
    snap.frames["0"] = Frame(id="0", scope="", state=state, input={"n": 1})
    return snap.to_json()


def history_rows(execution_id: str, count: int, *, first: int = 1, at: float = T0) -> list[HistoryRow]:
    return [HistoryRow(execution_id, i, f"Event{i}", at + i / 1000, {"i": i, "nested": {"ok": True}}, i - 1)
            for i in range(first, first + count)]


def outbox_rows(execution_id: str, offset: int, count: int, *, partition: int = 0) -> list[OutboxRow]:
    return [OutboxRow(execution_id, offset, seq, partition, "stepstream.events", execution_id.encode(),
                      b'{"seq": %d}' % seq) for seq in range(count)]


def write(execution_id: str, offset: int, *, expected: int | None = None, partition: int = 0,
          history: int = 0, first_event: int = 1, outbox: int = 0, **fields: Any) -> ExecutionWrite:
    snap_fields = {k: fields.pop(k) for k in ("status", "state", "start", "output", "stop") if k in fields}
    return ExecutionWrite(
        snapshot=snapshot(execution_id, **snap_fields), state_machine=fields.pop("state_machine", "orders"),
        version=fields.pop("version", 1), partition=partition, last_offset=offset, expected_offset=expected,
        history=history_rows(execution_id, history, first=first_event),
        outbox=outbox_rows(execution_id, offset, outbox, partition=partition), **fields)


def batch(*writes: ExecutionWrite, now: float = T0 + 1) -> BatchWrite:
    return BatchWrite(list(writes), now=now)


def described(store: Store, execution_id: str) -> ExecutionRecord:
    record = store.describe(execution_id)
    assert record is not None, f"{execution_id} is not stored"
    return record


def machine(store: Store, name: str, version: int | None = None) -> StateMachineRecord:
    record = store.get_state_machine(name, version)
    assert record is not None, f"{name} version {version} is not stored"
    return record


# ---------------------------------------------------------------- the contract


class StoreContract:
    """Behaviour every Store implementation must show; subclasses define the ``store`` fixture."""

    # ------------------------------------------------------------ state machines

    def test_deploy_same_definition_keeps_version(self, store: Store) -> None:
        assert store.deploy("orders", DEFINITION, now=T0) == 1
        reordered = {"States": {"A": {"End": True, "Type": "Pass"}}, "StartAt": "A"}
        assert store.deploy("orders", reordered, now=T0 + 1) == 1
        assert store.deploy("other", DEFINITION, now=T0) == 1

    def test_deploy_changed_definition_adds_version(self, store: Store) -> None:
        changed = {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}
        assert store.deploy("orders", DEFINITION, now=T0) == 1
        assert store.deploy("orders", changed, now=T0 + 1) == 2
        assert store.deploy("orders", DEFINITION, now=T0 + 2) == 3  # compared with the latest version only
        latest, first, second = (machine(store, "orders", v) for v in (None, 1, 2))
        assert (latest.version, latest.definition, latest.created_at) == (3, DEFINITION, T0 + 2)
        assert first.definition == DEFINITION
        assert first.definition_hash == latest.definition_hash != second.definition_hash
        assert store.get_state_machine("orders", 9) is None
        assert store.get_state_machine("missing") is None

    def test_list_state_machines(self, store: Store) -> None:
        store.deploy("b", DEFINITION, now=T0)
        store.deploy("a", DEFINITION, now=T0)
        store.deploy("a", {"StartAt": "X", "States": {"X": {"Type": "Succeed"}}}, now=T0)
        assert [(m.name, m.version) for m in store.list_state_machines()] == [("a", 2), ("b", 1)]
        assert [(m.name, m.version) for m in store.list_state_machines(all_versions=True)] == [
            ("a", 1), ("a", 2), ("b", 1)]

    # ------------------------------------------------------------ commit_batch and load

    def test_commit_then_load_execution(self, store: Store) -> None:
        result = store.commit_batch(batch(write("exec-1", 7, partition=3, history=2, outbox=1)))
        assert result.applied == ("exec-1",)
        assert result.replayed == ()
        record = store.load_executions(["exec-1", "unknown"])["exec-1"]
        assert record.snapshot == snapshot("exec-1")
        assert (record.status, record.current_state, record.input, record.output) == ("RUNNING", "Work", {"n": 1}, None)
        assert (record.state_machine, record.version, record.partition, record.last_offset) == ("orders", 1, 3, 7)
        assert (record.start_time, record.stop_time, record.updated_at) == (T0, None, T0 + 1)
        assert (record.snapshot_format, record.transitions, record.name) == (1, 2, "exec-1")
        assert store.describe("exec-1") == record
        assert store.load_executions([]) == {}
        assert store.load_executions(["unknown"]) == {}
        assert store.describe("unknown") is None
        assert store.commit_batch(BatchWrite([], now=T0)) == CommitResult(())

    def test_update_with_expected_offset(self, store: Store) -> None:
        store.commit_batch(batch(write("exec-1", 7, history=2)))
        done = write("exec-1", 12, expected=7, status="SUCCEEDED", output={"ok": 1}, stop=T0 + 5,
                     history=2, first_event=3)
        store.commit_batch(batch(done, now=T0 + 6))
        record = described(store, "exec-1")
        assert (record.status, record.output, record.stop_time, record.last_offset) == ("SUCCEEDED", {"ok": 1},
                                                                                        T0 + 5, 12)
        assert [h.event_id for h in store.history("exec-1")] == [1, 2, 3, 4]

    def test_history_rows_round_trip(self, store: Store) -> None:
        rows = history_rows("exec-1", 5)
        store.commit_batch(batch(write("exec-1", 1, history=5)))
        stored = store.history("exec-1")
        assert stored == [HistoryRow(r.execution_id, r.event_id, r.type, to_microseconds(r.timestamp), r.details,
                                     r.previous_event_id) for r in rows]
        assert [h.event_id for h in store.history("exec-1", after=2)] == [3, 4, 5]
        assert [h.event_id for h in store.history("exec-1", after=1, limit=2)] == [2, 3]
        assert store.history("unknown") == []

    def test_stale_expected_offset_conflicts_and_writes_nothing(self, store: Store) -> None:
        store.commit_batch(batch(write("exec-1", 7)))
        store.commit_batch(batch(write("exec-1", 9, expected=7)))  # another worker moved it on
        zombie = batch(write("exec-2", 4, history=1, outbox=1), write("exec-1", 11, expected=7, history=1))
        with pytest.raises(ConflictError) as caught:
            store.commit_batch(zombie)
        assert caught.value.conflicts == {"exec-1": (7, 9)}
        assert store.load_executions(["exec-2"]) == {}
        assert store.pending_outbox([0]) == []
        assert described(store, "exec-1").last_offset == 9

    def test_new_execution_that_exists_conflicts(self, store: Store) -> None:
        store.commit_batch(batch(write("exec-1", 3)))
        with pytest.raises(ConflictError):
            store.commit_batch(batch(write("exec-1", 8)))  # expected None: "no row yet"

    def test_replayed_batch_is_harmless(self, store: Store) -> None:
        first = batch(write("exec-1", 5, history=3, outbox=2), write("exec-2", 6, history=1))
        store.commit_batch(first)
        before = (store.load_executions(["exec-1", "exec-2"]), store.history("exec-1"), store.pending_outbox([0]))
        again = store.commit_batch(first)
        assert again.applied == ()
        assert sorted(again.replayed) == ["exec-1", "exec-2"]
        after = (store.load_executions(["exec-1", "exec-2"]), store.history("exec-1"), store.pending_outbox([0]))
        assert after == before

    def test_rows_already_stored_are_kept(self, store: Store) -> None:
        store.commit_batch(batch(write("exec-1", 1, history=3, outbox=1)))
        overlap = write("exec-1", 2, expected=1, history=3, first_event=3, outbox=2)
        overlap = replace(overlap, history=[replace(h, type="Changed") for h in overlap.history],
                          outbox=[*overlap.outbox, *outbox_rows("exec-1", 1, 2)])
        store.commit_batch(batch(overlap))  # event 3 and outbox (1, 0) exist: kept as they were
        assert [(h.event_id, h.type) for h in store.history("exec-1")] == [
            (1, "Event1"), (2, "Event2"), (3, "Event3"), (4, "Changed"), (5, "Changed")]
        assert [(r.command_offset, r.seq) for r in store.pending_outbox([0])] == [(1, 0), (1, 1), (2, 0), (2, 1)]

    def test_awkward_text_round_trips(self, store: Store) -> None:
        text = 'tab\t newline\n cr\r backslash\\ quote" \\N é 漢字 🚀 \u2028'
        snap = snapshot("exec-1", output={text: [text, 1.5, -0.0, 10**18]}, status="SUCCEEDED", stop=T0 + 1)
        snap["error"], snap["cause"] = text, text
        payload = bytes(range(256))
        store.commit_batch(batch(ExecutionWrite(
            snap, "orders", 1, 0, 1, history=[HistoryRow("exec-1", 1, "T", T0, {"text": text})],
            outbox=[OutboxRow("exec-1", 1, 0, 0, "t", b"\t\n\\", payload)])))
        record = described(store, "exec-1")
        assert record.snapshot == snap
        assert (record.output, record.error, record.cause) == ({text: [text, 1.5, -0.0, 10**18]}, text, text)
        assert store.history("exec-1")[0].details == {"text": text}
        assert store.outbox_for("exec-1", 1)[0].payload == payload
        assert store.outbox_for("exec-1", 1)[0].key == b"\t\n\\"

    def test_malformed_batches_are_refused(self, store: Store) -> None:
        with pytest.raises(StoreError, match="appears twice"):
            store.commit_batch(batch(write("exec-1", 1), write("exec-1", 2)))
        with pytest.raises(StoreError, match=r"history\[0\] of execution 'exec-1' names execution 'exec-2'"):
            store.commit_batch(batch(ExecutionWrite(snapshot("exec-1"), "orders", 1, 0, 1,
                                                    history=history_rows("exec-2", 1))))
        with pytest.raises(StoreError, match="does not follow"):
            store.commit_batch(batch(write("exec-1", 4, expected=4)))
        assert store.load_executions(["exec-1"]) == {}

    def test_unserialisable_value_writes_nothing(self, store: Store) -> None:
        bad = ExecutionWrite(snapshot("exec-2"), "orders", 1, 0, 2,
                             history=[HistoryRow("exec-2", 1, "Broken", T0, {"value": object()})])
        with pytest.raises(TypeError):
            store.commit_batch(batch(write("exec-1", 1, outbox=1), bad))
        assert store.load_executions(["exec-1", "exec-2"]) == {}
        assert store.pending_outbox([0]) == []

    def test_nul_character_is_refused_clearly(self, store: Store) -> None:
        """Postgres cannot store U+0000 in jsonb: the batch is refused naming the execution, and nothing is written."""
        poisoned = ExecutionWrite(snapshot("exec-2", output={"text": "a\x00b"}), "orders", 1, 0, 2)
        with pytest.raises(StoreError, match=r"execution 'exec-2': .*NUL character"):
            store.commit_batch(batch(write("exec-1", 1), poisoned))
        assert store.load_executions(["exec-1", "exec-2"]) == {}
        with pytest.raises(StoreError, match="NUL character"):
            store.buffer_message(BufferedMessage("k", 1, "m", {"x": "\x00"}, expires_at=T0 + 9), now=T0)
        assert store.find_buffered("k", 1, T0) == []
        escaped = write("exec-3", 1, output={"text": "\\u0000 is fine as text"})
        store.commit_batch(batch(escaped))
        assert described(store, "exec-3").output == {"text": "\\u0000 is fine as text"}

    def test_loaded_records_are_copies(self, store: Store) -> None:
        store.commit_batch(batch(write("exec-1", 1, history=1)))
        store.load_executions(["exec-1"])["exec-1"].snapshot["status"] = "MUTATED"
        store.history("exec-1")[0].details["i"] = "MUTATED"
        assert described(store, "exec-1").snapshot["status"] == "RUNNING"
        assert store.history("exec-1")[0].details["i"] == 1

    # ------------------------------------------------------------ outbox

    def test_outbox_order_and_delete(self, store: Store) -> None:
        store.commit_batch(batch(write("b", 4, partition=1, outbox=2), write("a", 4, partition=1, outbox=1),
                                 write("c", 2, partition=2, outbox=1)))
        store.commit_batch(batch(write("a", 9, expected=4, partition=1, outbox=2)))
        pending = store.pending_outbox([1])
        assert [(r.command_offset, r.execution_id, r.seq) for r in pending] == [
            (4, "a", 0), (4, "b", 0), (4, "b", 1), (9, "a", 0), (9, "a", 1)]
        assert pending[0] == OutboxRow("a", 4, 0, 1, "stepstream.events", b"a", b'{"seq": 0}', created_at=T0 + 1)
        assert len(store.pending_outbox([1, 2])) == 6
        assert len(store.pending_outbox([1, 2], limit=2)) == 2
        assert store.pending_outbox([]) == []
        assert [r.seq for r in store.outbox_for("b", 4)] == [0, 1]
        assert store.outbox_for("b", 5) == []
        assert store.delete_outbox([("b", 4), ("a", 9), ("zzz", 1)]) == 4
        assert store.delete_outbox([]) == 0
        assert [r.command for r in store.pending_outbox([1, 2])] == [("a", 4), ("c", 2)]

    def test_outbox_key_may_be_none(self, store: Store) -> None:
        row = OutboxRow("exec-1", 1, 0, 0, "stepstream.dead-letters", None, b"\x00\xffbinary")
        store.commit_batch(batch(ExecutionWrite(snapshot("exec-1"), "orders", 1, 0, 1, outbox=[row])))
        (stored,) = store.outbox_for("exec-1", 1)
        assert (stored.key, stored.payload) == (None, b"\x00\xffbinary")

    # ------------------------------------------------------------ timers

    def test_timers_through_a_batch(self, store: Store) -> None:
        timers = [TimerRow("exec-1", "t1", 0, T0 + 10.25, "wait"), TimerRow("exec-1", "t2", 0, T0 + 5, "task_timeout")]
        store.commit_batch(batch(ExecutionWrite(snapshot("exec-1"), "orders", 1, 0, 1, timers_added=timers)))
        assert [t.timer_id for t in store.load_timers([0])] == ["t2", "t1"]
        store.commit_batch(batch(ExecutionWrite(snapshot("exec-1"), "orders", 1, 0, 2, expected_offset=1,
                                                timers_removed=["t2", "unknown"])))
        assert store.load_timers([0]) == [TimerRow("exec-1", "t1", 0, T0 + 10.25, "wait", created_at=T0 + 1)]

    def test_timer_agent_operations(self, store: Store) -> None:
        exact = T0 + 0.1234567  # double precision: kept exactly, so a timer never fires early
        store.save_timers([TimerRow("e1", "execution_timeout", 1, T0 + 30, "execution_timeout"),
                           TimerRow("e2", "execution_timeout", 1, exact, "execution_timeout"),
                           TimerRow("e3", "t", 2, T0 + 1, "wait")], now=T0)
        assert [t.execution_id for t in store.due_timers([1], T0 + 30)] == ["e2", "e1"]  # until is inclusive
        assert [t.execution_id for t in store.due_timers([1], T0 + 29.999)] == ["e2"]
        assert store.due_timers([1], T0) == []
        assert store.due_timers([1, 2], T0 + 60, limit=1)[0].execution_id == "e2"
        assert store.due_timers([1], T0 + 60)[0].fire_at == exact
        store.save_timers([TimerRow("e1", "execution_timeout", 1, T0 + 0.01, "execution_timeout")], now=T0 + 1)
        assert [(t.execution_id, t.created_at) for t in store.load_timers([1])] == [("e1", T0 + 1), ("e2", T0)]
        assert store.delete_timers([("e1", "execution_timeout"), ("e1", "nope")]) == 1
        assert store.delete_timers([]) == 0
        assert [t.execution_id for t in store.load_timers([1, 2])] == ["e2", "e3"]
        assert store.load_timers([]) == []

    # ------------------------------------------------------------ correlation

    def test_subscriptions_take_all_or_oldest(self, store: Store) -> None:
        for n in range(3):
            assert store.add_subscription(Subscription("orderId", 42, f"s{n}", f"exec-{n}"), now=T0 + 3 - n)
        assert not store.add_subscription(Subscription("orderId", 42, "s0", "exec-0"), now=T0 + 9)
        oldest = store.take_subscriptions("orderId", 42, single=True)
        assert oldest == [Subscription("orderId", 42, "s2", "exec-2", created_at=T0 + 1)]
        assert [s.subscription_id for s in store.take_subscriptions("orderId", 42, single=False)] == ["s1", "s0"]
        assert store.take_subscriptions("orderId", 42, single=False) == []
        assert store.take_subscriptions("orderId", 42, single=True) == []

    def test_correlation_values_are_typed_json(self, store: Store) -> None:
        store.add_subscription(Subscription("orderId", "123", "text", "e1"), now=T0)
        store.add_subscription(Subscription("orderId", 123, "number", "e2"), now=T0)
        store.add_subscription(Subscription("orderId", {"a": 1, "b": [True, None]}, "object", "e3"), now=T0)
        assert [s.subscription_id for s in store.take_subscriptions("orderId", 123.0, single=False)] == ["number"]
        assert [s.correlation_value for s in store.take_subscriptions("orderId", "123", single=False)] == ["123"]
        assert store.take_subscriptions("customerId", {"b": [True, None], "a": 1}, single=False) == []
        taken = store.take_subscriptions("orderId", {"b": [True, None], "a": 1}, single=False)
        assert [s.correlation_value for s in taken] == [{"a": 1, "b": [True, None]}]
        assert canonical_json(1) != canonical_json(True) != canonical_json("1")

    def test_remove_subscription(self, store: Store) -> None:
        store.add_subscription(Subscription("k", "v", "s1", "e1"), now=T0)
        assert not store.remove_subscription("k", "other", "s1")
        assert store.remove_subscription("k", "v", "s1")
        assert not store.remove_subscription("k", "v", "s1")

    def test_subscriptions_through_a_batch(self, store: Store) -> None:
        added = [Subscription("k", 1, "s1", "exec-1"), Subscription("k", 1, "s2", "exec-1")]
        store.commit_batch(batch(ExecutionWrite(snapshot("exec-1"), "orders", 1, 0, 1, subscriptions_added=added)))
        store.commit_batch(batch(ExecutionWrite(snapshot("exec-1"), "orders", 1, 0, 2, expected_offset=1,
                                                subscriptions_removed=[SubscriptionKey("k", 1.0, "s1")])))
        assert store.take_subscriptions("k", 1, single=False) == [
            Subscription("k", 1, "s2", "exec-1", created_at=T0 + 1)]

    def test_buffered_messages(self, store: Store) -> None:
        first = BufferedMessage("orderId", 7, "m1", {"paid": True}, expires_at=T0 + 100, single_consumer=False)
        assert store.buffer_message(first, now=T0)
        assert not store.buffer_message(first, now=T0 + 1)
        assert store.buffer_message(BufferedMessage("orderId", 7, "m0", None, expires_at=T0 + 10), now=T0 + 2)
        assert store.buffer_message(BufferedMessage("orderId", 7, "m2", [1, 2], expires_at=T0 + 200), now=T0 + 3)
        assert store.take_buffered("orderId", "7", T0 + 20) is None
        assert store.take_buffered("orderId", 7, T0 + 20) == BufferedMessage(
            "orderId", 7, "m1", {"paid": True}, T0 + 100, single_consumer=False, created_at=T0)
        taken = store.take_buffered("orderId", 7, T0 + 20)  # m0 expired at T0 + 10: skipped
        assert taken is not None
        assert (taken.message_id, taken.data, taken.single_consumer) == ("m2", [1, 2], True)
        assert store.take_buffered("orderId", 7, T0 + 20) is None

    def test_find_changes_nothing(self, store: Store) -> None:
        store.add_subscription(Subscription("k", [1, "a"], "late", "e1"), now=T0 + 5)
        store.add_subscription(Subscription("k", [1, "a"], "early", "e2", created_at=T0 - 50), now=T0 + 6)
        store.buffer_message(BufferedMessage("k", [1, "a"], "m-new", 2, expires_at=T0 + 90), now=T0 + 2)
        store.buffer_message(BufferedMessage("k", [1, "a"], "m-old", 1, expires_at=T0 + 90, created_at=T0), now=T0 + 3)
        store.buffer_message(BufferedMessage("k", [1, "a"], "m-gone", 0, expires_at=T0 + 1), now=T0)
        for _ in range(2):
            assert [s.subscription_id for s in store.find_subscriptions("k", [1, "a"])] == ["early", "late"]
            assert [m.message_id for m in store.find_buffered("k", [1, "a"], T0 + 10)] == ["m-old", "m-new"]
        assert store.find_subscriptions("k", [1, "b"]) == []
        assert store.find_buffered("k", [1, "a"], T0 + 90) == []
        assert not store.message_seen("m1", T0)
        assert not store.message_seen("m1", T0)  # asking does not remember
        store.mark_message_seen("m1", T0)
        assert store.message_seen("m1", T0 + RETENTION - 1)
        assert not store.message_seen("m1", T0 + RETENTION)

    def test_find_correlations_orders_like_the_single_key_reads(self, store: Store) -> None:
        for sub_id, value, created in [("late", 7, T0 + 5), ("early", 7, T0 - 50), ("tie-b", 7, T0),
                                       ("tie-a", 7, T0), ("other", 8, T0 - 99), ("elsewhere", 7, T0)]:
            key = "elsewhere" if sub_id == "elsewhere" else "k"
            store.add_subscription(Subscription(key, value, sub_id, f"e-{sub_id}", created_at=created), now=T0 + 9)
        for message_id, created in [("m-new", T0 + 2), ("m-old", T0 - 10), ("m-tie-b", T0), ("m-tie-a", T0)]:
            store.buffer_message(BufferedMessage("k", 7, message_id, {"id": message_id}, expires_at=T0 + 90,
                                                 created_at=created), now=T0 + 9)
        store.buffer_message(BufferedMessage("k", 8, "m-8", None, expires_at=T0 + 90), now=T0 + 3)
        found = store.find_correlations([("k", 7), ("k", 8)], T0 + 10)
        waits, buffered = found[("k", "7")]
        assert [s.subscription_id for s in waits] == ["early", "tie-a", "tie-b", "late"]
        assert [m.message_id for m in buffered] == ["m-old", "m-tie-a", "m-tie-b", "m-new"]
        assert buffered[0] == BufferedMessage("k", 7, "m-old", {"id": "m-old"}, T0 + 90, created_at=T0 - 10)
        assert waits[0] == Subscription("k", 7, "early", "e-early", created_at=T0 - 50)
        assert found == {(key, canonical_json(value)): (store.find_subscriptions(key, value),
                                                        store.find_buffered(key, value, T0 + 10))
                         for key, value in [("k", 7), ("k", 8)]}
        assert store.find_correlations([("k", 7), ("k", 8)], T0 + 10) == found  # asking changes nothing

    def test_find_correlations_values_are_typed_json(self, store: Store) -> None:
        store.add_subscription(Subscription("orderId", "123", "text", "e1"), now=T0)
        store.add_subscription(Subscription("orderId", 123, "number", "e2"), now=T0 + 1)
        store.add_subscription(Subscription("orderId", 42.0, "float", "e3"), now=T0 + 2)
        store.add_subscription(Subscription("orderId", {"a": 1, "b": [True, None]}, "object", "e4"), now=T0)
        store.buffer_message(BufferedMessage("orderId", 42, "m-int", None, expires_at=T0 + 9), now=T0)
        store.buffer_message(BufferedMessage("orderId", True, "m-true", None, expires_at=T0 + 9), now=T0)
        wanted = [("orderId", 123), ("orderId", "123"), ("orderId", 42), ("orderId", 42.0), ("orderId", 1),
                  ("orderId", True), ("orderId", {"b": [True, None], "a": 1}), ("customerId", 123)]
        found = store.find_correlations(wanted, T0)
        assert set(found) == {("orderId", "123"), ("orderId", '"123"'), ("orderId", "42"), ("orderId", "1"),
                              ("orderId", "true"), ("orderId", '{"a":1,"b":[true,null]}'), ("customerId", "123")}
        assert set(found) == {(key, canonical_json(value)) for key, value in wanted}
        ids = {key: ([s.subscription_id for s in waits], [m.message_id for m in kept])
               for key, (waits, kept) in found.items()}
        assert ids[("orderId", "123")] == (["number"], [])
        assert ids[("orderId", '"123"')] == (["text"], [])
        assert ids[("orderId", "42")] == (["float"], ["m-int"])  # 42 is 42.0
        assert ids[("orderId", "1")] == ([], [])  # 1 is not true
        assert ids[("orderId", "true")] == ([], ["m-true"])
        assert ids[("orderId", '{"a":1,"b":[true,null]}')] == (["object"], [])
        assert ids[("customerId", "123")] == ([], [])
        assert found[("orderId", '"123"')][0][0].correlation_value == "123"

    def test_find_correlations_skips_expired_messages(self, store: Store) -> None:
        for message_id, expires_at in [("gone", T0 + 5), ("edge", T0 + 10), ("live", T0 + 10.5)]:
            store.buffer_message(BufferedMessage("k", "v", message_id, None, expires_at=expires_at), now=T0)
        store.add_subscription(Subscription("k", "v", "s1", "e1"), now=T0)
        assert [m.message_id for m in store.find_correlations([("k", "v")], T0)[("k", '"v"')][1]] == [
            "edge", "gone", "live"]  # created together: by message id
        waits, buffered = store.find_correlations([("k", "v")], T0 + 10)[("k", '"v"')]  # expires_at == now: expired
        assert ([s.subscription_id for s in waits], [m.message_id for m in buffered]) == (["s1"], ["live"])
        assert store.find_correlations([("k", "v")], T0 + 11) == {("k", '"v"'): (waits, [])}

    def test_find_correlations_empty_and_unknown(self, store: Store) -> None:
        assert store.find_correlations([], T0) == {}
        assert store.find_correlations(iter(()), T0) == {}
        store.add_subscription(Subscription("k", 1, "s1", "e1"), now=T0)
        pairs = (pair for pair in [("k", 1), ("k", 2), ("k", 1), ("k", 1.0)])  # any iterable; repeats are one entry
        found = store.find_correlations(pairs, T0)
        assert set(found) == {("k", "1"), ("k", "2")}
        assert found[("k", "2")] == ([], [])
        assert [s.subscription_id for s in found[("k", "1")][0]] == ["s1"]

    def test_find_correlations_returns_copies(self, store: Store) -> None:
        store.add_subscription(Subscription("k", {"id": 1}, "s1", "e1"), now=T0)
        store.buffer_message(BufferedMessage("k", {"id": 1}, "m1", {"n": 1}, expires_at=T0 + 9), now=T0)
        waits, buffered = store.find_correlations([("k", {"id": 1})], T0)[("k", '{"id":1}')]
        waits[0].correlation_value["id"] = "MUTATED"
        buffered[0].data["n"] = "MUTATED"
        waits.clear()
        assert store.find_subscriptions("k", {"id": 1})[0].correlation_value == {"id": 1}
        assert store.find_buffered("k", {"id": 1}, T0)[0].data == {"n": 1}

    def test_find_correlations_many_keys_at_once(self, store: Store) -> None:
        values: list[Any] = [n if n % 2 else str(n) for n in range(400)]
        store.apply_correlation(CorrelationWrite(
            subscriptions_added=[Subscription("orderId", v, f"s{n}-{i}", f"e{n}", created_at=T0 + i - n)
                                 for n, v in enumerate(values) if n % 3 for i in range(n % 4)],
            buffered_added=[BufferedMessage("orderId", v, f"m{n}", n, expires_at=T0 + n % 5, created_at=T0 - n)
                            for n, v in enumerate(values) if n % 7 == 0]), now=T0)
        wanted = [("orderId", v) for v in values] + [("orderId", f"missing-{n}") for n in range(100)]
        found = store.find_correlations(wanted, T0 + 2)
        assert len(found) == 500
        assert found == {(key, canonical_json(value)): (store.find_subscriptions(key, value),
                                                        store.find_buffered(key, value, T0 + 2))
                         for key, value in wanted}
        assert sum(len(waits) for waits, _ in found.values()) == sum(n % 4 for n in range(400) if n % 3)
        assert sum(len(kept) for _, kept in found.values()) == sum(1 for n in range(400) if n % 7 == 0 and n % 5 > 2)

    def test_seen_message_ids(self, store: Store) -> None:
        assert store.seen_message_ids([], T0) == set()
        assert store.seen_message_ids(["m1", "m2"], T0) == set()
        store.mark_message_seen("m1", T0)
        store.mark_message_seen("m2", T0 + 10)
        store.apply_correlation(CorrelationWrite(seen_ids=["m3"]), now=T0 + 20)
        wanted = ["m1", "m2", "m3", "unknown", "m1"]
        assert store.seen_message_ids(wanted, T0 + 30) == {"m1", "m2", "m3"}
        assert store.seen_message_ids(iter(wanted), T0 + 30) == {"m1", "m2", "m3"}
        assert store.seen_message_ids(wanted, T0 + RETENTION - 1) == {"m1", "m2", "m3"}
        assert store.seen_message_ids(wanted, T0 + RETENTION) == {"m2", "m3"}  # as message_seen: window is open
        assert store.seen_message_ids(wanted, T0 + RETENTION + 10) == {"m3"}
        assert store.seen_message_ids(wanted, T0 + RETENTION + 20) == set()
        for now in (T0 + 30, T0 + RETENTION, T0 + RETENTION + 10):
            assert store.seen_message_ids(wanted, now) == {m for m in wanted if store.message_seen(m, now)}
        assert store.mark_message_seen("m1", T0 + RETENTION + 1)  # asking changed nothing: forgotten, seen anew
        assert store.seen_message_ids(["m1"], T0 + RETENTION + 20) == {"m1"}

    def test_seen_message_ids_many_at_once(self, store: Store) -> None:
        store.apply_correlation(CorrelationWrite(seen_ids=[f"old-{n}" for n in range(300)]), now=T0)
        store.apply_correlation(CorrelationWrite(seen_ids=[f"new-{n}" for n in range(300)]), now=T0 + 100)
        wanted = [f"{age}-{n}" for age in ("old", "new", "never") for n in range(300)]
        assert store.seen_message_ids(wanted, T0 + 100) == set(wanted[:600])
        assert store.seen_message_ids(wanted, T0 + RETENTION + 50) == set(wanted[300:600])

    def test_apply_correlation(self, store: Store) -> None:
        store.add_subscription(Subscription("k", 1, "old-wait", "e0"), now=T0)
        store.buffer_message(BufferedMessage("k", 2, "old-message", None, expires_at=T0 + 99), now=T0)
        write = CorrelationWrite(
            subscriptions_added=[Subscription("k", 1, "new-wait", "e1", created_at=T0 + 1),
                                 Subscription("k", 1, "short-wait", "e2")],
            subscriptions_removed=["old-wait", "short-wait", "unknown"],  # added and ended in the same batch
            buffered_added=[BufferedMessage("k", 3, "kept", {"x": 1}, expires_at=T0 + 99),
                            BufferedMessage("k", 3, "taken", None, expires_at=T0 + 99)],
            buffered_removed=["old-message", "taken"],
            seen_ids=["kept", "taken", "delivered"],
        )
        assert CorrelationWrite().empty
        assert not write.empty
        store.apply_correlation(write, now=T0 + 5)
        assert store.find_subscriptions("k", 1) == [Subscription("k", 1, "new-wait", "e1", created_at=T0 + 1)]
        assert store.find_buffered("k", 2, T0 + 6) == []
        assert store.find_buffered("k", 3, T0 + 6) == [
            BufferedMessage("k", 3, "kept", {"x": 1}, T0 + 99, single_consumer=True, created_at=T0 + 5)]
        assert all(store.message_seen(m, T0 + 6) for m in ("kept", "taken", "delivered"))
        store.apply_correlation(write, now=T0 + 5)  # a replay changes nothing
        assert [s.subscription_id for s in store.find_subscriptions("k", 1)] == ["new-wait"]
        assert [m.message_id for m in store.find_buffered("k", 3, T0 + 6)] == ["kept"]

    def test_mark_message_seen_within_retention(self, store: Store) -> None:
        assert store.mark_message_seen("m1", T0)
        assert not store.mark_message_seen("m1", T0 + 10)
        assert not store.mark_message_seen("m1", T0 + RETENTION - 1)
        assert store.mark_message_seen("m1", T0 + RETENTION + 1)  # forgotten, even before housekeeping
        assert not store.mark_message_seen("m1", T0 + RETENTION + 2)

    def test_expire(self, store: Store) -> None:
        store.buffer_message(BufferedMessage("k", 1, "old", None, expires_at=T0 + 5), now=T0)
        store.buffer_message(BufferedMessage("k", 1, "new", None, expires_at=T0 + 50), now=T0)
        store.mark_message_seen("seen-old", T0)
        store.mark_message_seen("seen-new", T0 + 40)
        result = store.expire(T0 + RETENTION + 5)
        assert (result.buffered_messages, result.seen_messages) == (2, 1)
        assert store.take_buffered("k", 1, T0) is None
        assert not store.mark_message_seen("seen-new", T0 + RETENTION + 6)
        assert store.expire(T0 + RETENTION + 5) == type(result)(0, 0)

    # ------------------------------------------------------------ queries

    def test_list_executions(self, store: Store) -> None:
        store.commit_batch(batch(
            write("e1", 1, start=T0 + 1, state_machine="orders"),
            write("e2", 2, start=T0 + 2, state_machine="refunds", status="FAILED"),
            write("e3", 3, start=T0 + 3, state_machine="orders", status="SUCCEEDED", stop=T0 + 4),
            write("e0", 4, start=T0 + 3, state_machine="orders"),
        ))
        assert [e.execution_id for e in store.list_executions()] == ["e0", "e3", "e2", "e1"]
        assert [e.execution_id for e in store.list_executions(state_machine="orders")] == ["e0", "e3", "e1"]
        assert [e.execution_id for e in store.list_executions(status="FAILED")] == ["e2"]
        assert [e.execution_id for e in store.list_executions(since=T0 + 2)] == ["e0", "e3", "e2"]
        assert [e.execution_id for e in store.list_executions(limit=1)] == ["e0"]
        assert store.list_executions(status="RUNNING", state_machine="refunds") == []
        e3 = store.list_executions(status="SUCCEEDED")[0]
        assert (e3.name, e3.state_machine, e3.version, e3.start_time, e3.stop_time) == ("e3", "orders", 1, T0 + 3,
                                                                                         T0 + 4)

    def test_many_executions_in_one_batch(self, store: Store) -> None:
        writes = [write(f"exec-{i:03d}", 100 + i, partition=i % 4, history=3, outbox=2) for i in range(200)]
        assert len(store.commit_batch(batch(*writes)).applied) == 200
        loaded = store.load_executions(w.execution_id for w in writes)
        assert len(loaded) == 200
        assert loaded["exec-150"].last_offset == 250
        assert len(store.pending_outbox(range(4))) == 400
        assert len(store.history("exec-199")) == 3


class TestMemoryStore(StoreContract):
    """The contract on the in-memory fake."""

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        memory = MemoryStore(message_retention_seconds=RETENTION)
        yield memory
        memory.close()

    def test_is_a_store(self, store: Store) -> None:
        assert isinstance(store, Store)
        store.migrate()  # a no-op, present so callers need not care which store they hold
