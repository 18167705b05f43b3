"""A Matomo behind HTTP basic auth: `MATOMO_URL=https://user:password@host` is accepted, the
password travels only in the Authorization header, and no message or stored row shows it."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from log_checks import heard
from pydantic import SecretStr, ValidationError

from connectors.base import MetricRequest
from connectors.errors import AuthError
from connectors.ga4 import GA4Settings
from connectors.hubspot import HubSpotSettings
from connectors.matomo import MatomoSettings, fetch_matomo
from connectors.urls import redact_url_credentials, split_url_credentials
from okr_definitions.sources.matomo import MatomoQuery
from sandbox.base import Fault, SandboxServer
from sandbox.matomo.server import DEFAULT_TOKEN, MatomoSandbox

USER = "okr-reader"
PASSWORD = "canary-basic-auth-p@ss/w0rd"  # "@" and "/" must be %-escaped in a URL
ESCAPED = "canary-basic-auth-p%40ss%2Fw0rd"
VISITS = [MetricRequest("visits", MatomoQuery(method="VisitsSummary.get", column="nb_visits"))]
DAYS = (date(2026, 11, 2), date(2026, 11, 8))


def _with_credentials(server: SandboxServer, password: str = ESCAPED) -> str:
    return server.base_url.replace("http://", f"http://{USER}:{password}@")


def test_redaction_and_splitting_of_url_credentials() -> None:
    url = f"https://{USER}:{ESCAPED}@matomo.example/analytics"
    assert split_url_credentials(url) == ("https://matomo.example/analytics", USER, PASSWORD)
    assert split_url_credentials("https://matomo.example") == ("https://matomo.example", None, None)
    assert redact_url_credentials(f"POST {url}/index.php failed; see {url}") == (
        "POST https://***@matomo.example/analytics/index.php failed; "
        "see https://***@matomo.example/analytics"
    )


def test_the_settings_take_the_credentials_out_of_the_url() -> None:
    settings = MatomoSettings(
        base_url=f"https://{USER}:{ESCAPED}@matomo.example/", site_id=1, token=SecretStr("t")
    )
    assert settings.base_url == "https://matomo.example"
    assert settings.basic_auth_user == USER
    assert settings.basic_auth_password.get_secret_value() == PASSWORD
    assert PASSWORD not in repr(settings) and ESCAPED not in repr(settings)


def test_a_url_refused_for_another_reason_is_not_repeated_with_its_password() -> None:
    with pytest.raises(ValidationError) as caught:
        MatomoSettings(
            base_url=f"ftp://{USER}:{ESCAPED}@matomo.example", site_id=1, token=SecretStr("t")
        )
    assert "is not an http(s) URL" in str(caught.value)
    assert ESCAPED not in str(caught.value) and PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    "make",
    [
        lambda url: HubSpotSettings(access_token=SecretStr("pat"), host=url),
        lambda url: GA4Settings(property_id="1", endpoint=url),
    ],
    ids=["hubspot_host", "ga4_endpoint"],
)
def test_the_other_sources_refuse_credentials_in_their_url_without_repeating_them(make) -> None:
    with pytest.raises(ValidationError) as caught:
        make(f"https://{USER}:{ESCAPED}@api.example")
    assert "carries a user or password" in str(caught.value)
    assert "https://***@api.example" in str(caught.value)
    assert ESCAPED not in str(caught.value) and PASSWORD not in str(caught.value)


def test_the_password_reaches_the_proxy_and_no_message(
    sandbox: MatomoSandbox, server: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.basic_auth = (USER, PASSWORD)
    caplog.set_level(logging.WARNING, logger="connectors.retry")
    settings = MatomoSettings(base_url=_with_credentials(server), site_id=1, token=DEFAULT_TOKEN)
    clean = fetch_matomo(settings, VISITS, *DAYS)
    assert clean.daily.num_rows == 7

    # A retried failure is logged with the URL: without its credentials.
    server.inject(Fault("status", status=503, body=b"{}"), Fault("reset"))
    retried = fetch_matomo(settings, VISITS, *DAYS)
    assert retried.daily.equals(clean.daily)
    heard(caplog, "connectors.retry", server.base_url)  # the retry's line, with the URL
    stored = [str(value) for column in retried.raw.to_pylist() for value in column.values()]
    for text in (caplog.text, *stored):
        assert PASSWORD not in text and ESCAPED not in text


@pytest.mark.parametrize("password", [None, "wrong-password"], ids=["none", "wrong"])
def test_a_proxy_refusing_basic_auth_says_so_without_the_password(
    sandbox: MatomoSandbox, server: SandboxServer, password: str | None
) -> None:
    sandbox.basic_auth = (USER, PASSWORD)
    url = _with_credentials(server, password) if password else server.base_url
    settings = MatomoSettings(base_url=url, site_id=1, token=DEFAULT_TOKEN)

    with pytest.raises(AuthError) as caught:
        fetch_matomo(settings, VISITS, *DAYS)

    message = str(caught.value)
    assert "asks for HTTP basic auth" in message
    assert "before its host, as user:password@" in message
    assert "wrong-password" not in message and PASSWORD not in message
    assert server.total_requests == 1  # refused credentials are not retried
