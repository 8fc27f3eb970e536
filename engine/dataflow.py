"""Input and output processing of a state, in both query languages.

JSONPath (AWS's classic data flow), a chain of pure functions:
    raw input -> InputPath -> Parameters -> [state work] -> ResultSelector -> ResultPath -> OutputPath
JSONata: the state reads ``$states.input`` through ``Arguments``, and ``Output`` (default: the
result) shapes what leaves it. In both, ``Assign`` computes new variables from the same values
``Output`` sees, and they take effect only after the state (AWS evaluates every Assign and Output
against the variables as they were on entry).
"""

from __future__ import annotations

import json
from typing import Any

from engine import jsonata
from engine.context import EvalContext
from engine.definition import JSONATA
from engine.errors import EvaluationError, StatesError, StatesFailure
from engine.jsonpath import PathNotFound, apply_result_path, read_reference
from engine.payload import render_template

#: AWS's payload limit for state input, output and task results.
MAX_PAYLOAD_BYTES = 256 * 1024


class StateData:
    """What one state evaluation reads: its language, its raw input and its evaluation context."""

    __slots__ = ("ctx", "jsonata", "raw_input", "state")

    def __init__(self, state: dict[str, Any], language: str, raw_input: Any, ctx: EvalContext) -> None:
        self.state = state
        self.jsonata = language == JSONATA
        self.raw_input = raw_input
        self.ctx = ctx

    def states_binding(self, **extra: Any) -> dict[str, Any]:
        """The ``$states`` variable of a JSONata evaluation."""
        binding = {"input": self.raw_input, "context": self.ctx.context_object}
        binding.update(extra)
        return binding

    def evaluate(self, field: str, value: Any, **extra: Any) -> Any:
        """Evaluate a field value: JSONata templates in JSONata states, literal otherwise."""
        if not self.jsonata:
            return value
        return jsonata.evaluate_template(value, self.states_binding(**extra), self.ctx, field=field)

    # ------------------------------------------------------------------ input side

    def effective_input(self, *, template_field: str = "Parameters") -> Any:
        """The input the state works on: InputPath then Parameters, or JSONata Arguments."""
        if self.jsonata:
            if "Arguments" in self.state:
                return self.evaluate("Arguments", self.state["Arguments"])
            return self.raw_input
        data = self.apply_path("InputPath", self.raw_input)
        template = self.state.get(template_field)
        if template is not None:
            data = render_template(template, data, self.ctx, field=template_field)
        return data

    def apply_path(self, field: str, data: Any) -> Any:
        """InputPath / OutputPath: absent means "$", null means {} (AWS discards the data)."""
        if field not in self.state:
            return data
        path = self.state[field]
        if path is None:
            return {}
        if path == "$":
            return data
        return self.apply_path_value(field, path, data)

    def apply_path_value(self, field: str, path: str, data: Any) -> Any:
        """Read a ``*Path`` field (TimeoutSecondsPath...) that must resolve, as OutputPath must."""
        try:
            return read_reference(path, data, self.ctx)
        except PathNotFound as exc:
            raise EvaluationError(StatesError.RUNTIME, f"Invalid path '{path}' : {exc.detail}") from exc

    # ------------------------------------------------------------------ output side

    def finish(self, result: Any, *, has_result: bool = True) -> tuple[Any, dict[str, Any]]:
        """Output of the state and the variables it assigns, from its (raw) result.

        ``has_result`` is false for states that produce no result (Wait, Choice, Succeed):
        their output is their input filtered by InputPath/OutputPath (JSONPath) or Output.
        An output over AWS's payload limit fails the state with States.DataLimitExceeded.
        """
        output, assigned = self._finish(result, has_result)
        check_result_size(output, self.ctx.state_name)
        if assigned:
            check_variable_sizes(assigned, self.ctx.variables)
        return output, assigned

    def _finish(self, result: Any, has_result: bool) -> tuple[Any, dict[str, Any]]:
        if self.jsonata:
            default = result if has_result else self.raw_input
            extra = {"result": result} if has_result else {}
            assigned = self._assign_jsonata(extra)
            output = self.evaluate("Output", self.state["Output"], **extra) if "Output" in self.state else default
            return output, assigned
        if not has_result:
            effective = self.apply_path("InputPath", self.raw_input)
            assigned = self._assign_jsonpath(effective)
            return self.apply_path("OutputPath", effective), assigned
        selector = self.state.get("ResultSelector")
        if selector is not None:
            result = render_template(selector, result, self.ctx, field="ResultSelector")
        assigned = self._assign_jsonpath(result)
        combined = self.apply_result_path(self.state.get("ResultPath", "$"), result)
        return self.apply_path("OutputPath", combined), assigned

    def apply_result_path(self, result_path: Any, result: Any) -> Any:
        return apply_result_path(result_path, self.raw_input, result)

    def _assign_jsonpath(self, source: Any) -> dict[str, Any]:
        template = self.state.get("Assign")
        if template is None:
            return {}
        return dict(render_template(template, source, self.ctx, field="Assign"))

    def _assign_jsonata(self, extra: dict[str, Any]) -> dict[str, Any]:
        template = self.state.get("Assign")
        if template is None:
            return {}
        return dict(self.evaluate("Assign", template, **extra))


