"""Loading a state machine definition and indexing its scopes.

A definition is validated once, then wrapped in :class:`Definition`, which the interpreter
reads. A *scope* is one state machine body: the top level, a Parallel branch, or a Map's
ItemProcessor (legacy: Iterator). Scopes are named by their JSON pointer in the definition
("" for the top level, "/States/Fan/Branches/0", "/States/Each/ItemProcessor"), so a frame in
a snapshot refers to its scope by a stable, readable string.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from engine.errors import InvalidDefinition, Problem

JSONPATH = "JSONPath"
JSONATA = "JSONata"


def parse_definition_text(text: str | bytes) -> Any:
    """Parse a definition from JSON or YAML text (JSON is valid YAML, but JSON's errors are clearer)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as json_error:
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as yaml_error:
            raise InvalidDefinition(
                [Problem("", f"not valid JSON ({json_error}) nor YAML ({yaml_error})")]
            ) from yaml_error


def validate(definition: Any, *, state_machine_type: str = "STANDARD") -> list[Problem]:
    """Every problem AWS CreateStateMachine would report, each with a JSON pointer; [] when valid.

    ``state_machine_type`` is "STANDARD" or "EXPRESS": express machines cannot use the
    ``.sync`` and ``.waitForTaskToken`` integration patterns.
    """
    from engine.validation import validate_definition

    if isinstance(definition, str):
        try:
            definition = parse_definition_text(definition)
        except InvalidDefinition as exc:
            return exc.problems
    return validate_definition(definition, state_machine_type=state_machine_type)


@dataclass(frozen=True)
class Scope:
    """One state machine body: its states, start state and default query language."""

    pointer: str
    start_at: str
    states: dict[str, dict[str, Any]]
    query_language: str


@dataclass
class Definition:
    """A validated definition, indexed by scope pointer."""

    document: dict[str, Any]
    scopes: dict[str, Scope] = field(default_factory=dict)

    @property
    def root(self) -> Scope:
        return self.scopes[""]

    @property
    def timeout_seconds(self) -> int | None:
        value = self.document.get("TimeoutSeconds")
        return int(value) if value is not None else None

    def state(self, scope: str, name: str) -> dict[str, Any]:
        return self.scopes[scope].states[name]

    def query_language(self, scope: str, state: dict[str, Any]) -> str:
        return str(state.get("QueryLanguage") or self.scopes[scope].query_language)


def load_definition(source: Any, *, check: bool = True) -> Definition:
    """Build a :class:`Definition` from a dict, or JSON/YAML text.

    Raises:
        InvalidDefinition: with every problem found, when ``check`` is true and it is invalid.
    """
    document = parse_definition_text(source) if isinstance(source, str | bytes) else source
    if check:
        problems = validate(document)
        if problems:
            raise InvalidDefinition(problems)
    definition = Definition(document=document)
    top_language = document.get("QueryLanguage") or JSONPATH
    _index_scope(definition, "", document, top_language)
    return definition


def _index_scope(definition: Definition, pointer: str, body: dict[str, Any], language: str) -> None:
    states = body["States"]
    definition.scopes[pointer] = Scope(pointer, body["StartAt"], states, language)
    for name, state in states.items():
        state_pointer = f"{pointer}/States/{_escape(name)}"
        state_language = state.get("QueryLanguage") or language
        for index, branch in enumerate(state.get("Branches") or []):
            _index_scope(definition, f"{state_pointer}/Branches/{index}", branch, state_language)
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                _index_scope(definition, f"{state_pointer}/{key}", state[key], state_language)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")
