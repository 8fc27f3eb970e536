"""The figures workers log: batch timings per agent and garbage-collector pauses."""

from __future__ import annotations

import gc

from streams.agent_stats import BatchTimings, CollectorPauses, ExecutionCounters


def test_batch_timings_report_record_age_and_apply_time_then_start_afresh() -> None:
    timings = BatchTimings("correlation")
    assert timings.line() is None
    for i in range(100):
        timings.picked(100.0, [100.0 - 0.001 * i, None])  # a record without a timestamp has no age
        timings.applied(0.002)
    line = timings.line()
    assert line is not None
    assert line.startswith("correlation agent: 200 records in 100 batches; "
                           "record age at pickup p50 50.0 ms p99 99.0 ms")
    assert line.endswith("apply p50 2.0 ms p99 2.0 ms")
    assert timings.line() is None


def test_execution_counters_average_per_batch() -> None:
    counters = ExecutionCounters()
    counters.batch(10, 30, 0.004, 0.002)
    counters.batch(20, 50, 0.006, 0.002)
    assert counters.line() == ("executions agent: 30 commands in 2 batches (15.0/batch), 80 transitions; "
                               "per batch apply 5.0 ms, publish 2.0 ms")


def test_collector_pauses_keep_only_slow_ones() -> None:
    pauses = CollectorPauses(slow=0.0)
    pauses.observe("start", {"generation": 2})
    pauses.observe("stop", {"generation": 2, "collected": 0})
    line = pauses.line()
    assert line is not None and "1 pauses" in line and "generations [2]" in line
    assert pauses.line() is None
    never = CollectorPauses(slow=60.0)
    never.observe("start", {"generation": 0})
    never.observe("stop", {"generation": 0})
    assert never.line() is None


def test_collector_pauses_work_as_a_gc_callback() -> None:
    pauses = CollectorPauses(slow=0.0)
    gc.callbacks.append(pauses.observe)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(pauses.observe)
    assert pauses.line() is not None
