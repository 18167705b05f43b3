"""The DuckDB warehouse: migrations, SQL models, load/replace helpers and queries.

No Dagster here: the pipeline calls these functions, and so do the CLI and the tests.
"""

# Arrow's memory pool is chosen there (connectors/__init__.py), before a module here imports
# pyarrow.
import connectors  # noqa: F401
