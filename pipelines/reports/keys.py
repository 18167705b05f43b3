"""The report asset's key, apart from its definition so the progress assets can link it
without importing the report asset (which imports theirs)."""

import dagster as dg

REPORT = dg.AssetKey(["reports", "weekly_checkin"])
