"""The published JSON Schemas (draft 2020-12) of the wire records, and their generator.

``topics/schemas/<TypeName>.schema.json`` are generated from the record dataclasses and the field
glossary (``topics.fields``), the same source the codec checks against, and committed so that a
service in any language can validate what it produces. Regenerate after changing a record type::

    python -m topics.schemagen          # rewrite topics/schemas/
    python -m topics.schemagen --check  # exit 1 if a file is stale (tests run this check)
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from topics.fields import WireField, wire_fields, wire_name
from topics.messages import RECORD_TYPES

__all__ = ["SCHEMA_DIR", "generate_schema", "load_schema", "main", "schema_text"]

SCHEMA_DIR = Path(__file__).with_name("schemas")
DRAFT = "https://json-schema.org/draft/2020-12/schema"
_ID_BASE = "urn:stepstream:wire:v1:"
_JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
               "object": "object"}


def generate_schema(type_name: str) -> dict[str, Any]:
    """The JSON Schema of record type ``type_name`` (e.g. ``"StartExecution"``)."""
    cls = RECORD_TYPES[type_name]
    fields = wire_fields(cls)
    properties: dict[str, Any] = {
        "type": {"const": type_name, "description": "Record type."},
        "v": {"const": 1, "description": "Format version."},
        "id": {"type": "string", "description": "De-duplication id, derived from the fields. Written by "
                                                "stepstream's encoder; optional and ignored on input."},
    }
    properties.update({field.wire: _property(field) for field in fields})
    return {
        "$schema": DRAFT,
        "$id": f"{_ID_BASE}{type_name}",
        "title": type_name,
        "description": _description(cls.__doc__ or ""),
        "type": "object",
        "required": ["type", "v", *(field.wire for field in fields if field.required)],
        "properties": properties,
        # Newer producers may add fields; readers ignore what they do not know.
        "additionalProperties": True,
    }


def _description(doc: str) -> str:
    """The docstring as one line, Python field names (``fire_at``) turned into wire names (fireAt)."""
    text = re.sub(r"``([a-z_]+)``", lambda m: wire_name(m.group(1)), " ".join(doc.split()))
    return text.replace("``", "")


def _property(field: WireField) -> dict[str, Any]:
    prop: dict[str, Any] = {"description": field.description}
    if field.kind != "any":  # "any": any JSON value, including null
        prop["type"] = [_JSON_TYPES[field.kind], "null"] if field.nullable else _JSON_TYPES[field.kind]
    prop.update(field.constraints)
    return prop


def schema_text(type_name: str) -> str:
    """The file content of the schema of ``type_name`` (stable formatting, trailing newline)."""
    return json.dumps(generate_schema(type_name), indent=2, ensure_ascii=False) + "\n"


def load_schema(type_name: str) -> dict[str, Any]:
    """The published schema of ``type_name``, read from ``topics/schemas/``."""
    if type_name not in RECORD_TYPES:
        raise KeyError(f"no record type {type_name!r}")
    result: dict[str, Any] = json.loads((SCHEMA_DIR / f"{type_name}.schema.json").read_text(encoding="utf-8"))
    return result


def stale_files(directory: Path = SCHEMA_DIR) -> list[str]:
    """The schema files in ``directory`` that differ from what the generator writes, or are missing/extra."""
    expected = {f"{name}.schema.json": schema_text(name) for name in RECORD_TYPES}
    present = {p.name for p in directory.glob("*.schema.json")} if directory.is_dir() else set()
    stale = [name for name, text in expected.items()
             if name not in present or (directory / name).read_text(encoding="utf-8") != text]
    return sorted(stale + sorted(present - expected.keys()))


def write_schemas(directory: Path = SCHEMA_DIR) -> list[str]:
    """Write every schema file into ``directory``; return the names written."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in RECORD_TYPES:
        (directory / f"{name}.schema.json").write_text(schema_text(name), encoding="utf-8")
    return [f"{name}.schema.json" for name in RECORD_TYPES]


def main(argv: list[str] | None = None) -> int:
    """Command line: regenerate the schemas, or check that they are up to date."""
    parser = argparse.ArgumentParser(prog="python -m topics.schemagen", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale files (exit status 1)")
    parser.add_argument("--dir", type=Path, default=SCHEMA_DIR, help="schema directory (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.dir)
        for name in stale:
            print(f"stale: {args.dir / name}")
        return 1 if stale else 0
    for name in write_schemas(args.dir):
        print(f"wrote {args.dir / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
