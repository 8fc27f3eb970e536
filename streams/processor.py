"""The execution agent's core: apply a batch of commands, persist, and say what to publish.

No Kafka and no faust here, so it runs under unit tests with the in-memory store. For each
command, in partition order: decode it (a bad record becomes a dead letter), load the
execution, apply the pure engine, and turn the transition into wire records. The whole batch
is then written in ONE transaction (snapshots, history, the outbox of records to publish, the
last applied offset per execution) and only after that does the agent publish. A command
redelivered after a crash (its offset is at or below the execution's last applied offset) is
not applied again: its stored outbox records are published again instead.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import engine
from engine import events as ev
from engine.model import Snapshot
from streams.publisher import Outgoing
from streams.store import BatchWrite, ExecutionWrite, HistoryRow, OutboxRow, Store
from topics import codec
from topics import messages as wire
from topics.catalogue import Catalogue
from topics.ids import public_task_token, state_machine_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboundRecord:
    """A consumed Kafka record of the commands topic."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass
class BatchOutcome:
    """What the agent must do after the batch is durable."""

    publish: list[Outgoing] = field(default_factory=list)
    outbox_keys: list[tuple[str, int]] = field(default_factory=list)
    applied: int = 0
    transitions: int = 0
    rejected: int = 0
    replayed: int = 0


@dataclass
class _Working:
    """One execution while its commands of the batch are applied."""

    snapshot: Snapshot
    state_machine: str
    version: int
    definition: engine.Definition
    partition: int
    expected_offset: int | None
    last_offset: int
    history: list[HistoryRow] = field(default_factory=list)
    outbox: list[OutboxRow] = field(default_factory=list)


@dataclass(frozen=True)
class _Cached:
    """An execution as this worker last committed it."""

    snapshot: Snapshot
    state_machine: str
    version: int
    partition: int
    last_offset: int


def dead_letter(catalogue: Catalogue, topic: str, record: InboundRecord, reason: str) -> Outgoing:
    """A record read from ``topic`` that could not be used, for the dead-letter topic (same key)."""
    letter = wire.DeadLetter.from_raw(topic, record.partition, record.offset, record.key, record.value, reason)
    return Outgoing(catalogue.dead_letters, letter.partition_key, codec.encode(letter))


