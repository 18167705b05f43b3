"""The example source keeps no raw answers beside raw.metric_rows."""

RAW_TABLE = None
