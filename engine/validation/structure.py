"""Which fields each object of a definition may, must, and may not hold together.

The tables are the specification: a state's allowed fields are the ones its type allows in
both query languages plus the ones of its own query language. A JSONPath-only field in a
JSONata state (or the reverse) gets a message saying so rather than a bare "unknown field".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.errors import Problem
from engine.validation.common import JSONATA, JSONPATH, QUERY_LANGUAGES, Scope, child, describe


@dataclass(frozen=True)
class StateFields:
    """The fields of one state type: in both languages, JSONPath only, JSONata only."""

    both: frozenset[str]
    jsonpath: frozenset[str]
    jsonata: frozenset[str]

    def allowed(self, language: str) -> frozenset[str]:
        return self.both | (self.jsonata if language == JSONATA else self.jsonpath)


def _fields(both: str, jsonpath: str = "", jsonata: str = "") -> StateFields:
    common = {"Type", "Comment", "QueryLanguage"}
    return StateFields(frozenset(common | set(both.split())), frozenset(jsonpath.split()), frozenset(jsonata.split()))


_IO = "InputPath OutputPath"
_FLOW = "Next End Assign"

STATE_FIELDS: dict[str, StateFields] = {
    "Pass": _fields(_FLOW, f"{_IO} Parameters ResultPath Result", "Output"),
    "Task": _fields(
        f"{_FLOW} Resource Credentials TimeoutSeconds HeartbeatSeconds Retry Catch",
        f"{_IO} Parameters ResultSelector ResultPath TimeoutSecondsPath HeartbeatSecondsPath",
        "Arguments Output",
    ),
    "Choice": _fields("Choices Default Assign", _IO, "Output"),
    "Wait": _fields(f"{_FLOW} Seconds Timestamp", f"{_IO} SecondsPath TimestampPath", "Output"),
    "Succeed": _fields("", _IO, "Output"),
    "Fail": _fields("Error Cause", "ErrorPath CausePath"),
    "Parallel": _fields(
        f"{_FLOW} Branches Retry Catch", f"{_IO} Parameters ResultSelector ResultPath", "Arguments Output"
    ),
    "Map": _fields(
        f"{_FLOW} ItemProcessor Iterator ItemSelector ItemReader ItemBatcher ResultWriter MaxConcurrency"
        " ToleratedFailureCount ToleratedFailurePercentage Label Retry Catch",
        f"{_IO} ItemsPath Parameters ResultSelector ResultPath MaxConcurrencyPath"
        " ToleratedFailureCountPath ToleratedFailurePercentagePath",
        "Items Output",
    ),
    # stepstream's extension: wait for an external message whose CorrelationKey matches.
    "Message": _fields(
        f"{_FLOW} CorrelationKey TimeoutSeconds TimeoutPath Retry Catch",
        f"{_IO} ResultPath CorrelationValuePath TimeoutSecondsPath",
        "CorrelationValue Output",
    ),
}

STATE_TYPES = tuple(STATE_FIELDS)

#: Fields a state of the type must have.
REQUIRED: dict[str, tuple[str, ...]] = {
    "Task": ("Resource",),
    "Choice": ("Choices",),
    "Parallel": ("Branches",),
    "Message": ("CorrelationKey",),
}

#: Groups of which a state must hold exactly one field (the Path form lives in JSONPath only).
EXACTLY_ONE: dict[str, tuple[tuple[str, ...], ...]] = {
    "Wait": (("Seconds", "SecondsPath", "Timestamp", "TimestampPath"),),
    "Map": (("ItemProcessor", "Iterator"),),
    "Message": (("CorrelationValuePath", "CorrelationValue"),),
}

#: Pairs of fields a state may not hold together.
EXCLUSIVE: dict[str, tuple[tuple[str, str], ...]] = {
    "Task": (("TimeoutSeconds", "TimeoutSecondsPath"), ("HeartbeatSeconds", "HeartbeatSecondsPath")),
    "Fail": (("Error", "ErrorPath"), ("Cause", "CausePath")),
    "Map": (
        ("ItemSelector", "Parameters"),
        ("MaxConcurrency", "MaxConcurrencyPath"),
        ("ToleratedFailureCount", "ToleratedFailureCountPath"),
        ("ToleratedFailurePercentage", "ToleratedFailurePercentagePath"),
    ),
    "Message": (("TimeoutSeconds", "TimeoutSecondsPath"),),
}

#: States that move on with Next or End; the others end or branch by their own fields.
TRANSITIONING = frozenset({"Pass", "Task", "Wait", "Parallel", "Map", "Message"})

TOP_LEVEL_FIELDS = frozenset({"StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"})
BRANCH_FIELDS = frozenset({"StartAt", "States", "Comment"})
PROCESSOR_FIELDS = frozenset({"StartAt", "States", "Comment", "ProcessorConfig"})


def body_field_problems(body: dict[str, Any], pointer: str, allowed: frozenset[str]) -> list[Problem]:
    """Required StartAt/States and no unknown field, in a machine, branch or item processor."""
    problems = [Problem(pointer, f"{name} is required") for name in ("StartAt", "States") if name not in body]
    for key in body:
        if key not in allowed:
            problems.append(Problem(child(pointer, key), f"{key} is not a valid field here"))
    return problems


def state_language(state: dict[str, Any], scope: Scope) -> str:
    """The query language a state uses: its own QueryLanguage when valid, else its scope's."""
    own = state.get("QueryLanguage")
    if own not in QUERY_LANGUAGES or (own == JSONPATH and scope.top_language == JSONATA):
        # An invalid or forbidden QueryLanguage is reported once; judge the rest as inherited.
        return scope.language
    return str(own)


