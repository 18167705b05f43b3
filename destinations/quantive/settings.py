"""Quantive Results (formerly Gtmhub): the API's facts and limits.

Sources: the official MIT-licensed CLI github.com/gtmhub/gtmhub-cli (gtmhub_client/krs.go:
`POST {url}/api/v1/metrics/{id}/checkin`, `GET {url}/api/v2/metrics?filter=…` answering
`{"items": [...]}`; gtmhub_client/client.go: headers `Authorization: Bearer <token>` and
`gtmhub-accountid`; model/metric.go: the check-in body `actual`, `checkInDate`, `comment`,
`confidence`, `customFields`), and Quantive's API documentation for the regional hosts and
response codes (API-NOTES.md §5.2). Quantive publishes no rate limit and no answer bodies.
"""

# Key results are "metrics" in the API; the host of each data centre, then /api/v1 or /api/v2.
HOSTS = {
    "eu": "https://app.quantive.com/results",
    "us": "https://app.us.quantive.com/results",
    "as": "https://app.as.quantive.com/results",
    "sa": "https://app.sa.quantive.com/results",
}
CHECKIN_PATH = "/api/v1/metrics/{id}/checkin"
METRICS_PATH = "/api/v2/metrics"
ACCOUNT_HEADER = "gtmhub-accountid"
# GET /api/v2/metrics pages with skip/limit, limit 100 by default (Quantive's API docs).
PAGE_SIZE = 100
# Documented answers: 400, 401, 402 (the plan has no API), 403, 404, 500.
# A check-in is a POST that adds one every time (no idempotency key): read before writing.
TIMEOUT_S = 30.0
