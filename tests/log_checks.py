"""Checks on captured logs that cannot pass by seeing nothing.

A "no secret in the log" check passes as well on a log that holds nothing: a logger muted by
an earlier test or library (its level raised, `disabled`, `propagate` off) leaves pytest's
capture empty and the check green. `heard` first asserts the logger's records are there.
"""

from __future__ import annotations

import logging

import pytest


def heard(caplog: pytest.LogCaptureFixture, logger: str, *expected: str) -> str:
    """The captured records of `logger` and its children, formatted; fails unless there are
    some and every one of `expected` is in them, naming the logger's state if not."""
    records = [r for r in caplog.records if r.name == logger or r.name.startswith(f"{logger}.")]
    text = "\n".join(caplog.handler.format(r) for r in records)
    missing = [piece for piece in expected if piece not in text]
    if not records or missing:
        state = logging.getLogger(logger)
        pytest.fail(
            f"the log of {logger!r} does not hold {missing or 'any record'} "
            f"({len(records)} records captured; logger level "
            f"{logging.getLevelName(state.level)}, effective "
            f"{logging.getLevelName(state.getEffectiveLevel())}, disabled={state.disabled}, "
            f"propagate={state.propagate}): a check on it would see nothing"
        )
    return text
