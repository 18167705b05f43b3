"""What the columns of the public tables mean, in one place: the Dagster assets' column
schemas (definition and materialisation), the PostgreSQL destination's column comments and the
README's table reference ("Every column", regenerated with `python -m warehouse.columns`) all
read it."""

from __future__ import annotations

import re
import sys
from pathlib import Path

_PROGRESS = {
    "as_of_date": "The day this row describes (the organisation's time zone).",
    "kr_id": "The key result's id, from the YAML.",
    "objective_id": "The objective the key result belongs to.",
    "team": "The team that owns the objective.",
    "metric_id": "The metric the key result measures.",
    "measure": "How the value is built: total, latest, average or rolling_<N>d.",
    "period_start": "First day of the key result's period.",
    "period_end": "Last day of the key result's period.",
    "value": "The measured value through data_through.",
    "baseline": "The value progress starts from (declared, or measured and frozen).",
    "target": "The value to reach (absolute, or computed from a relative target).",
    "direction": "increase, decrease, at_least or at_most.",
    "progress": "(value − baseline) / (target − baseline), unclamped; levels: 1 when held.",
    "score": "progress clamped to [0, 1].",
    "expected_progress": "Where the key result should be by now (days elapsed / period days).",
    "status": "achieved, on_track, at_risk, off_track, stale or no_data.",
    "status_reason": "Why the status is what it is, in words.",
    "data_through": "The newest day with data behind the value.",
    "commitment": "committed (aims at 1.0) or aspirational (aims at 0.7).",
    "weight": "Weight in the objective's score.",
    "unit": "Unit of the value, as declared.",
    "flags": "Trust flags of the source data (sampled, thresholded, restated, …).",
    "definition_hash": "Hash of the key result's definition the row was computed with.",
}

COLUMN_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "raw.metric_rows": {
        "source": "The source that delivered the row (its name in the registry).",
        "metric_id": "The source metric it is a value of.",
        "date": "The day measured (the source's time zone).",
        "value": "The value as the source sent it (invalid values kept as sent).",
        "numerator": "A ratio part's numerator, as sent.",
        "denominator": "A ratio part's denominator, as sent.",
        "request_hash": "Ties the row to the request that delivered it (raw.<source>_* tables).",
        "fetched_at": "When the row was fetched.",
        "partition_date": "The Dagster partition (day) whose run fetched it.",
        "currency": "The currency of an amount of money, as the source reports it.",
    },
    "okr.kr_progress_daily": _PROGRESS,
    "okr.kr_progress_latest": _PROGRESS,
    "okr.objective_progress_daily": {
        "as_of_date": "The day this row describes.",
        "objective_id": "The objective's id, from the YAML.",
        "team": "The team that owns the objective.",
        "period_start": "First day of the objective's period.",
        "period_end": "Last day of the objective's period.",
        "score": "Weighted mean of its key results' scores.",
        "expected_progress": "Where the objective should be by now.",
        "status": "The worst status of its key results (its weakest key result's status).",
        "kr_count": "Number of key results.",
        "krs_off_track": "Key results off track.",
        "krs_at_risk": "Key results at risk.",
        "pace_status": "The objective's own pace: its score against expected_progress with "
        "the key results' margins (achieved, on_track, at_risk or off_track).",
        "weakest_kr_id": "Its weakest key result: the worst status, then the furthest behind "
        "its pace.",
    },
    "okr.teams": {
        "team_id": "The team's id.",
        "name": "The team's name.",
        "owner": "The owner's e-mail.",
    },
    "okr.objectives": {
        "objective_id": "The objective's id.",
        "team": "The owning team.",
        "title": "The objective as written.",
        "description": "Its description.",
        "period_start": "First day of its period.",
        "period_end": "Last day of its period.",
        "source_file": "The YAML file it is declared in.",
    },
    "okr.metrics": {
        "metric_id": "The metric's id.",
        "kind": "source or ratio.",
        "source": "The source that delivers it (empty for a ratio).",
        "query_json": "The source query as declared (no secrets).",
        "numerator_metric_id": "A ratio's numerator metric.",
        "denominator_metric_id": "A ratio's denominator metric.",
        "additive": "Whether daily values may be summed across days.",
        "allowed_lag_days": "Days the data may lag before key results turn stale.",
        "unit": "Unit, as declared.",
        "description": "Its description.",
        "definition_hash": "Hash of the metric's definition.",
    },
    "okr.key_results": {
        "kr_id": "The key result's id.",
        "objective_id": "Its objective.",
        "team": "The owning team.",
        "title": "The key result as written.",
        "metric_id": "The metric it measures.",
        "measure": "total, latest, average or rolling_<N>d.",
        "window_days": "N of rolling_<N>d.",
        "period_start": "First day of its period.",
        "period_end": "Last day of its period.",
        "baseline_kind": "number, measured, zero or none.",
        "baseline_value": "The declared baseline.",
        "target_kind": "absolute or relative.",
        "target_value": "The absolute target, or the relative change (0.4 = +40 %).",
        "direction": "Declared direction (empty: inferred from baseline and target).",
        "commitment": "committed or aspirational.",
        "weight": "Weight in the objective's score.",
        "unit": "Unit, as declared.",
        "definition_hash": "Hash of the key result's definition.",
        "source_file": "The YAML file it is declared in.",
        "currency": "The currency its unit names (ISO 4217), empty when it is no amount of money.",
        "previous_start": "First day of the previous period a relative target is measured over.",
        "previous_end": "Last day of that previous period.",
    },
    "okr.kr_lineage": {
        "kr_id": "The key result.",
        "objective_id": "Its objective.",
        "team": "The owning team.",
        "metric_id": "The metric the key result names.",
        "role": "value, numerator or denominator.",
        "source_metric_id": "The metric a source delivers.",
        "source": "The source that delivers it.",
        "source_asset": "The Dagster asset that fetches it, raw/<source>.",
        "query_json": "The exact source query (no secrets).",
    },
    "staging.metric_daily": {
        "metric_id": "The metric.",
        "date": "The day measured (the source's time zone).",
        "value": "The day's value (empty when not measured).",
        "numerator": "A ratio part's numerator.",
        "denominator": "A ratio part's denominator.",
        "source": "The source that delivered it.",
        "request_hash": "Ties the value to the request that delivered it (raw.*).",
        "fetched_at": "When the row was fetched.",
        "currency": "The currency of an amount of money, as the source reports it.",
        "value_exact": "value as the exact decimal it was delivered as (its shortest text, "
        "15 decimals): what sums over days add.",
        "numerator_exact": "numerator as an exact decimal, likewise.",
        "denominator_exact": "denominator as an exact decimal, likewise.",
    },
}