def language_problems(state: dict[str, Any], pointer: str, scope: Scope) -> list[Problem]:
    if "QueryLanguage" not in state:
        return []
    own = state["QueryLanguage"]
    where = child(pointer, "QueryLanguage")
    if own not in QUERY_LANGUAGES:
        return [Problem(where, f"QueryLanguage must be 'JSONPath' or 'JSONata', not {own!r}")]
    if own == JSONPATH and scope.top_language == JSONATA:
        return [Problem(where, "QueryLanguage cannot be 'JSONPath' when the state machine uses 'JSONata'")]
    return []


def state_field_problems(state: dict[str, Any], pointer: str, kind: str, language: str) -> list[Problem]:
    """Unknown, misplaced, missing and conflicting fields of a state of a known type."""
    spec = STATE_FIELDS[kind]
    allowed = spec.allowed(language)
    problems = [_unknown(key, pointer, kind, language, spec) for key in state if key not in allowed]
    problems += [Problem(pointer, f"{kind} state requires {key}") for key in REQUIRED.get(kind, ()) if key not in state]
    for group in EXACTLY_ONE.get(kind, ()):
        usable = [key for key in group if key in allowed]
        # A field of the other query language is reported as such, not counted here.
        present = [key for key in group if key in state and key in allowed]
        if not present:
            problems.append(Problem(pointer, f"{kind} state requires one of {', '.join(usable)}"))
        elif len(present) > 1:
            problems.append(Problem(pointer, f"{kind} state may have only one of {', '.join(present)}"))
    for first, second in EXCLUSIVE.get(kind, ()):
        if first in state and second in state:
            problems.append(Problem(child(pointer, second), f"{second} cannot be used together with {first}"))
    return problems + _transition_problems(state, pointer, kind)


def _unknown(key: str, pointer: str, kind: str, language: str, spec: StateFields) -> Problem:
    where = child(pointer, key)
    if key in ("Next", "End"):
        return Problem(where, f"{kind} state cannot have {key}")
    other = spec.jsonpath if language == JSONATA else spec.jsonata
    if key in other:
        owner = JSONPATH if language == JSONATA else JSONATA
        return Problem(where, f"{key} is a {owner} field and cannot be used in a {language} state")
    return Problem(where, f"{key} is not a valid field of a {kind} state")


def _transition_problems(state: dict[str, Any], pointer: str, kind: str) -> list[Problem]:
    if kind not in TRANSITIONING:
        return []
    has_next = "Next" in state
    end = state.get("End")
    problems = []
    if "End" in state and not isinstance(end, bool):
        problems.append(Problem(child(pointer, "End"), f"End must be a boolean, not {describe(end)}"))
    if has_next and end is True:
        problems.append(Problem(child(pointer, "End"), "a state cannot have both Next and End"))
    elif not has_next and end is not True:
        problems.append(Problem(pointer, f"{kind} state requires Next or End: true"))
    return problems
