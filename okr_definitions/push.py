"""The `push:` sections of the definitions: which OKR tools get the measured values.

Top level, per tool, where and how to reach it (secrets only as the *names* of environment
variables, `*_env`); per key result, `push: {tool: id}` — the tool's own id of the key result
(okr-tracker key result, Quantive metric, Perdoo key result UUID, webhook receiver's id).
`lint_push` checks that every key result's `push` names a tool configured at the top level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from okr_definitions.problems import Problem, did_you_mean
from okr_definitions.strict import StrictModel
from okr_definitions.yaml_source import format_path

if TYPE_CHECKING:
    from okr_definitions.resolve import Definitions

EnvName = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$",
        description="Name of an environment variable (the value itself never goes in YAML).",
    ),
]
HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s]+$", description="http(s):// URL")]
# The tools' ids: okr-tracker's Firestore ids, Quantive's 24-hex ObjectIds, Perdoo's UUIDs, a
# webhook receiver's own names. Printable, no spaces, bounded.
ToolId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]


class OkrTrackerPush(StrictModel):
    """okr-tracker (City of Oslo): its API Gateway key plus an API client of the team."""

    base_url: HttpUrl = Field(description="The deployment's API, e.g. https://okr.example.org/api")
    token_env: EnvName = "OKR_TRACKER_API_KEY"
    client_id_env: EnvName = "OKR_TRACKER_CLIENT_ID"
    client_secret_env: EnvName = "OKR_TRACKER_CLIENT_SECRET"


class QuantivePush(StrictModel):
    """Quantive Results (formerly Gtmhub): API token and account id, per data centre."""

    account_id_env: EnvName = "QUANTIVE_ACCOUNT_ID"
    token_env: EnvName = "QUANTIVE_TOKEN"
    region: Literal["eu", "us", "as", "sa"] = "eu"
    base_url: HttpUrl | None = Field(
        None, description="Overrides the region's host (a proxy or a test server)."
    )


class PerdooPush(StrictModel):
    """Perdoo: a personal API token (Settings → API tokens) for its GraphQL API."""

    token_env: EnvName = "PERDOO_API_TOKEN"
    base_url: HttpUrl | None = Field(
        None,
        description="Overrides the GraphQL endpoint https://api-eu.perdoo.com/graphql/ "
        "(a proxy or a test server).",
    )


class TabilityPush(StrictModel):
    """Tability: a user's personal API token, and each outcome's remote check-ins token."""

    workspace_id: ToolId = Field(description="The workspace of the outcomes (its id or slug).")
    token_env: EnvName = "TABILITY_API_TOKEN"
    checkin_tokens_env: EnvName = Field(
        "TABILITY_CHECKIN_TOKENS",
        description='JSON {"<outcome id>": "<remote check-ins token>"}: each outcome\'s '
        "Check-ins API token, a secret like the URL it belongs to.",
    )
    base_url: HttpUrl | None = Field(
        None, description="Overrides https://api.tability.app (a proxy or a test server)."
    )


class WebhookPush(StrictModel):
    """Any inbound webhook (Zapier, Make, n8n; Weekdone and Jira Align through them)."""

    url_env: EnvName = Field(
        "OKR_PUSH_WEBHOOK_URL",
        description="The hook's URL is a secret: whoever has it can post check-ins.",
    )
    secret_env: EnvName | None = Field(
        None, description="When set, each body is signed: X-Okr-Sync-Signature: sha256=<hmac>."
    )


class Push(StrictModel):
    """OKR tools okr-sync writes each morning's measured values into."""

    okr_tracker: OkrTrackerPush | None = None
    quantive: QuantivePush | None = None
    perdoo: PerdooPush | None = None
    tability: TabilityPush | None = None
    webhook: WebhookPush | None = None

    def configured(self) -> dict[str, StrictModel]:
        return {tool: settings for tool, settings in self if settings is not None}


PUSH_TOOLS = tuple(Push.model_fields)
KeyResultPush = Annotated[
    dict[str, ToolId],
    Field(description="The tool's id of this key result, per configured tool: {okr_tracker: …}"),
]


def lint_push(d: Definitions) -> list[Problem]:
    """Every key result's `push` names a tool configured under the top-level `push:`."""
    configured = d.push.configured()
    problems: list[Problem] = []
    for loc in d.key_results.values():
        for tool in loc.item.push:
            if tool in configured:
                continue
            guess = did_you_mean(tool, PUSH_TOOLS)
            if tool in PUSH_TOOLS:
                fix = f"configure it under the top-level `push: {{{tool}: {{...}}}}`"
            elif guess:
                fix = f"did you mean `{guess}`? (okr-sync knows: {', '.join(PUSH_TOOLS)})"
            else:
                fix = f"use a tool okr-sync knows: {', '.join(PUSH_TOOLS)}"
            problems.append(
                Problem(
                    "error",
                    loc.file,
                    loc.line("push", tool),
                    format_path((*loc.path, "push", tool)),
                    f"key result `{loc.item.id}` pushes to `{tool}`, which is not configured",
                    fix,
                )
            )
    return problems