_GRADES = {
    "graded_on": "The period's last day with a row: the day the grade is taken from.",
    "final_score": "The score on that day, clamped to [0, 1].",
    "expected_score": "The bar it had to reach: 1.0 committed, the aspirational pace (0.7).",
    "final_status": "The status on that day.",
    "met": "Whether final_score reached expected_score.",
    "committed_miss": "A committed key result that did not reach 1.0.",
}
# The grade's columns replace the daily ones they are taken from.
_NOT_GRADES = ("as_of_date", "score", "expected_progress", "status", "definition_hash")
COLUMN_DESCRIPTIONS["okr.kr_final_grades"] = {
    **{
        k: v
        for k, v in _PROGRESS.items()
        if k not in ("as_of_date", "score", "expected_progress", "status", "definition_hash")
    },
    **_GRADES,
}

README = Path(__file__).resolve().parent.parent / "README.md"
_SECTION = re.compile(r"(<!-- columns:start -->\n).*?(<!-- columns:end -->)", re.DOTALL)


def columns_markdown() -> str:
    """Every public table's columns with their descriptions, as the README shows them."""
    parts = []
    for table, columns in sorted(COLUMN_DESCRIPTIONS.items()):
        parts.append(f"**`{table}`**\n\n| column | meaning |\n|---|---|")
        parts += [f"| `{name}` | {_cell(text)} |" for name, text in columns.items()]
        parts.append("")
    return "\n".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;")


def readme_with_columns(readme: str) -> str:
    return _SECTION.sub(lambda m: m.group(1) + columns_markdown() + "\n" + m.group(2), readme)


if __name__ == "__main__":  # python -m warehouse.columns: rewrite the README's section
    README.write_text(readme_with_columns(README.read_text()))
    sys.exit(0)
