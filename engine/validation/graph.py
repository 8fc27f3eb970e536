"""The transition graph of one state machine body: targets, reachability, terminal states.

A body (the top level, a Parallel branch, a Map item processor) is a closed world: every
Next, Default, Catch Next and Message TimeoutPath must name a state of the same body.
State names must also be unique across the whole definition, nested bodies included.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from engine.errors import Problem
from engine.validation.common import MAX_STATE_NAME_LENGTH, child, describe

#: Where a nested body sits inside a state: (field, is a list of bodies).
NESTED_BODIES = (("Branches", True), ("ItemProcessor", False), ("Iterator", False))


#: The fields naming a next state, per state type (others: Next, and Catch[*].Next).
_TARGET_FIELDS: dict[str | None, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Choice": (("Default",), ("Choices",)),
    "Message": (("Next", "TimeoutPath"), ("Catch",)),
    "Succeed": ((), ()),
    "Fail": ((), ()),
}


def transitions(state: dict[str, Any], pointer: str) -> Iterator[tuple[str, str, Any]]:
    """Every (field name, pointer, target) transition a state declares, valid or not."""
    kind = state.get("Type")
    fields, list_fields = _TARGET_FIELDS.get(kind if isinstance(kind, str) else None, (("Next",), ("Catch",)))
    for field in fields:
        if field in state:
            yield field, child(pointer, field), state[field]
    for list_field in list_fields:
        entries = state.get(list_field)
        if not isinstance(entries, list):
            continue
        for index, entry in enumerate(entries):
            if isinstance(entry, dict) and "Next" in entry:
                yield "Next", child(pointer, list_field, index, "Next"), entry["Next"]


def scope_graph_problems(body: dict[str, Any], pointer: str) -> list[Problem]:
    """Problems of one body's graph; the body's States must be an object (checked elsewhere)."""
    states: dict[str, Any] = body["States"]
    start = body.get("StartAt")
    problems: list[Problem] = []
    if isinstance(start, str) and start not in states:
        problems.append(Problem(child(pointer, "StartAt"), f"StartAt names no state of this scope: {start!r}"))
    edges: dict[str, list[str]] = {}
    for name, state in states.items():
        if isinstance(state, dict):
            state_pointer = child(pointer, "States", name)
            edges[name] = _targets(state, state_pointer, states, problems)
    if isinstance(start, str) and start in states:
        problems += _unreachable(start, edges, states, pointer)
    if states and not any(_is_terminal(state) for state in states.values()):
        problems.append(Problem(child(pointer, "States"), "no terminal state (End: true, Succeed or Fail)"))
    return problems


def _targets(state: dict[str, Any], pointer: str, states: dict[str, Any], problems: list[Problem]) -> list[str]:
    found = []
    for field, where, target in transitions(state, pointer):
        if not isinstance(target, str):
            problems.append(Problem(where, f"{field} must be a string naming a state, not {describe(target)}"))
        elif target not in states:
            problems.append(Problem(where, f"{field} names no state of this scope: {target!r}"))
        else:
            found.append(target)
    return found


def _unreachable(start: str, edges: dict[str, list[str]], states: dict[str, Any], pointer: str) -> list[Problem]:
    seen = {start}
    pending = [start]
    while pending:
        for target in edges.get(pending.pop(), []):
            if target not in seen:
                seen.add(target)
                pending.append(target)
    return [
        Problem(child(pointer, "States", name), f"state {name!r} is not reachable from StartAt")
        for name in states
        if name not in seen
    ]


def _is_terminal(state: Any) -> bool:
    return isinstance(state, dict) and (state.get("End") is True or state.get("Type") in ("Succeed", "Fail"))


def state_name_problems(definition: dict[str, Any]) -> list[Problem]:
    """Over-long state names, and every occurrence of a name used twice anywhere in the definition."""
    problems = []
    where: dict[str, list[str]] = defaultdict(list)
    for name, pointer, _ in all_states(definition, ""):
        where[name].append(pointer)
        if not name or len(name) > MAX_STATE_NAME_LENGTH:
            limit = MAX_STATE_NAME_LENGTH
            problems.append(Problem(pointer, f"state name must be 1 to {limit} characters long, not {len(name)}"))
    for name, places in where.items():
        if len(places) > 1:
            message = f"state name {name!r} is used {len(places)} times; names must be unique in the whole definition"
            problems += [Problem(pointer, message) for pointer in places]
    return problems


def all_states(body: Any, pointer: str) -> Iterator[tuple[str, str, Any]]:
    """(name, pointer, state) of every state of a body and of the bodies nested in it."""
    states = body.get("States") if isinstance(body, dict) else None
    if not isinstance(states, dict):
        return
    for name, state in states.items():
        state_pointer = child(pointer, "States", name)
        yield name, state_pointer, state
        if isinstance(state, dict):
            yield from _nested_states(state, state_pointer)


def _nested_states(state: dict[str, Any], pointer: str) -> Iterator[tuple[str, str, Any]]:
    for field, many in NESTED_BODIES:
        value = state.get(field)
        if many and isinstance(value, list):
            for index, branch in enumerate(value):
                yield from all_states(branch, child(pointer, field, index))
        elif not many:
            yield from all_states(value, child(pointer, field))
