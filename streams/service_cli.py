"""The service commands of the ``stepstream`` CLI (worker, deploy, start, describe, ...).

Configuration comes from the environment (see :class:`streams.settings.Settings`), with
``--bootstrap``/``--database-url``/``--prefix`` flags on every command to override it.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streams.settings import Settings, agent_list


def add_commands(sub: Any) -> None:
    """Register the service sub-commands on the CLI's subparsers."""
    worker = _command(sub, "worker", "run a worker: execution, timer, correlation and task agents", cmd_worker)
    worker.add_argument("--handlers", action="append", default=[], help="module defining HANDLERS (repeatable)")
    worker.add_argument("--loglevel", default="info", choices=["crit", "error", "warn", "info", "debug"])
    worker.add_argument("--agents", help="comma-separated subset of executions,timers,correlation,tasks "
                                         "(default all; env STEPSTREAM_AGENTS)")
    worker.add_argument("--processes", type=int, help="spread the agents over this many processes, 1-4 "
                                                      "(default 1; env STEPSTREAM_PROCESSES)")

    _command(sub, "init", "create the topics and migrate the database (idempotent; workers do it too)", cmd_init)

    deploy = _command(sub, "deploy", "validate and store a state machine definition (new version if changed)",
                      cmd_deploy)
    deploy.add_argument("file", type=Path)
    deploy.add_argument("--name", help="state machine name (default: the file name without extensions)")

    start = _command(sub, "start", "start an execution", cmd_start)
    start.add_argument("state_machine")
    start.add_argument("--input", default="{}", help="execution input as JSON")
    start.add_argument("--name", help="execution name (starting the same name again is a no-op)")
    start.add_argument("--version", type=int, help="state machine version (default: the latest)")
    start.add_argument("--wait", action="store_true", help="wait for the execution to finish and print it")
    start.add_argument("--timeout", type=float, default=300.0, help="seconds to wait with --wait")

    wait = _command(sub, "wait", "wait for an execution to finish and print its outcome", cmd_wait)
    wait.add_argument("execution")
    wait.add_argument("--timeout", type=float, default=300.0)

    for name, help_text, handler in (("describe", "show an execution", cmd_describe),
                                     ("history", "show an execution's history", cmd_history)):
        command = _command(sub, name, help_text, handler)
        command.add_argument("execution")

    listing = _command(sub, "list", "list executions, newest first", cmd_list)
    listing.add_argument("--status", choices=["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"])
    listing.add_argument("--state-machine")
    listing.add_argument("--since", help="ISO-8601 time, e.g. 2026-11-23T10:00:00Z")
    listing.add_argument("--limit", type=int, default=50)

    stop = _command(sub, "stop", "stop (abort) an execution", cmd_stop)
    stop.add_argument("execution")
    stop.add_argument("--error")
    stop.add_argument("--cause")

    send = _command(sub, "send-message", "publish an external message for Message states", cmd_send_message)
    send.add_argument("--key", required=True, help="correlation key")
    send.add_argument("--value", required=True,
                      help="correlation value as JSON (123 is a number, '\"123\"' a string; non-JSON text is a string)")
    send.add_argument("--data", default="{}", help="message data as JSON")
    send.add_argument("--message-id", help="id for de-duplication (default: a new UUID)")
    send.add_argument("--ttl", type=float, help="seconds to keep the message if nobody waits yet")
    send.add_argument("--single", action="store_true", help="resume only the oldest waiting execution")


def _command(sub: Any, name: str, help_text: str, handler: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text)
    parser.add_argument("--bootstrap", help="Kafka bootstrap servers (env KAFKA_BOOTSTRAP)")
    parser.add_argument("--database-url", help="Postgres URL (env STEPSTREAM_DATABASE_URL)")
    parser.add_argument("--prefix", help="topic prefix (env STEPSTREAM_TOPIC_PREFIX)")
    parser.set_defaults(command=handler)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    """Settings from the environment and flags; a malformed variable ends the command with its name."""
    try:
        return Settings.from_env(kafka_bootstrap=args.bootstrap, database_url=args.database_url,
                                 topic_prefix=args.prefix)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None


def _store(settings: Settings) -> Any:
    store = settings.open_store()
    store.migrate()
    return store


def _client(settings: Settings) -> Any:
    from topics.catalogue import Catalogue
    from topics.client import StepstreamClient

    return StepstreamClient(settings.kafka_bootstrap, catalogue=Catalogue(settings.topic_prefix, settings.partitions),
                            region=settings.region, account=settings.account)


def _json_arg(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"{what} is not JSON: {exc}") from exc


