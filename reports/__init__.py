"""Turning warehouse rows into what people read: the `okr status` table, the weekly check-in
report (HTML with charts, and its Markdown twin) and the summaries shown in the Dagster UI.

No Dagster here: the pipeline and the CLI call the same functions.
"""
