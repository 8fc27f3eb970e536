"""Map ItemBatcher: groups of items per iteration."""

from __future__ import annotations

from typing import Any

import engine


def batched(batcher: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "ItemBatcher": batcher,
        "ItemSelector": {"v.$": "$$.Map.Item.Value"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"},
                          "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "End": True}}}


def test_items_per_batch_and_batch_input() -> None:
    definition = batched({"MaxItemsPerBatch": 2, "BatchInput": {"job.$": "$.job"}})
    outcome = engine.run_local(definition, {"items": [1, 2, 3], "job": "j-1"})
    assert outcome.output == [
        {"Items": [{"v": 1}, {"v": 2}], "BatchInput": {"job": "j-1"}},
        {"Items": [{"v": 3}], "BatchInput": {"job": "j-1"}},
    ]


def test_bytes_per_batch_and_path_forms() -> None:
    definition = batched({"MaxItemsPerBatchPath": "$.most", "MaxInputBytesPerBatch": 30})
    outcome = engine.run_local(definition, {"items": list(range(6)), "most": 5})
    batches = [len(b["Items"]) for b in outcome.output]
    assert sum(batches) == 6 and max(batches) <= 5
    assert all(len(str(b["Items"]).replace(" ", "").replace("'", '"')) <= 30 for b in outcome.output)


def test_a_bad_limit_fails_the_state() -> None:
    outcome = engine.run_local(batched({"MaxItemsPerBatchPath": "$.most"}), {"items": [1], "most": "x"})
    assert (outcome.status, outcome.error) == ("FAILED", "States.Runtime")
