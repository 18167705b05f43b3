"""Quantive Results (formerly Gtmhub): `POST /api/v1/metrics/{id}/checkin` with a date."""

from destinations.quantive.client import QuantiveClient, make_client

# checkInDate dates the check-in: a backfill writes past check-ins.
DATED = True

__all__ = ["DATED", "QuantiveClient", "make_client"]
