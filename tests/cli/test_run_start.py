"""What `okr run` starts on threads while it imports (okr_cli/run_start.py): the shared TLS
context is built there only when a source of the definitions verifies through it."""

from __future__ import annotations

import ssl
import threading
from pathlib import Path

import pytest

from connectors import tls
from okr_cli.run_start import build_tls_context_if_used
from okr_definitions.folder import DEFAULT_DIR
from okr_definitions.loader import load_definitions
from okr_definitions.resolve import Definitions

FILE_ONLY = """
organisation: {name: Tiny Shop, timezone: Europe/Berlin, lookback_days: 2}
sources:
  file: {allowed_lag_days: 2}
teams:
  - {id: growth, name: Growth, owner: growth@example.com}
metrics:
  - {id: signups, source: file, query: {path: data/signups.csv}}
  - {id: visits, source: file, query: {path: data/visits.csv}}
objectives:
  - id: grow
    title: More people sign up
    team: growth
    period: {start: 2026-10-01, end: 2026-10-10}
    key_results:
      - {id: signups-total, title: 150 signups, metric: signups, measure: total, target: 150}
      - {id: visits-total, title: 900 visits, metric: visits, measure: total, target: 900}
"""


def _loaded(folder: Path) -> Definitions:
    definitions, problems = load_definitions(folder)
    assert definitions is not None, problems
    return definitions


def _contexts_built_by_a_thread(definitions: Definitions, monkeypatch: pytest.MonkeyPatch) -> int:
    built: list[str] = []
    create = tls.httpx.create_ssl_context

    def counted() -> ssl.SSLContext:
        built.append(threading.current_thread().name)
        return create()

    monkeypatch.setattr(tls.httpx, "create_ssl_context", counted)
    tls.forget_tls_context()
    try:
        build_tls_context_if_used(definitions)
        for thread in threading.enumerate():
            if thread.name == "okr-tls-context":
                thread.join()
    finally:
        tls.forget_tls_context()
    return built.count("okr-tls-context")


def test_the_tls_context_is_built_ahead_for_sources_that_use_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    demo = _loaded(DEFAULT_DIR)  # Matomo, Mixpanel and Amplitude among its sources
    assert {"matomo", "mixpanel", "amplitude"} <= demo.used_sources()
    assert _contexts_built_by_a_thread(demo, monkeypatch) == 1


def test_no_tls_context_is_built_for_definitions_without_such_a_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "okr.yaml").write_text(FILE_ONLY)
    (tmp_path / "data").mkdir()
    for name in ("signups", "visits"):
        (tmp_path / "data" / f"{name}.csv").write_text("date,value\n2026-10-01,1\n")
    file_only = _loaded(tmp_path)
    assert file_only.used_sources() == {"file"}
    assert _contexts_built_by_a_thread(file_only, monkeypatch) == 0
