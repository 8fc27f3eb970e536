"""Pin the engine's public surface: changing it is a deliberate act."""

import engine


def test_public_names() -> None:
    assert sorted(engine.__all__) == sorted([
        "Definition", "EvaluationError", "InvalidDefinition", "Outcome", "Problem", "Snapshot",
        "SnapshotError", "StatesError", "StatesFailure", "StepstreamError", "TaskFailed", "Transition",
        "UnknownResource", "apply_event", "events", "load_definition", "new_snapshot",
        "parse_definition_text", "run_local", "step", "validate",
    ])
    for name in engine.__all__:
        assert getattr(engine, name) is not None
