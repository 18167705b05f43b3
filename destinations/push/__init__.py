"""Pushing measured values into OKR tools: the shared bookkeeping and the registry
of tools. Each tool lives in `destinations/<tool>/`; the Dagster glue in
`pipelines/destinations/push/`.

The names are exported lazily (`connectors/base.py` `lazy_exports`): `okr validate` checks
the mapped ids through `tools.py` and loads neither the ledger nor DuckDB."""

from connectors.base import lazy_exports

_EXPORTS = {
    "TOOL_MODULES": "destinations.push.tools",
    "CheckIn": "destinations.push.tools",
    "PushClient": "destinations.push.tools",
    "make_client": "destinations.push.tools",
    "PushOutcome": "destinations.push.ledger",
    "plan_checkins": "destinations.push.ledger",
    "push_tool": "destinations.push.ledger",
    "record_sent": "destinations.push.ledger",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
