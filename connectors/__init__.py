"""Source connectors: plain Python clients that fetch metrics and return Arrow tables.

Nothing here imports Dagster: a connector is usable on its own (from a notebook, a script or a
test). Each source has one module (`file_source`, `ga4`, `matomo`, `hubspot`) that exposes a
`fetch_*` function returning a :class:`connectors.base.FetchResult`.
"""
