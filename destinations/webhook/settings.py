"""The generic webhook target: a documented JSON payload POSTed to any inbound webhook
(Zapier "Catch Hook", Make "Custom webhook", n8n "Webhook" node), optionally signed.

The payload is okr-sync's own contract (README, "Pushing to OKR tools"); changing a key is a
breaking change for every receiver.
"""

EVENT = "okr_sync.checkin"
PAYLOAD_VERSION = 1
# HMAC-SHA256 of the exact body bytes with the shared secret, hex, GitHub-style prefix.
SIGNATURE_HEADER = "X-Okr-Sync-Signature"
SIGNATURE_PREFIX = "sha256="
# Zapier and Make answer within seconds; a receiver that hangs is down for this run. A POST is
# not retried after a timeout (it may have been taken): receivers dedupe on idempotency_key.
TIMEOUT_S = 30.0
