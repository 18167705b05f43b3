"""The DuckDB warehouse: migrations, SQL models, load/replace helpers and queries.

No Dagster here: the pipeline calls these functions, and so do the CLI and the tests.
"""
