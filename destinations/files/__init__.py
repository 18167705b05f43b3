"""The `files` destination: the public tables as Parquet or CSV files for BI tools that cannot
read a DuckDB file (`okr export`)."""

from destinations.files.export import FORMATS, PUBLIC_TABLES, ExportedTable, export_tables

__all__ = ["FORMATS", "PUBLIC_TABLES", "ExportedTable", "export_tables"]
