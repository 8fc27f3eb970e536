"""The ``stepstream`` command line.

    stepstream validate FILE...                      list problems; exit 1 when any file is invalid
    stepstream run FILE --input JSON [--handlers M]  run in-process, print history and result

and the service commands (worker, deploy, start, describe, history, list, stop, send-message) in
``streams/service_cli.py``. Imports stay lazy so ``stepstream validate`` starts fast and needs no
broker libraries.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    result: int = args.command(args)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stepstream", description="Amazon States Language on Kafka")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    validate = sub.add_parser("validate", help="check definitions the way AWS CreateStateMachine does")
    validate.add_argument("files", nargs="+", type=Path)
    validate.set_defaults(command=cmd_validate)

    run = sub.add_parser("run", help="run a definition in this process")
    run.add_argument("file", type=Path)
    run.add_argument("--input", default="{}", help="execution input as JSON (default {})")
    run.add_argument("--handlers", action="append", default=[],
                     help="module defining HANDLERS = {resource: callable} (repeatable)")
    run.add_argument("--virtual-time", action="store_true", help="jump over waits instead of sleeping")
    run.add_argument("--quiet", action="store_true", help="print only the result")
    run.set_defaults(command=cmd_run)

    from streams.service_cli import add_commands

    add_commands(sub)
    return parser


def cmd_validate(args: argparse.Namespace) -> int:
    from engine import parse_definition_text, validate
    from engine.errors import InvalidDefinition

    invalid = 0
    for path in args.files:
        try:
            problems = validate(parse_definition_text(path.read_text()))
        except InvalidDefinition as exc:
            problems = exc.problems
        except OSError as exc:
            print(f"{path}: cannot read: {exc}")
            invalid += 1
            continue
        if problems:
            invalid += 1
            print(f"{path}: {len(problems)} problem(s)")
            for problem in problems:
                print(f"  {problem.pointer or '/'}: {problem.message}")
        else:
            print(f"{path}: valid")
    return 1 if invalid else 0


def cmd_run(args: argparse.Namespace) -> int:
    from engine import InvalidDefinition, UnknownResource, parse_definition_text, run_local

    try:
        execution_input = json.loads(args.input)
    except json.JSONDecodeError as exc:
        print(f"--input is not JSON: {exc}", file=sys.stderr)
        return 2
    try:
        definition = parse_definition_text(args.file.read_text())
        handlers = load_handlers(args.handlers)
        outcome = run_local(definition, execution_input, handlers=handlers, virtual_time=args.virtual_time,
                            execution_name=args.file.stem, state_machine_name=args.file.stem)
    except (InvalidDefinition, UnknownResource) as exc:
        print(exc, file=sys.stderr)
        return 2
    if not args.quiet:
        for event in outcome.history:
            print(_history_line(event))
    result: dict[str, Any] = {"status": outcome.status}
    if outcome.status == "SUCCEEDED":
        result["output"] = outcome.output
    else:
        result.update(error=outcome.error, cause=outcome.cause)
    print(json.dumps(result, indent=2))
    return 0 if outcome.status == "SUCCEEDED" else 1


def load_handlers(modules: Sequence[str]) -> dict[str, Any]:
    """Handlers from modules that define ``HANDLERS`` (a dict of resource name -> callable)."""
    handlers: dict[str, Any] = {}
    sys.path.insert(0, str(Path.cwd()))
    for name in modules:
        module = importlib.import_module(name)
        table = getattr(module, "HANDLERS", None)
        if not isinstance(table, dict):
            raise SystemExit(f"{name}: defines no HANDLERS dict")
        handlers.update(table)
    return handlers


def _history_line(event: Any) -> str:
    details = event.details
    label = details.get("name") or details.get("resource") or details.get("error") or ""
    data = details.get("output", details.get("input"))
    tail = f" {json.dumps(data)[:120]}" if data is not None else ""
    return f"{event.id:4d}  {event.type:28s} {label}{tail}"


if __name__ == "__main__":
    sys.exit(main())
