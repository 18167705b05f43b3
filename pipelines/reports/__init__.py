"""The weekly check-in report as a Dagster asset (rendering lives in the `reports` package)."""
