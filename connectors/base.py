"""What every connector is asked and declares: the metric and range requests, their hashes,
and `Connector`, a source package's `CONNECTOR`; what a fetch returns is in
`connectors/results.py`.

No Arrow here: `okr validate` imports every used source's package and its request planning,
and pyarrow with NumPy would add ~0.1 s to a command people wait on at a prompt."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import import_module
from typing import Any


def request_hash(payload: Any) -> str:
    """A stable id for a request body, so a raw answer can be traced to the request behind it.

    Secrets must never be part of `payload`: hash the request *without* credentials.
    """
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def day_range(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


@dataclass(frozen=True)
class MetricRequest:
    """One metric a run asks a source for: the metric's id and its source query model."""

    metric_id: str
    query: Any


@dataclass(frozen=True)
class RangeRequest:
    """A non-additive metric asked for one exact window (both ends included)."""

    metric_id: str
    query: Any
    start: date
    end: date


@dataclass(frozen=True)
class Connector:
    """What the rest of okr-sync asks of a source's connector (its package's `CONNECTOR`).

    `settings_from_env(definitions)` builds the connector's settings from the environment (the
    only place credentials come from) and the definitions' non-secret options, or None when the
    environment does not say how to reach the source (`how_to_enable` then says what to set);
    `validate(settings, metrics)` checks the metrics against the source's own metadata;
    `currencies(settings, metrics)` asks the source for the currency of its money metrics.
    """

    is_additive: Callable[[Any], bool]
    settings_from_env: Callable[[Any], Any] | None = None
    validate: Callable[[Any, list[MetricRequest]], list[Any]] | None = None
    how_to_enable: str = ""
    # currencies(settings, metrics): {metric id: ISO 4217 code} of the metrics that are money,
    # as the source reports it (okr_definitions.currency compares them with the units)
    currencies: Callable[[Any, list[MetricRequest]], dict[str, str]] | None = None
    currency_setting: str = ""  # where a user changes that currency, for the fix
    # run_plan(metrics) -> (note, problems): what one run of these metrics asks of the source
    # (requests against its hourly limits), printed by `okr validate` with or without
    # credentials; problems when a run cannot fit the limits.
    run_plan: Callable[[list[MetricRequest]], tuple[str, list[Any]]] | None = None
    # Whether its client verifies HTTPS through connectors/tls.py's shared context: `okr run`
    # then builds the context on a thread while it imports the sources' client libraries.
    uses_tls_context: bool = False


def deferred(module: str, name: str) -> Callable[..., Any]:
    """`module.name`, imported when first called. A source's package stays light to import
    (`okr validate` without credentials, `okr status`): its client library loads only when
    a check with credentials or a run calls into it."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A package's `__getattr__` (PEP 562) for the names in `exports` ({name: module}): each
    module is imported on the first use of one of its names, so the package itself imports
    only its settings and CONNECTOR, and its client library loads when a fetch needs it."""

    def attribute(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(exports[name]), name)

    return attribute


def range_requests(
    definitions: Any, source: str, is_additive: Callable[[Any], bool], start: date, end: date
) -> list[RangeRequest]:
    """The exact windows the non-additive metrics of `source` need for as-of days [start, end]
    (Definitions.exact_windows), as requests to the source."""
    return [
        RangeRequest(metric.id, metric.query, first, last)
        for metric, first, last in definitions.exact_windows(source, start, end, is_additive)
    ]
