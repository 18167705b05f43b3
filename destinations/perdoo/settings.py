"""Perdoo: the API's facts and limits, and how sure we are of each.

Perdoo's GraphQL schema is published only in Apollo Studio's client-side explorer
(studio.apollographql.com/public/Perdoo-GQL), which cannot be read here. The facts below come
from third-party code (API-NOTES.md §5.3), so their confidence is medium:

- Endpoint `POST https://api-eu.perdoo.com/graphql/` with `Authorization: Bearer <personal API
  token>` (Settings → API tokens): a Power BI script (gist jmorrice/f7e4c08e…) and an MCP server
  whose operations were validated against the live API by `__type` introspection; another
  provider uses the alias `https://eu.perdoo.com/graphql/`.
- Read a key result: `result(id: UUID!) { id currentValue }` (the MCP server's introspection:
  the singular query is `result`, not `keyResult`; ids are UUIDs).
- Write progress: `upsertCommit(input: UpsertCommitMutationInput!)` answering `{commit {id …},
  errors {field messages}}`, with the input keys `keyResult` (UUID), `value`, `description`,
  `commitDate` (and `id` to change a commit) — one third-party provider's code; not confirmed by
  introspection. `commitDate` is a separate field from `createdDate` there: a dated check-in.
- Read a key result's commits: `commits(first, after)` on `result`, a Relay connection of
  `{id value commitDate}` — assumed from the Relay pagination the Power BI script uses and the
  commit fields upsertCommit answers; not confirmed by introspection.
- Graphene conventions: a form's validation errors come back HTTP 200 in the payload's
  `errors[]`; refused credentials as GraphQL `errors[].message` ("Unauthorized"), which both
  third-party clients also accept as HTTP 401/403.
- No rate limit is published; the MCP server throttles itself to 3 requests a second and never
  retries a mutation.
"""

GRAPHQL_URL = "https://api-eu.perdoo.com/graphql/"
# A Graphene `Date` accepts only YYYY-MM-DD and a `DateTime` accepts it too: the safe format
# for commitDate while its scalar type is unverified.
COMMIT_DATE_FORMAT = "%Y-%m-%d"
# Words in a GraphQL error message that mean the token was refused (the third-party clients
# classify auth errors by these).
AUTH_WORDS = ("unauthorized", "unauthenticated", "authentication", "permission", "token")
TIMEOUT_S = 30.0
# Commits per page of the read-back; Graphene-Django's default maximum is 100.
COMMITS_PAGE_SIZE = 100
