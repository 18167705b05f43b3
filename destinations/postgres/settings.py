"""Constants of the PostgreSQL destination: where the connection comes from, and what is
published how."""

from __future__ import annotations

from dataclasses import dataclass

# A libpq URL (postgresql://user:password@host:port/database?sslmode=require). From the
# environment only: never in YAML, logs, errors, the event log or the warehouse.
URL_ENV = "OKR_PUBLISH_POSTGRES_URL"
# Shown in pg_stat_activity, so a DBA sees who is writing.
APPLICATION_NAME = "okr-sync-publish"
# Taken for a publish transaction and for migrations, so two publishers of the same schemas
# queue instead of interleaving (pg_advisory_xact_lock, keyed by the schema prefix).
LOCK_NAMESPACE = "okr-sync publish"


@dataclass(frozen=True)
class PublicTable:
    """A public table as stored in both databases.

    day_column: the day it is replaced by (one transaction per publish), None for the
    definition tables, small and replaced whole.
    """

    name: str  # schema.table, as in DuckDB
    day_column: str | None
    primary_key: tuple[str, ...]

    @property
    def schema(self) -> str:
        return self.name.split(".")[0]

    @property
    def table(self) -> str:
        return self.name.split(".")[1]


STORED_TABLES = (
    PublicTable("okr.kr_progress_daily", "as_of_date", ("as_of_date", "kr_id")),
    PublicTable("okr.objective_progress_daily", "as_of_date", ("as_of_date", "objective_id")),
    PublicTable("staging.metric_daily", "date", ("metric_id", "date")),
    PublicTable("okr.teams", None, ("team_id",)),
    PublicTable("okr.objectives", None, ("objective_id",)),
    PublicTable("okr.metrics", None, ("metric_id",)),
    PublicTable("okr.key_results", None, ("kr_id",)),
    PublicTable("okr.kr_lineage", None, ("kr_id", "role", "source_metric_id")),
)
# Views in both databases (destinations/postgres/migrations/): nothing to copy.
VIEWS = ("okr.kr_progress_latest", "okr.kr_final_grades")
# The views have no Dagster asset whose description they could take: these are README's.
VIEW_DESCRIPTIONS = {
    "okr.kr_progress_latest": "One row per key result: its newest row of okr.kr_progress_daily.",
    "okr.kr_final_grades": "One row per (kr_id, period) once the period has ended: the final "
    "score, the bar it had to reach (1.0 committed, 0.7 aspirational), met, committed_miss.",
}
