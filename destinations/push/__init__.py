"""Pushing measured values into OKR tools: the shared bookkeeping and the registry
of tools. Each tool lives in `destinations/<tool>/`; the Dagster glue in
`pipelines/destinations/push/`."""

from destinations.push.ledger import PushOutcome, plan_checkins, push_tool, record_sent
from destinations.push.tools import TOOL_MODULES, CheckIn, PushClient, make_client

__all__ = [
    "TOOL_MODULES",
    "CheckIn",
    "PushClient",
    "PushOutcome",
    "make_client",
    "plan_checkins",
    "push_tool",
    "record_sent",
]
