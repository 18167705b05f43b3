"""okr-tracker (City of Oslo): `PUT /keyres/{id}/values/{date}` per key result and day."""

from destinations.okr_tracker.client import OkrTrackerClient, make_client

# The PUT takes the day: a backfill writes past values.
DATED = True

__all__ = ["DATED", "OkrTrackerClient", "make_client"]
