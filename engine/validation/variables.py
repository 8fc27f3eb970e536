"""Workflow variables: the names Assign may declare and the references JSONPath may make.

A name is what a programming language would accept as an identifier (Unicode letters,
digits and underscores, not starting with a digit), at most 80 characters, and never the
reserved ``states``. References are checked in JSONPath states only and conservatively: a
``$name`` is rejected only when no state of its body or of an enclosing body assigns it.
AWS itself accepts JSONata references to unassigned variables (they fail at run time with
States.QueryEvaluationError), so JSONata expressions are not checked here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from engine.errors import Problem
from engine.validation.common import MAX_VARIABLE_NAME_LENGTH, child

RESERVED_NAMES = frozenset({"states"})
_IDENTIFIER = re.compile(r"[^\W\d]\w*")
# Fields of a JSONPath state (or Choice rule) whose string value is a path read at run time.
# ResultPath writes into the state's input and TimeoutPath names a state: neither reads a variable.
_NOT_READ_PATHS = frozenset({"ResultPath", "TimeoutPath"})
# Subtrees that are literal data or other bodies, never evaluated as this state's paths.
_SKIPPED = frozenset({"Result", "Comment", "Branches", "ItemProcessor", "Iterator"})


def variable_name(key: str, language_is_jsonpath: bool) -> str:
    """The variable an Assign key declares ("name.$" declares "name" in JSONPath)."""
    return key[:-2] if language_is_jsonpath and key.endswith(".$") else key


def assign_name_problems(assign: dict[str, Any], pointer: str, *, jsonpath: bool = True) -> list[Problem]:
    """Invalid and repeated variable names among an Assign object's keys."""
    problems = []
    seen: set[str] = set()
    for key in assign:
        name = variable_name(key, jsonpath)
        where = child(pointer, key)
        message = name_problem(name)
        if message:
            problems.append(Problem(where, message))
        elif name in seen:
            problems.append(Problem(where, f"variable {name!r} is assigned twice in the same Assign"))
        seen.add(name)
    return problems


def name_problem(name: str) -> str | None:
    """Why a variable name is invalid, or None when it is valid."""
    if name.startswith("$"):
        return f"variable name {name!r} must not start with '$'"
    if name in RESERVED_NAMES:
        return f"variable name {name!r} is reserved"
    if not _IDENTIFIER.fullmatch(name):
        return f"variable name {name!r} must be letters, digits and underscores, not starting with a digit"
    if len(name) > MAX_VARIABLE_NAME_LENGTH:
        return f"variable name {name!r} is longer than {MAX_VARIABLE_NAME_LENGTH} characters"
    return None


def assigned_names(states: dict[str, Any]) -> set[str]:
    """Every variable the states of one body assign (state, catcher and Choice rule Assign)."""
    names: set[str] = set()
    for state in states.values():
        if not isinstance(state, dict):
            continue
        for assign in _assign_objects(state):
            names.update(variable_name(key, True) for key in assign)
    return names


def _assign_objects(state: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if isinstance(state.get("Assign"), dict):
        yield state["Assign"]
    for list_field in ("Catch", "Choices"):
        entries = state.get(list_field)
        if isinstance(entries, list):
            for entry in entries:
                if isinstance(entry, dict) and isinstance(entry.get("Assign"), dict):
                    yield entry["Assign"]


def reference_problems(state: dict[str, Any], pointer: str, visible: frozenset[str]) -> list[Problem]:
    """``$name`` references of a JSONPath state to variables assigned nowhere it can see."""
    problems = []
    for where, text in _read_strings(state, pointer, top=True):
        for name in references(text):
            if name not in visible:
                problems.append(Problem(where, f"variable ${name} is not assigned anywhere in its scope"))
    return problems


def _read_strings(value: Any, pointer: str, *, top: bool) -> Iterator[tuple[str, str]]:
    """(pointer, text) of every string a JSONPath state evaluates as a path or intrinsic."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _read_strings(item, child(pointer, index), top=top)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if top and key in _SKIPPED:
            continue
        where = child(pointer, key)
        if isinstance(item, str) and _is_read(key, top):
            yield where, item
        elif isinstance(item, dict | list):
            # Choice rules (and their And/Or/Not) read Variable and *Path like the state does.
            rules = key in ("Choices", "And", "Or", "Not") and top
            yield from _read_strings(item, where, top=rules)


def _is_read(key: str, top: bool) -> bool:
    if key.endswith(".$"):
        return True
    return top and (key == "Variable" or (key.endswith("Path") and key not in _NOT_READ_PATHS))


def references(text: str) -> list[str]:
    """Variable names a path or intrinsic function call reads ("$x.a" and "States.F($y)")."""
    if text.startswith("States."):
        return _intrinsic_references(text)
    match = _IDENTIFIER.match(text, 1) if text.startswith("$") else None
    return [match.group()] if match else []


def _intrinsic_references(text: str) -> list[str]:
    names = []
    index = 0
    quoted = False
    while index < len(text):
        char = text[index]
        if quoted:
            # Inside a string literal: skip escaped characters, stop at the closing quote.
            quoted = char != "'"
            index += 2 if char == "\\" else 1
            continue
        if char == "'":
            quoted = True
        elif char == "$":
            if text.startswith("$$", index):
                index += 2
                continue
            match = _IDENTIFIER.match(text, index + 1)
            if match:
                names.append(match.group())
        index += 1
    return names
