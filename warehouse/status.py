"""The key-result and objective statuses, worst first: the one ranking every report, query and
check sorts by (README, "Statuses"; an objective takes its worst key result's status)."""

from __future__ import annotations

STATUS_ORDER = ("off_track", "at_risk", "no_data", "stale", "on_track", "achieved")


def status_rank(status: str | None) -> int:
    """0 for the worst status; unknown statuses (and None) last."""
    return STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER)


def status_rank_sql(column: str) -> str:
    """The same ranking as a SQL expression over `column` (1 for the worst)."""
    cases = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(STATUS_ORDER, start=1))
    return f"CASE {column} {cases} ELSE {len(STATUS_ORDER) + 1} END"
