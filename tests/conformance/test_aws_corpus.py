"""The AWS-recorded conformance corpus (../shared/conformance), enforced with a floor per category.

Two runs:
* ``run_corpus.py`` exactly as shipped (the figure quoted in issue notes). It calls
  ``run_local``/``validate`` without the state machine type, so the two EXPRESS-only cases
  cannot pass through it (see KNOWN_FAILURES.md).
* an in-process run of the same cases that also passes ``state_machine_type``, as the
  service does; every JSONPath-era category must reach the floor there.
The modern-ASL categories (JSONata, its functions, variables, distributed Map) have their own
floor (issue 5: at least 95%).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import engine

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("STEPSTREAM_CONFORMANCE", ROOT.parent / "shared" / "conformance"))

#: Minimum pass rate per category: 97% for the JSONPath-era categories (issue 2), 95% for the
#: modern-ASL ones (issue 5).
FLOOR = 0.97
MODERN = {"jsonata", "jsonata_functions", "variables", "map_distributed"}
MODERN_FLOOR = 0.95

pytestmark = pytest.mark.skipif(not (CORPUS / "run_corpus.py").exists(), reason=f"no corpus at {CORPUS}")


def _runner_module() -> Any:
    sys.path.insert(0, str(CORPUS))
    import run_corpus

    return run_corpus


def _run_typed(run_corpus: Any, case: dict[str, Any]) -> dict[str, Any]:
    machine_type = case.get("state_machine_type", "STANDARD")
    expected = case["expected"]["status"]
    if expected in ("DEFINITION_REJECTED", "DEFINITION_VALID"):
        problems = engine.validate(case["definition"], state_machine_type=machine_type)
        return {"status": "DEFINITION_VALID" if not problems else "DEFINITION_REJECTED"}
    outcome = engine.run_local(case["definition"], case["input"], state_machine_type=machine_type,
                               handlers=run_corpus.make_handlers(engine, case.get("tasks")))
    actual = {"status": outcome.status, "error": outcome.error, "cause": outcome.cause}
    if outcome.status == "SUCCEEDED":
        actual["output"] = outcome.output
    return actual


def test_corpus_with_state_machine_types_meets_the_floor() -> None:
    run_corpus = _runner_module()
    from conformance_check import compare, load_cases

    passed: Counter[str] = Counter()
    failed: dict[str, list[str]] = {}
    for case in load_cases(str(CORPUS)):
        if any(t["kind"] in run_corpus.SKIP_TASK_KINDS for t in (case.get("tasks") or {}).values()):
            continue
        problems = compare(case, _run_typed(run_corpus, case))
        if problems:
            failed.setdefault(case["category"], []).append(f"{case['name']}: {problems[0]}")
        else:
            passed[case["category"]] += 1
    below = {}
    for category in set(passed) | set(failed):
        ran = passed[category] + len(failed.get(category, []))
        if passed[category] / ran < (MODERN_FLOOR if category in MODERN else FLOOR):
            below[category] = failed[category]
    assert not below, json.dumps(below, indent=1)


def test_run_corpus_as_shipped() -> None:
    proc = subprocess.run([sys.executable, str(CORPUS / "run_corpus.py"), "--min-pass", str(FLOOR)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    print(proc.stdout[-2500:])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "conformance:" in proc.stdout
