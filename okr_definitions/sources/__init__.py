"""Each source's definitions: what a metric asks it for (`QUERY`), its `sources.<name>:`
options (`OPTIONS`) and the checks of a query that need no network (`lint_query`).

These live with the definitions (not in `connectors/`) because `okr validate` and the JSON
Schema need them, and definitions come first in the data flow. Connectors import them.
"""
