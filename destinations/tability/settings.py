"""Tability: the API's facts and limits.

Sources: Tability's guide "Using the Check-ins API" (the remote check-in: `POST
https://api.tability.app/webhooks/checkins?remote_checkins_token=<per outcome>` with JSON
`{"personal_api_token", "score" (a string), "body"}`, Plus and Premium plans only) and the API
reference (`Authorization: API <personal API token>`; `GET /v2/workspaces/:workspaceID/outcomes/
:outcomeID/checkins` listing check-ins with `checkin_date`, `score`, `is_remote`), summarised in
API-NOTES.md §5.4. Neither documents answer bodies, error bodies or a rate limit.
"""

API_HOST = "https://api.tability.app"
CHECKIN_WEBHOOK_PATH = "/webhooks/checkins"
CHECKINS_PATH = "/v2/workspaces/{workspace}/outcomes/{outcome}/checkins"
AUTH_SCHEME = "API"
# Each POST adds a check-in dated by Tability (no date field): read the outcome's check-ins
# first, and never retry a POST that may have been taken.
TIMEOUT_S = 30.0
