"""Map's ItemBatcher: several items per iteration (child execution), as AWS's distributed Map does.

Each iteration receives ``{"Items": [...]}`` (items after ItemSelector), plus ``"BatchInput"`` when
the batcher has one. A batch closes at ``MaxItemsPerBatch`` items or before its items' JSON would
exceed ``MaxInputBytesPerBatch`` bytes (the ``*Path`` forms read the limits from the state input).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.dataflow import MAX_PAYLOAD_BYTES, payload_size
from engine.errors import EvaluationError, StatesError
from engine.payload import render_template

if TYPE_CHECKING:
    from engine.dataflow import StateData


def batch_inputs(data: StateData, effective: Any, inputs: list[Any]) -> list[Any]:
    """The iteration inputs for ``inputs`` (one per item) grouped as the ItemBatcher says."""
    batcher = data.state["ItemBatcher"]
    max_items = _limit(data, batcher, effective, "MaxItemsPerBatch")
    max_bytes = _limit(data, batcher, effective, "MaxInputBytesPerBatch") or MAX_PAYLOAD_BYTES
    extra = _batch_input(data, batcher, effective)
    batches: list[list[Any]] = []
    size = 0
    for item in inputs:
        item_size = payload_size(item) + 1  # + the comma between items
        full = batches and ((max_items and len(batches[-1]) >= max_items) or size + item_size > max_bytes)
        if not batches or full:
            batches.append([])
            size = 2  # the brackets
        batches[-1].append(item)
        size += item_size
    return [{"Items": batch, **extra} for batch in batches]


def _limit(data: StateData, batcher: dict[str, Any], effective: Any, field: str) -> int | None:
    if field in batcher:
        value = data.evaluate(field, batcher[field])
    elif f"{field}Path" in batcher:
        value = data.apply_path_value(f"{field}Path", batcher[f"{field}Path"], effective)
    else:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise EvaluationError(StatesError.RUNTIME, f"The ItemBatcher's {field} must be a positive integer, "
                                                   f"but was: {value!r}")
    return value


def _batch_input(data: StateData, batcher: dict[str, Any], effective: Any) -> dict[str, Any]:
    if "BatchInput" not in batcher:
        return {}
    template = batcher["BatchInput"]
    if data.jsonata:
        value = data.evaluate("BatchInput", template)
    else:
        value = render_template(template, effective, data.ctx, field="BatchInput")
    return {"BatchInput": value}
