"""Perdoo: a key result's progress as a commit (`upsertCommit`) over GraphQL, dated."""

from destinations.perdoo.client import PerdooClient, make_client

# upsertCommit takes a commitDate: a backfill writes past check-ins.
DATED = True

__all__ = ["DATED", "PerdooClient", "make_client"]
