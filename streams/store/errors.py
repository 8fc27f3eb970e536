"""Exceptions of the store: what a caller can act on, distinct from database failures."""

from __future__ import annotations


class StoreError(Exception):
    """The caller asked for something the store cannot do (a malformed batch, a bad value)."""


class ConflictError(StoreError):
    """Another writer changed these executions since they were loaded; nothing was written.

    The agent that gets this no longer owns (or never owned) the executions: it should reload
    them (or give up the partition) instead of retrying the same write.
    """

    def __init__(self, conflicts: dict[str, tuple[int | None, int | None]]) -> None:
        self.conflicts = conflicts  # execution id -> (expected last_offset, stored last_offset)
        shown = ", ".join(f"{eid} (expected {exp}, stored {got})" for eid, (exp, got) in list(conflicts.items())[:5])
        more = f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""
        super().__init__(f"executions changed by another writer: {shown}{more}")