def _print(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


# ---------------------------------------------------------------------- commands


def cmd_worker(args: argparse.Namespace) -> int:
    from streams.supervisor import agent_groups, run_supervisor
    from streams.worker import run_worker

    try:
        settings = _settings(args)
        agents = agent_list(args.agents, "--agents") or settings.agents
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    modules = tuple(args.handlers) or settings.handler_modules
    processes = args.processes if args.processes is not None else settings.processes
    try:
        groups = agent_groups(processes, agents)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    settings = Settings(**{**settings.__dict__, "handler_modules": modules, "agents": agents, "processes": processes})
    if len(groups) > 1:
        _log_to_stderr(args.loglevel)
        return run_supervisor(settings, groups, loglevel=args.loglevel)
    return run_worker(settings, loglevel=args.loglevel)


def _log_to_stderr(loglevel: str) -> None:
    """The supervisor's own lines, formatted like the faust workers' (its children log themselves)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"))
    logger = logging.getLogger("stepstream")
    logger.addHandler(handler)
    logger.setLevel({"crit": "CRITICAL", "warn": "WARNING"}.get(loglevel, loglevel.upper()))


def cmd_init(args: argparse.Namespace) -> int:
    from streams.worker import prepare

    settings = _settings(args)
    prepare(settings)
    print(f"topics {settings.topic_prefix}* and database schema ready")
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    from engine import InvalidDefinition, parse_definition_text, validate

    try:
        definition = parse_definition_text(args.file.read_text())
    except InvalidDefinition as exc:
        print(exc, file=sys.stderr)
        return 1
    problems = validate(definition)
    if problems:
        print(f"{args.file}: {len(problems)} problem(s); not deployed", file=sys.stderr)
        for problem in problems:
            print(f"  {problem.pointer or '/'}: {problem.message}", file=sys.stderr)
        return 1
    name = args.name or args.file.name.split(".")[0]
    store = _store(_settings(args))
    version = store.deploy(name, definition)
    print(f"deployed {name} version {version}")
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    settings = _settings(args)
    with _client(settings) as client:
        execution_id = client.start_execution(args.state_machine, _json_arg(args.input, "--input"),
                                              name=args.name, version=args.version)
        print(execution_id, flush=True)
        if not args.wait:
            return 0
        return _wait_and_print(client, execution_id, args.timeout)


def cmd_wait(args: argparse.Namespace) -> int:
    with _client(_settings(args)) as client:
        return _wait_and_print(client, args.execution, args.timeout)


def _wait_and_print(client: Any, execution_id: str, timeout: float) -> int:
    event = client.wait_for_completion(execution_id, timeout=timeout)
    _print({"executionId": execution_id, "status": _status_of(event.type), **event.details})
    return 0 if event.type == "ExecutionSucceeded" else 1


def _status_of(event_type: str) -> str:
    return {"ExecutionSucceeded": "SUCCEEDED", "ExecutionFailed": "FAILED", "ExecutionTimedOut": "TIMED_OUT",
            "ExecutionAborted": "ABORTED"}.get(event_type, event_type)


def cmd_describe(args: argparse.Namespace) -> int:
    record = _store(_settings(args)).describe(args.execution)
    if record is None:
        print(f"no execution {args.execution!r}", file=sys.stderr)
        return 1
    _print({k: v for k, v in record.__dict__.items() if k != "snapshot"})
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    rows = _store(_settings(args)).history(args.execution)
    if not rows:
        print(f"no history for {args.execution!r}", file=sys.stderr)
        return 1
    for row in rows:
        details = row.details
        label = _history_label(details)
        when = datetime.fromtimestamp(row.timestamp, tz=UTC).strftime("%H:%M:%S.%f")[:-3]
        print(f"{row.event_id:4d}  {when}  {row.type:28s} {label}")
    return 0


def _history_label(details: dict[str, Any]) -> str:
    if "correlationKey" in details:
        return f"{details['correlationKey']}={json.dumps(details.get('correlationValue'))}"
    label = details.get("name") or details.get("resource") or details.get("error") or ""
    return str(label)


def cmd_list(args: argparse.Namespace) -> int:
    from engine.timefmt import parse_timestamp

    since = parse_timestamp(args.since) if args.since else None
    if args.since and since is None:
        raise SystemExit(f"--since {args.since!r} is not an ISO-8601 time with a zone")
    rows = _store(_settings(args)).list_executions(status=args.status, state_machine=args.state_machine,
                                                   since=since, limit=args.limit)
    for row in rows:
        started = datetime.fromtimestamp(row.start_time, tz=UTC).isoformat() if row.start_time else "-"
        print(f"{row.status:10s} {started:32s} {row.state_machine}:{row.version}  {row.execution_id}")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    with _client(_settings(args)) as client:
        client.stop_execution(args.execution, error=args.error, cause=args.cause)
    print(f"stop requested for {args.execution}")
    return 0


def cmd_send_message(args: argparse.Namespace) -> int:
    try:
        value: Any = json.loads(args.value)
    except json.JSONDecodeError:
        value = args.value  # plain text is a string value
    with _client(_settings(args)) as client:
        message_id = client.send_message(args.key, value, _json_arg(args.data, "--data"),
                                         message_id=args.message_id, ttl_seconds=args.ttl,
                                         single_consumer=args.single)
    print(message_id)
    return 0


def configure_logging(level: str) -> None:
    names = {"crit": logging.CRITICAL, "error": logging.ERROR, "warn": logging.WARNING, "info": logging.INFO,
             "debug": logging.DEBUG}
    logging.basicConfig(level=names[level], format="%(asctime)s %(levelname)s %(name)s: %(message)s")
