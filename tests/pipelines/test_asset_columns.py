"""What a data engineer reads in the Dagster UI before any run: every column of every table
asset described (from warehouse/columns.py, the same text as the README's "Every column"),
column lineage in the asset definitions, and key_result_lineage as a native table with the
numbers in their units."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.build import build_definitions
from pipelines.okr.lineage import lineage_table, percent
from warehouse.columns import COLUMN_DESCRIPTIONS, columns_markdown, readme_with_columns
from warehouse.db import migrate

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def graph() -> dg.AssetGraph:
    return build_definitions().resolve_asset_graph()


def _value(entry):
    """Definition metadata keeps the TableSchema / TableColumnLineage as given."""
    return getattr(entry, "value", entry)


def _table_columns(table: str) -> list[str]:
    con = duckdb.connect(":memory:")
    migrate(con)
    schema, name = table.split(".")
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()
    con.close()
    return [r[0] for r in rows]


def test_every_column_of_every_table_asset_is_described(graph) -> None:
    tables = {}
    for key in graph.get_all_asset_keys():
        path = "/".join(key.path)
        if path.startswith(("raw/", "staging/", "okr/")):
            metadata = graph.get(key).metadata
            assert "dagster/column_schema" in metadata, f"{path} declares no columns"
            tables[path] = metadata
    assert {"raw/ga4", "staging/metric_daily", "okr/kr_progress_daily", "okr/teams"} <= set(tables)
    for path, metadata in tables.items():
        table = metadata["dagster/table_name"]
        schema = _value(metadata["dagster/column_schema"])
        # exactly the table's columns, in its order, each with its description
        assert [c.name for c in schema.columns] == _table_columns(table), path
        for column in schema.columns:
            assert column.description, f"{path}: column {column.name} has no description"
            assert column.description == COLUMN_DESCRIPTIONS[table][column.name]


def test_descriptions_name_no_column_the_tables_lack() -> None:
    for table, described in COLUMN_DESCRIPTIONS.items():
        assert set(described) == set(_table_columns(table)), table


def test_the_readme_lists_the_same_descriptions() -> None:
    readme = (REPO / "README.md").read_text()
    assert readme_with_columns(readme) == readme, "run `python -m warehouse.columns`"
    assert columns_markdown() in readme
    assert "| `score` | progress clamped to [0, 1]. |" in readme


def test_column_lineage_is_in_the_definitions(graph) -> None:
    staging = dg.AssetKey(["staging", "metric_daily"])
    progress = graph.get(dg.AssetKey(["okr", "kr_progress_daily"])).metadata
    lineage = _value(progress["dagster/column_lineage"]).deps_by_column
    assert dg.TableColumnDep(staging, "value") in lineage["value"]
    assert (
        dg.TableColumnDep(dg.AssetKey(["okr", "key_results"]), "target_value")
        in (lineage["target"])
    )
    staged = _value(graph.get(staging).metadata["dagster/column_lineage"]).deps_by_column
    assert dg.TableColumnDep(dg.AssetKey(["raw", "ga4"]), "value") in staged["value"]
    objectives = graph.get(dg.AssetKey(["okr", "objective_progress_daily"])).metadata
    score = _value(objectives["dagster/column_lineage"]).deps_by_column["score"]
    assert dg.TableColumnDep(dg.AssetKey(["okr", "kr_progress_daily"]), "weight") in score


def test_key_result_lineage_is_a_table_with_units_and_links(graph) -> None:
    node = graph.get(dg.AssetKey(["okr", "objective", "product-pages-convert"]))
    table = node.metadata["key_result_lineage"]
    assert isinstance(table, dg.TableMetadataValue)
    rows = [r.data for r in table.records if r.data["key_result"] == "product-page-conversion"]
    assert [r["reads"].split(":")[0] for r in rows] == ["numerator", "denominator"]
    assert {r["source_asset_url"] for r in rows} == {"/assets/raw/ga4"}
    assert node.metadata["source raw/ga4"] == dg.MetadataValue.asset(dg.AssetKey(["raw", "ga4"]))

    assert percent(0.7350173386098773) == "73.5 %"
    assert percent(None) == "—"
    row = {
        "kr_id": "kr",
        "metric_id": "m",
        "role": "value",
        "source_metric_id": "m",
        "source_asset": "raw/file",
        "query_json": '{"path": "a.csv"}',
    }
    numbers = {
        "kr": {
            "status": "on_track",
            "value": "3.90 %",
            "target": "5.50 %",
            "score": percent(0.7350173386098773),
            "data_through": "2026-12-03",
        }
    }
    (record,) = lineage_table([row], numbers).records
    assert record.data["score"] == "73.5 %" and record.data["value"] == "3.90 %"
    assert record.data["source_asset_url"] == "/assets/raw/file"


def test_progress_partitions_start_where_the_periods_do(graph) -> None:
    """The bundled key results run through 2026-Q4 and measure their baselines over Q3: the
    sources and staging have Q3's partitions, the progress assets (whose rows are days inside
    the periods) start on 2026-10-01, so Q3 never shows as missing for them."""
    for path in (["raw", "file"], ["staging", "metric_daily"]):
        partitions = graph.get(dg.AssetKey(path)).partitions_def
        assert partitions.get_first_partition_key() == "2026-07-01", path
    progress = [
        ["okr", "kr_progress_daily"],
        ["okr", "objective_progress_daily"],
        ["okr", "objective", "grow-new-business"],
    ]
    for path in progress:
        node = graph.get(dg.AssetKey(path))
        assert node.partitions_def.get_first_partition_key() == "2026-10-01", path
        assert "not_applicable_days" not in node.metadata, path