class ExecutionProcessor:
    """Applies batches of commands for the partitions this worker owns."""

    def __init__(self, store: Store, catalogue: Catalogue, *, region: str = "us-east-1",
                 account: str = "111111111111", cache_size: int = 5000) -> None:
        self.store = store
        self.catalogue = catalogue
        self.region = region
        self.account = account
        self._definitions: dict[tuple[str, int], engine.Definition] = {}
        self._machines: dict[tuple[str, int | None], Any] = {}
        # Snapshots this worker committed last, so a busy execution is not re-read from Postgres
        # for every command. Dropped on every rebalance (forget_cached), since another worker may
        # have moved the executions on meanwhile; commit_batch also fences on the last applied
        # offset, refusing a stale entry whose batch writes anything.
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self.cache_size = cache_size
        self._forget = False

    def forget_cached(self) -> None:
        """A rebalance happened: drop the cached snapshots before the next batch.

        While a partition was away another worker may have moved its executions on. The store's
        offset fence catches a stale snapshot only when the batch writes something; a command
        that is a no-op against the stale state (a delivery for a wait that, in the stale state,
        does not exist yet) would be dropped silently.
        """
        self._forget = True

    def process(self, records: Sequence[InboundRecord], now: float) -> BatchOutcome:
        if self._forget:  # set from the event loop; cleared here, on the thread that uses the cache
            self._forget = False
            self._cache.clear()
        outcome = BatchOutcome()
        decoded = [(record, self._decode(record, outcome, now)) for record in records]
        commands = [(record, command) for record, command in decoded if command is not None]
        ids = {command.execution_id for _, command in commands}
        try:
            return self._process(commands, ids, outcome, now)
        except BaseException:
            for execution_id in ids:  # the cached objects may be half-applied: forget them
                self._cache.pop(execution_id, None)
            raise

    def _process(self, commands: list[tuple[InboundRecord, wire.Command]], ids: set[str], outcome: BatchOutcome,
                 now: float) -> BatchOutcome:
        stored: dict[str, Any] = {i: self._cache[i] for i in ids if i in self._cache}
        stored.update(self.store.load_executions(ids - stored.keys()))
        # One lookup per state machine per batch, not per start: "latest" is read once per batch.
        wanted = {(c.state_machine, c.version) for _, c in commands if isinstance(c, wire.StartExecution)}
        # A start may name the machine by its ARN; the store knows it by name.
        self._machines = {key: self.store.get_state_machine(state_machine_name(key[0]), key[1]) for key in wanted}
        working: dict[str, _Working] = {}
        for record, command in commands:
            self._apply(record, command, stored, working, outcome, now)
        writes = [self._write(item) for item in working.values() if item.history or item.outbox]
        replayed: tuple[str, ...] = ()
        if writes:
            result = self.store.commit_batch(BatchWrite(writes, now))
            replayed = result.replayed
            for execution_id in replayed:
                self._republish_all(working[execution_id], outcome)
        self._remember(working, replayed)
        for item in working.values():
            keys = {(row.execution_id, row.command_offset) for row in item.outbox}
            outcome.outbox_keys.extend(sorted(keys, key=lambda k: k[1]))
            outcome.publish.extend(Outgoing(row.topic, row.key, row.payload) for row in item.outbox)
        return outcome

    def _remember(self, working: dict[str, _Working], replayed: tuple[str, ...]) -> None:
        for execution_id, item in working.items():
            if execution_id in replayed or item.snapshot.finished:
                self._cache.pop(execution_id, None)
                continue
            self._cache[execution_id] = _Cached(item.snapshot, item.state_machine, item.version, item.partition,
                                                item.last_offset)
            self._cache.move_to_end(execution_id)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    # ------------------------------------------------------------------ decoding

    def _decode(self, record: InboundRecord, outcome: BatchOutcome, now: float) -> wire.Command | None:
        try:
            if record.value is None:
                raise codec.DecodeError("the record has no value")
            if b"\\u0000" in record.value:
                # Postgres cannot store NUL in jsonb; refusing here keeps the batch writable.
                raise codec.DecodeError("the record contains a NUL character (\\u0000), which cannot be stored")
            command = codec.decode(record.value)
            if wire.topic_role(command) != "commands":
                raise codec.DecodeError(f"a {type(command).__name__} record does not belong on the commands topic")
            return command  # type: ignore[return-value]
        except (codec.DecodeError, ValueError) as exc:
            self._reject(record, outcome, f"undecodable command: {exc}", "?", now)
            return None

    def _reject(self, record: InboundRecord, outcome: BatchOutcome, reason: str, command_type: str,
                now: float, command_id: str = "") -> None:
        """Bad input never stops the worker: it goes to the dead-letter topic with a rejection event."""
        log.warning("rejected command at %s:%s: %s", record.partition, record.offset, reason)
        outcome.rejected += 1
        letter = dead_letter(self.catalogue, self.catalogue.commands, record, reason)
        key_text = record.key.decode("utf-8", "replace") if record.key is not None else ""
        outcome.publish.append(letter)
        outcome.publish.append(self._outgoing(wire.ExecutionRejected(key_text, reason, command_type, command_id, now)))

    # ------------------------------------------------------------------ applying

    def _apply(self, record: InboundRecord, command: wire.Command, stored: dict[str, Any],
               working: dict[str, _Working], outcome: BatchOutcome, now: float) -> None:
        execution_id = command.execution_id
        item = working.get(execution_id) or self._resume(stored.get(execution_id), record)
        if item is not None and record.offset <= item.last_offset:
            self._republish(execution_id, record.offset, outcome)
            return
        if isinstance(command, wire.StartExecution):
            if item is not None:
                return  # starting an existing execution again is a no-op (idempotent start)
            item = self._create(command, record, outcome, now)
            if item is None:
                return
        elif item is None:
            self._reject(record, outcome, f"execution {execution_id!r} does not exist", type(command).__name__,
                         now, command.id)
            return
        working[execution_id] = item
        event = _engine_event(command)
        context = self._context(item.state_machine)
        transition = engine.apply_event(item.definition, item.snapshot, event, now, context=context,
                                        task_token=public_task_token)
        item.last_offset = record.offset
        outcome.applied += 1
        outcome.transitions += sum(1 for h in transition.history if h.type.endswith("StateEntered"))
        self._record(item, record, transition, now)

    def _resume(self, row: Any, record: InboundRecord) -> _Working | None:
        if row is None:
            return None
        definition = self._definition(row.state_machine, row.version)
        snapshot = row.snapshot if isinstance(row, _Cached) else Snapshot.from_json(row.snapshot)
        return _Working(snapshot, row.state_machine, row.version, definition, row.partition, row.last_offset,
                        row.last_offset)

    def _create(self, command: wire.StartExecution, record: InboundRecord, outcome: BatchOutcome,
                now: float) -> _Working | None:
        machine = self._machines.get((command.state_machine, command.version))
        if machine is None:
            version = f" version {command.version}" if command.version is not None else ""
            self._reject(record, outcome, f"state machine {command.state_machine!r}{version} is not deployed",
                         "StartExecution", now, command.id)
            return None
        definition = self._definition(machine.name, machine.version, machine.definition)
        snapshot = engine.new_snapshot(command.execution_id, command.execution_name,
                                       root_scope=command.root_scope or "",
                                       parent_execution=command.parent_execution_id)
        return _Working(snapshot, machine.name, machine.version, definition, record.partition, None, -1)

    def _definition(self, name: str, version: int, document: dict[str, Any] | None = None) -> engine.Definition:
        key = (name, version)
        if key not in self._definitions:
            if document is None:
                machine = self.store.get_state_machine(name, version)
                if machine is None:
                    raise LookupError(f"state machine {name!r} version {version} vanished from the store")
                document = machine.definition
            # Validated when deployed; a stored definition is trusted.
            self._definitions[key] = engine.load_definition(document, check=False)
        return self._definitions[key]

    def _context(self, state_machine: str) -> dict[str, Any]:
        arn = f"arn:aws:states:{self.region}:{self.account}:stateMachine:{state_machine}"
        return {"state_machine_id": arn, "state_machine_name": state_machine,
                "role_arn": f"arn:aws:iam::{self.account}:role/stepstream",
                "child_executions": True}  # distributed Map iterations run as their own executions

    # ------------------------------------------------------------------ output

    def _record(self, item: _Working, record: InboundRecord, transition: engine.Transition, now: float) -> None:
        execution_id = item.snapshot.execution_id
        records: list[Any] = []
        for event in transition.history:
            item.history.append(HistoryRow(execution_id, event.id, event.type, event.timestamp,
                                           dict(event.details), event.previous_id))
            records.append(wire.ExecutionEvent.from_history(execution_id, event))
        records.extend(_wire_effects(execution_id, transition.effects, now, item))
        for seq, wire_record in enumerate(records):
            out = self._outgoing(wire_record)
            item.outbox.append(OutboxRow(execution_id, record.offset, seq, record.partition, out.topic, out.key,
                                         out.value))

    def _outgoing(self, record: Any) -> Outgoing:
        # Built here from engine output, so the codec's field checks are skipped (hot path).
        return Outgoing(getattr(self.catalogue, wire.topic_role(record)), record.partition_key,
                        codec.encode(record, check=False))

    def _write(self, item: _Working) -> ExecutionWrite:
        return ExecutionWrite(item.snapshot.to_json(), item.state_machine, item.version, item.partition,
                              item.last_offset, item.expected_offset, tuple(item.history), tuple(item.outbox))

    def _republish(self, execution_id: str, offset: int, outcome: BatchOutcome) -> None:
        rows = self.store.outbox_for(execution_id, offset)
        outcome.replayed += 1
        outcome.publish.extend(Outgoing(row.topic, row.key, row.payload) for row in rows)
        if rows:
            outcome.outbox_keys.append((execution_id, offset))

    def _republish_all(self, item: _Working, outcome: BatchOutcome) -> None:
        # The store already had this batch (a replay after a crash): publish what it kept.
        for offset in sorted({row.command_offset for row in item.outbox}):
            self._republish(item.snapshot.execution_id, offset, outcome)
        item.outbox.clear()


