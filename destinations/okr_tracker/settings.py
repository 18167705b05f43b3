"""okr-tracker (City of Oslo, github.com/oslokommune/okr-tracker): the API's facts and limits.

Source: the project's OpenAPI spec `public/openapi.yaml` (Swagger 2.0, v2.2.0) and its API
code `functions/api/` (routes/keyres.js, helpers.js, validateRules.js), summarised in
API-NOTES.md §5.1.
"""

# PUT /keyres/{id}/values/{date}: deletes every value of that day, then adds this one — one
# value per key result and day, so re-sending is harmless and past days can be written.
VALUES_PATH = "/keyres/{id}/values/{date}"
# GET /keyres/{id}: the key result with currentValue and lastUpdated (404 for an unknown id).
KEYRES_PATH = "/keyres/{id}"
# Headers of the spec's securityDefinitions: the API Gateway key and the team's API client.
API_KEY_HEADER = "x-api-key"
CLIENT_ID_HEADER = "okr-client-id"
CLIENT_SECRET_HEADER = "okr-client-secret"
# validateRules.js: `value` isFloat({min: 0}) — negative values are refused with a 400.
MIN_VALUE = 0.0
# express-rate-limit in functions/api: 1000 requests per 5 minutes, then 429 with the text
# "Too many requests, please try again later." (the retry policy backs off on it).
RATE_LIMIT_REQUESTS = 1000
RATE_LIMIT_WINDOW_S = 300
# Firebase Functions behind API Gateway answer in well under a second; a minute-long hang is
# an outage, and the PUT is idempotent so a timeout is retried.
TIMEOUT_S = 30.0
