"""What `okr run` starts on threads while it imports (okr_cli/run_start.py): the shared TLS
context is built there only when a source of the definitions verifies through it."""

from __future__ import annotations

import threading
from pathlib import Path

from okr_cli.run_start import build_tls_context_if_used
from okr_definitions.folder import DEFAULT_DIR
from okr_definitions.loader import load_definitions
from okr_definitions.resolve import Definitions

CASES = Path(__file__).resolve().parents[1] / "definitions" / "cases"
GA4_ONLY = CASES / "valid_split_across_files"


def _loaded(folder: Path) -> Definitions:
    definitions, problems = load_definitions(folder)
    assert definitions is not None, problems
    return definitions


def _built_ahead(definitions: Definitions, builders: list[str]) -> list[str]:
    build_tls_context_if_used(definitions)
    for thread in threading.enumerate():
        if thread.name == "okr-tls-context":
            thread.join()
    return builders


def test_the_tls_context_is_built_ahead_for_sources_that_use_it(
    tls_context_builders: list[str],
) -> None:
    demo = _loaded(DEFAULT_DIR)
    assert {"matomo", "mixpanel", "amplitude"} <= demo.used_sources()
    assert _built_ahead(demo, tls_context_builders) == ["okr-tls-context"]


def test_no_tls_context_is_built_for_sources_that_do_not(tls_context_builders: list[str]) -> None:
    ga4_only = _loaded(GA4_ONLY)  # HTTPS through google-auth's session, not the shared context
    assert ga4_only.used_sources() == {"ga4"}
    assert _built_ahead(ga4_only, tls_context_builders) == []
