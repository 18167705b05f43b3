"""The generic webhook target: a documented JSON check-in, optionally HMAC-signed."""

from destinations.webhook.client import WebhookClient, make_client, payload, signature

# Receivers (Zapier, Make, n8n) record a check-in when it arrives: only the newest day is sent.
DATED = False

__all__ = ["DATED", "WebhookClient", "make_client", "payload", "signature"]
