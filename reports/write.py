"""Writing the weekly check-in report: the HTML page and its Markdown twin, side by side.

Apart from reports/weekly.py (which builds the report's data) so that the renderers, which read
that data, and the writer, which calls the renderers, import in one direction only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from reports.html import render_html
from reports.markdown import render_markdown
from reports.weekly import (
    WeeklyReport,
    build_weekly_report,
    markdown_twin,
    report_path,
    reports_dir,
)


@dataclass(frozen=True)
class WrittenReport:
    html: Path
    markdown: Path
    report: WeeklyReport


def write_weekly_report(
    warehouse: Path | str | None,
    week: date,
    out: Path | None = None,
    definitions_dir: Path | None = None,
) -> WrittenReport:
    """Render the week's report to `out` (HTML) and its Markdown twin beside it."""
    report = build_weekly_report(warehouse, week, definitions_dir)
    html_path = Path(out) if out else report_path(reports_dir(warehouse), week)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    md_path = markdown_twin(html_path)
    # Write next to the target and rename: a reader (a browser tab, the Dagster UI link) never
    # sees half a file.
    for path, text in ((html_path, render_html(report)), (md_path, render_markdown(report))):
        partial = path.with_name(f".{path.name}.partial")
        try:
            partial.write_text(text, encoding="utf-8")
            partial.replace(path)
        finally:  # a failed write or rename (a folder in the way) leaves nothing behind
            partial.unlink(missing_ok=True)
    return WrittenReport(html_path, md_path, report)
