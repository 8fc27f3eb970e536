"""The `stepstream` CLI's engine commands: validate and run (in-process, no services)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.cli import main

ROOT = Path(__file__).resolve().parents[2]
ORDER = ROOT / "examples" / "order.asl.json"


def test_validate_reports_every_problem_with_pointers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "Nowhere"}, "B": {"Type": "Wait", "End": True}}}))
    assert main(["validate", str(bad), str(ORDER)]) == 1
    out = capsys.readouterr().out
    assert "/States/A/Next" in out and "/States/B" in out
    assert f"{ORDER}: valid" in out


def test_validate_accepts_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("StartAt: A\nStates:\n  A:\n    Type: Succeed\n")
    assert main(["validate", str(good)]) == 0


def test_run_prints_history_and_result(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(ORDER), "--input", json.dumps({"orderId": "o-1", "items": ["a", "b"], "total": 10}),
                 "--handlers", "examples.handlers.orders", "--virtual-time"])
    out = capsys.readouterr().out
    assert code == 0
    assert "TaskStateEntered" in out and "WaitStateEntered" in out
    result = json.loads(out[out.index("{\n"):])
    assert result["status"] == "SUCCEEDED"
    assert result["output"]["shipment"] == {"tracking": "trk-o-1", "note": "ship 2 items"}
    assert result["output"]["charge"] == {"chargeId": "ch-o-1"}


def test_run_reports_a_caught_failure(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(ORDER), "--input", json.dumps({"orderId": "o-2", "items": [], "total": 5000}),
                 "--handlers", "examples.handlers.orders", "--virtual-time", "--quiet"])
    result = json.loads(capsys.readouterr().out)
    assert code == 1
    assert result["error"] == "PaymentDeclined"


def test_run_rejects_bad_input_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(ORDER), "--input", "{not json"]) == 2


def test_worker_agent_lists_are_parsed_and_checked_alike_from_flag_and_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from streams.settings import AGENTS, Settings, agent_list

    assert agent_list(" executions, timers,,", "--agents") == ("executions", "timers")
    assert agent_list(None, "--agents") == ()
    monkeypatch.setenv("STEPSTREAM_AGENTS", "correlation,tasks")
    monkeypatch.setenv("STEPSTREAM_HANDLERS", "a.b, c.d")
    settings = Settings.from_env()
    assert (settings.agents, settings.handler_modules) == (("correlation", "tasks"), ("a.b", "c.d"))
    monkeypatch.delenv("STEPSTREAM_AGENTS")
    assert Settings.from_env().agents == AGENTS
    monkeypatch.setenv("STEPSTREAM_AGENTS", "executions,timer")
    with pytest.raises(ValueError, match="STEPSTREAM_AGENTS: unknown agent.s. timer; choose from executions"):
        Settings.from_env()


def test_worker_refuses_an_unknown_agent_before_starting() -> None:
    with pytest.raises(SystemExit, match="--agents: unknown agent.s. correlator"):
        main(["worker", "--agents", "executions,correlator"])


def test_worker_processes_group_the_agents_it_runs() -> None:
    from streams.settings import AGENTS
    from streams.supervisor import agent_groups

    assert agent_groups(1, AGENTS) == [AGENTS]
    assert agent_groups(2, AGENTS) == [("executions", "timers"), ("correlation", "tasks")]
    assert agent_groups(4, AGENTS) == [(agent,) for agent in AGENTS]
    # Only the agents asked for; a group left empty is no process.
    assert agent_groups(2, ("executions", "timers")) == [("executions", "timers")]
    assert agent_groups(3, ("tasks", "executions")) == [("executions",), ("tasks",)]


def test_worker_refuses_a_process_count_it_cannot_group_before_starting() -> None:
    with pytest.raises(SystemExit, match="--processes: 5 is not one of 1, 2, 3, 4"):
        main(["worker", "--processes", "5"])


def test_child_workers_get_the_parents_settings_by_environment_not_command_line() -> None:
    from streams.settings import Settings
    from streams.supervisor import child_environment

    settings = Settings(kafka_bootstrap="k:1", database_url="postgresql+psycopg://u:secret@db/x", topic_prefix="p.",
                        worker_name="w1", handler_modules=("a.b", "c.d"), processes=2)
    env = child_environment(("correlation", "tasks"), settings)
    assert (env["KAFKA_BOOTSTRAP"], env["STEPSTREAM_DATABASE_URL"], env["STEPSTREAM_TOPIC_PREFIX"]) == (
        "k:1", "postgresql+psycopg://u:secret@db/x", "p.")
    assert (env["STEPSTREAM_AGENTS"], env["STEPSTREAM_PROCESSES"], env["STEPSTREAM_HANDLERS"]) == (
        "correlation,tasks", "1", "a.b,c.d")
    assert env["STEPSTREAM_WORKER_NAME"] == "w1-correlation-tasks"


def test_a_malformed_number_in_the_environment_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPSTREAM_PROCESSES", "two")
    with pytest.raises(SystemExit, match="STEPSTREAM_PROCESSES: 'two' is not a whole number"):
        main(["worker"])
    monkeypatch.delenv("STEPSTREAM_PROCESSES")
    monkeypatch.setenv("STEPSTREAM_TIMER_TICK", "soon")
    with pytest.raises(SystemExit, match="STEPSTREAM_TIMER_TICK: 'soon' is not a number"):
        main(["worker"])
    with pytest.raises(SystemExit, match="STEPSTREAM_TIMER_TICK: 'soon' is not a number"):
        main(["describe", "arn:aws:states:us-east-1:111111111111:execution:order:x"])  # every service command