def _engine_event(command: wire.Command) -> ev.Event:
    match command:
        case wire.StartExecution():
            return ev.Start(command.input)
        case wire.StopExecution():
            return ev.Stop(command.error, command.cause)
        # The engine was given public tokens (see task_token above), so answers match them as they are.
        case wire.SendTaskSuccess():
            return ev.TaskSucceeded(command.task_token, command.output)
        case wire.SendTaskFailure():
            return ev.TaskFailed(command.task_token, command.error, command.cause)
        case wire.SendTaskHeartbeat():
            return ev.TaskHeartbeat(command.task_token)
        case wire.TimerFired():
            return ev.TimerFired(command.timer_id)
        case wire.MessageDelivered():
            return ev.MessageDelivered(command.subscription_id, command.data, command.message_id)
        case wire.ChildExecutionFinished():
            return ev.ChildExecutionFinished(command.child_execution_id, command.status, command.output,
                                             command.error, command.cause)
    raise TypeError(f"not a command: {command!r}")


def _wire_effects(execution_id: str, effects: Sequence[ev.Effect], now: float, item: _Working) -> list[Any]:
    """The wire records of an engine transition's effects (the outcome itself is a history event)."""
    records: list[Any] = []
    for effect in effects:
        match effect:
            case ev.StartChildExecution():
                name = effect.child_id.rsplit(":", 1)[-1]
                records.append(wire.StartExecution(item.state_machine, effect.input, name, item.version,
                                                   effect.child_id, execution_id, effect.scope))
            case ev.StopChildExecution():
                records.append(wire.StopExecution(effect.child_id, "States.Aborted",
                                                  "the parent Map no longer needs it"))
            case ev.ExecutionFinished() if item.snapshot.parent_execution:
                records.append(wire.ChildExecutionFinished(item.snapshot.parent_execution, execution_id, effect.status,
                                                           effect.output, effect.error, effect.cause))
            case ev.RunTask():
                records.append(wire.TaskRequested.from_effect(execution_id, effect))
            case ev.ScheduleTimer():
                records.append(wire.ScheduleTimer(execution_id, effect.timer_id, effect.fire_at, effect.purpose))
            case ev.CancelTimer():
                records.append(wire.CancelTimer(execution_id, effect.timer_id))
            case ev.Subscribe():
                records.append(wire.Subscribe(effect.correlation_key, effect.correlation_value,
                                              effect.subscription_id, execution_id, now))
            case ev.Unsubscribe():
                records.append(wire.Unsubscribe(effect.correlation_key, effect.correlation_value,
                                                effect.subscription_id, execution_id))
    return records