def catcher_output(data: StateData, catcher: dict[str, Any], error_output: dict[str, Any]) -> tuple[Any, dict]:
    """Output and assignments of a Catch: ResultPath (JSONPath) or Output (JSONata) on the error."""
    if data.jsonata:
        binding = data.states_binding(errorOutput=error_output)
        assigned: dict[str, Any] = {}
        if "Assign" in catcher:
            assigned = dict(jsonata.evaluate_template(catcher["Assign"], binding, data.ctx, field="Assign"))
        if "Output" in catcher:
            return jsonata.evaluate_template(catcher["Output"], binding, data.ctx, field="Output"), assigned
        return error_output, assigned
    assigned = {}
    if "Assign" in catcher:
        assigned = dict(render_template(catcher["Assign"], error_output, data.ctx, field="Assign"))
    return data.apply_result_path(catcher.get("ResultPath", "$"), error_output), assigned


#: AWS's limits on workflow variables: one variable, one Assign field, and all of an execution's.
MAX_VARIABLE_BYTES = 256 * 1024
MAX_ASSIGN_BYTES = 256 * 1024
MAX_EXECUTION_VARIABLES_BYTES = 10 * 1024 * 1024


def check_variable_sizes(assigned: dict[str, Any], visible: dict[str, Any]) -> None:
    """Enforce AWS's variable size limits when a state assigns (States.Runtime, never caught)."""
    sizes = {name: payload_size(value) for name, value in assigned.items()}
    for name, size in sizes.items():
        if size > MAX_VARIABLE_BYTES:
            raise EvaluationError(StatesError.RUNTIME, f"The variable '{name}' is {size} bytes, over the "
                                                       f"{MAX_VARIABLE_BYTES}-byte limit of a variable.")
    if sum(sizes.values()) > MAX_ASSIGN_BYTES:
        raise EvaluationError(StatesError.RUNTIME, f"The Assign field's variables total {sum(sizes.values())} "
                                                   f"bytes, over the {MAX_ASSIGN_BYTES}-byte limit.")
    others = [value for name, value in visible.items() if name not in assigned]
    # Every variable passed the per-variable limit when it was assigned, so up to 39 others
    # cannot reach the execution's limit: only states with more pay for measuring them all.
    if len(others) * MAX_VARIABLE_BYTES + sum(sizes.values()) <= MAX_EXECUTION_VARIABLES_BYTES:
        return
    kept = sum(payload_size(value) for value in others)
    if kept + sum(sizes.values()) > MAX_EXECUTION_VARIABLES_BYTES:
        raise EvaluationError(StatesError.RUNTIME, f"The execution's variables would total over "
                                                   f"{MAX_EXECUTION_VARIABLES_BYTES} bytes.")


def payload_size(value: Any) -> int:
    """Size in bytes of a value as JSON, the measure AWS's 256 KiB limit applies to."""
    if isinstance(value, str):
        return len(value.encode())
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def check_result_size(value: Any, owner: str) -> None:
    """AWS fails a state whose result or output exceeds the payload limit (States.DataLimitExceeded)."""
    if isinstance(value, str):
        if len(value) * 4 > MAX_PAYLOAD_BYTES and len(value.encode()) > MAX_PAYLOAD_BYTES:
            raise_data_limit(owner)
        return
    if not isinstance(value, dict | list):
        return
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    # A character takes at most 4 bytes in UTF-8: short text needs no encoding to be safe.
    if len(text) * 4 > MAX_PAYLOAD_BYTES and len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise_data_limit(owner)


def raise_data_limit(owner: str) -> None:
    raise StatesFailure(
        StatesError.DATA_LIMIT_EXCEEDED,
        f"The state/task '{owner}' returned a result with a size exceeding "
        "the maximum number of bytes service limit.",
    )
