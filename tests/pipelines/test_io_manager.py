"""The jobs' IO manager (pipelines/resources.py): Dagster's default, built only when an output
is stored or an input loaded through it, which no asset of ours does."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage import fs_io_manager

from pipelines.build import build_definitions
from pipelines.resources import default_io_manager, load_valid_definitions
from pipelines.runner import run_range


@dg.asset
def numbers() -> list[int]:
    return [1, 2, 3]


@dg.asset
def total(numbers: list[int]) -> int:
    return sum(numbers)


def test_an_output_that_is_stored_goes_where_dagsters_default_puts_it() -> None:
    defs = dg.Definitions(assets=[numbers, total], resources={"io_manager": default_io_manager})
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([numbers, total], instance=instance, resources=defs.resources)
        assert result.success
        assert result.output_for_node("total") == 6
        # the pickles Dagster's default fs IO manager writes, in the instance's storage
        stored = Path(instance.storage_directory())
        assert (stored / "numbers").is_file() and (stored / "total").is_file()


def test_a_pipeline_run_never_builds_the_default_io_manager(
    project: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = []
    dagsters_init = fs_io_manager.PickledObjectFilesystemIOManager.__init__

    def counted(self: object, *args: object, **kwargs: object) -> None:
        built.append(args or kwargs)
        dagsters_init(self, *args, **kwargs)

    monkeypatch.setattr(fs_io_manager.PickledObjectFilesystemIOManager, "__init__", counted)
    defs = build_definitions(load_valid_definitions(project))
    day = date(2026, 10, 2)
    outcome = run_range(defs, day, day, instance, "ERROR")
    assert outcome.succeeded, outcome.errors
    assert len(outcome.run_ids) == 3
    assert built == []
