"""notify/messages: status-change alerts and the weekly digest, after the progress tables.

One unpartitioned asset in its own group and job; a sensor runs it when a model run
succeeds. What is due and what was sent already is decided by `destinations.notify` from the
warehouse (only the newest day speaks, exactly once), so a backfill's model runs send nothing
new. A failed send is recorded and reported in the metadata; it never fails the asset.
"""

import dagster as dg

from destinations.notify import deliver, plan_messages
from destinations.notify.outbox import Delivery
from pipelines.okr.assets import KR_PROGRESS, OBJECTIVE_PROGRESS
from pipelines.resources import OkrDefinitionsResource, WarehouseResource

NOTIFY = dg.AssetKey(["notify", "messages"])


def deliveries_markdown(deliveries: list[Delivery]) -> str:
    if not deliveries:
        return "Nothing was due: no status change to alert on and no digest due."
    lines = [
        "| channel | kind | key result | change | day | status | attempts | error |",
        "|---|---|---|---|---|---|---:|---|",
    ]
    for d in deliveries:
        o = d.outgoing
        error = (d.error or "").replace("|", "\\|")
        lines.append(
            f"| {o.channel} | {o.kind} | {o.kr_id or '—'} | {o.change} | {o.day} "
            f"| {d.status} | {d.attempts} | {error} |"
        )
    return "\n".join(lines)


@dg.asset(
    key=NOTIFY,
    deps=[KR_PROGRESS, OBJECTIVE_PROGRESS],
    group_name="notify",
    kinds={"slack", "teams", "email"},
    description=(
        "Status-change alerts (the newest computed day against the day before) and the weekly "
        "check-in digest, sent to the channels of `notify:` in the definitions — Slack "
        "(Block Kit), Microsoft Teams (Adaptive Card), e-mail (SMTP with STARTTLS). Each "
        "message is sent once: notify.sent records it. A failed send is recorded as failed "
        "and retried by the next run; it never fails this asset."
    ),
)
def notify_messages(
    context: dg.AssetExecutionContext,
    okr_definitions: OkrDefinitionsResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    definitions = okr_definitions.load()
    outgoing = plan_messages(warehouse.file, definitions)
    deliveries = deliver(warehouse.file, definitions, outgoing)
    failed = [d for d in deliveries if d.status == "failed"]
    for d in failed:
        context.log.warning(f"not sent to {d.outgoing.channel}: {d.error}")
    return dg.MaterializeResult(
        metadata={
            "sent": sum(d.status == "sent" for d in deliveries),
            "failed": len(failed),
            "alerts": sum(d.outgoing.kind == "alert" for d in deliveries),
            "digests": sum(d.outgoing.kind == "digest" for d in deliveries),
            "deliveries": dg.MetadataValue.md(deliveries_markdown(deliveries)),
        }
    )
