"""The notify destination's Dagster Definitions: the asset, its job, and the sensor that runs
it after every successful progress run. Empty when the definitions have no `notify:`
section."""

from collections.abc import Sequence

import dagster as dg

from okr_definitions.resolve import Definitions
from pipelines.schedules import PROGRESS_JOB

NOTIFY_JOB = "okr_notify"


def build_definitions(definitions: Definitions) -> dg.Definitions:
    if definitions.notify is None:
        return dg.Definitions()
    # The senders (SMTP, Slack and Teams webhooks) load only for definitions that notify.
    from pipelines.destinations.notify.assets import NOTIFY, notify_messages

    notify_job = dg.define_asset_job(
        NOTIFY_JOB, selection=[NOTIFY], description="Send due alerts and the weekly digest."
    )

    # Watches the code location's runs and answers only the progress job's (the statuses it
    # alerts on are its rows): the job object belongs to pipelines/build.py, and a
    # destination is built from the definitions alone.
    @dg.run_status_sensor(
        name="notify_after_models",
        run_status=dg.DagsterRunStatus.SUCCESS,
        request_job=notify_job,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Sends what a successful progress run made due (nothing for old days).",
    )
    def notify_after_models(context: dg.RunStatusSensorContext) -> Sequence[dg.RunRequest]:
        if context.dagster_run.job_name != PROGRESS_JOB:
            return []
        return [dg.RunRequest(run_key=f"notify-after-{context.dagster_run.run_id}")]

    return dg.Definitions(
        assets=[notify_messages], jobs=[notify_job], sensors=[notify_after_models]
    )
