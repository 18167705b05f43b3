"""Tability: the remote check-ins webhook of each outcome (no check-in date)."""

from destinations.tability.client import TabilityClient, make_client

# Tability dates a remote check-in itself: only the newest day is sent, never a backfill.
DATED = False

__all__ = ["DATED", "TabilityClient", "make_client"]
