"""A tiny OKR project with file-source data whose key-result values are easy to hand-compute."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

PERIOD_START = date(2026, 10, 1)
PERIOD_END = date(2026, 10, 10)

ORGANISATION = """
organisation:
  name: Test Shop
  timezone: Europe/Berlin
  lookback_days: 2
sources:
  file: {allowed_lag_days: 2}
teams:
  - {id: growth, name: Growth, owner: growth@example.com}
"""

METRICS = """
metrics:
  - {id: signups, source: file, query: {path: data/signups.csv}}
  - {id: orders, source: file, query: {path: data/orders.csv}}
  - {id: visits, source: file, query: {path: data/visits.csv}}
  - id: conversion_rate
    unit: "%"
    ratio: {numerator: orders, denominator: visits}
"""

OBJECTIVES = """
objectives:
  - id: grow
    title: More people sign up and buy
    team: growth
    period: {start: 2026-10-01, end: 2026-10-10}
    key_results:
      - id: signups-total
        title: Signups +50 % over the previous ten days
        metric: signups
        measure: total
        target: +50%
      - id: conversion
        title: Conversion rate from 10 % to 20 %
        metric: conversion_rate
        measure: rolling_3d
        baseline: 10%
        target: 20%
"""


def signups(day: date) -> int:
    # 10 a day before the period, 12 a day inside it
    return 12 if day >= PERIOD_START else 10


def orders(day: date) -> int:
    return 3 if day.day % 2 else 1


def visits(day: date) -> int:
    return 20 if day.day % 2 else 10


def write_csv(path: Path, first: date, last: date, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "value"])
        day = first
        while day <= last:
            writer.writerow([day.isoformat(), value(day)])
            day += timedelta(days=1)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Definitions folder with data 2026-09-01..2026-10-10; env points the pipeline at it."""
    folder = tmp_path / "okr_definitions"
    folder.mkdir()
    (folder / "organisation.yaml").write_text(ORGANISATION)
    (folder / "metrics.yaml").write_text(METRICS)
    (folder / "objectives.yaml").write_text(OBJECTIVES)
    for name, fn in (("signups", signups), ("orders", orders), ("visits", visits)):
        write_csv(folder / "data" / f"{name}.csv", date(2026, 9, 1), PERIOD_END, fn)
    monkeypatch.setenv("OKR_DEFINITIONS", str(folder))
    monkeypatch.setenv("OKR_WAREHOUSE", str(tmp_path / "pipeline.duckdb"))
    return folder


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst
