"""The shape of a source: one folder (or module) per layer, the same in every source, and no
other module of the product naming it. A new source copies one of these folders and
adds one registry entry; this test says what is missing."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import dagster as dg
import pytest

from okr_definitions.loader import load_definitions
from pipelines.build import build_definitions
from registry.destinations import BUILT_IN as DESTINATIONS
from registry.destinations import DestinationEntry
from registry.sources import BUILT_IN, LAYERS, SourceEntry, registered_sources

REPO = Path(__file__).resolve().parents[2]

# What each layer of every source must offer (registry/sources.py describes each contract).
CONTRACT = {
    "definitions": {"QUERY", "OPTIONS", "lint_query"},
    "connector": {"CONNECTOR"},
    "sandbox": {"start", "write_demo_data"},
    "warehouse": {"RAW_TABLE"},
    "pipeline": {"build_definitions"},
}
# The modules of a layer's folder that every source has, with the same job under the same name.
SAME_FILES = {
    "connector": {
        "__init__.py",
        "client.py",
        "requests.py",
        "parse.py",
        "settings.py",
        "validate.py",
    },
    "sandbox": {"__init__.py", "server.py"},
    "pipeline": {"__init__.py", "assets.py", "definitions.py", "resources.py"},
}
# Modules a source has beyond the shared ones, for a job that has no shared name.
# `fetch.py`: the fetches of a source whose client library is heavy to import, exported lazily
# by its `__init__.py` (CONTRIBUTING.md, "Adding a source").
EXTRA_FILES = {
    ("connector", "ga4"): ("currency.py", "fetch.py"),  # the property's currency, for validate
    ("connector", "matomo"): ("currency.py", "fetch.py"),  # the site's currency, for validate
    ("connector", "hubspot"): ("currency.py", "fetch.py"),  # the company currency, for validate
    ("connector", "file"): ("workbook.py",),  # one sheet of an Excel workbook
    ("connector", "salesforce"): ("bulk.py", "fetch.py"),  # Bulk API 2.0 jobs for large reads
}
# The product's packages (tests and benchmarks exercise particular sources on purpose).
PRODUCT = [
    "registry",
    "okr_definitions",
    "connectors",
    "sandbox",
    "warehouse",
    "pipelines",
    "reports",
    "okr_cli",
    "destinations",
]

# Words that look like a source's name but mean something else, with why.
NOT_A_SOURCE = {
    ("okr_cli/main.py", "file"): "the column header of `okr export`'s table of written files",
}


def _path_of(module: str) -> Path:
    base = REPO / module.replace(".", "/")
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def _own_paths(entry: SourceEntry) -> list[Path]:
    """The files and folders that belong to the source: each layer's module, or its folder
    when the module is a package's (or a package's definitions.py)."""
    paths = []
    for layer in LAYERS:
        path = _path_of(getattr(entry, layer))
        paths.append(path.parent if path.name in ("__init__.py", "definitions.py") else path)
    return paths


@pytest.mark.parametrize("entry", BUILT_IN, ids=lambda e: e.name)
@pytest.mark.parametrize("layer", LAYERS)
def test_every_layer_offers_its_contract(entry: SourceEntry, layer: str) -> None:
    module = entry.load(layer)  # type: ignore[arg-type]
    missing = CONTRACT[layer] - set(dir(module))
    assert not missing, f"{getattr(entry, layer)} lacks {sorted(missing)}"


@pytest.mark.parametrize("layer", sorted(SAME_FILES))
def test_every_source_has_the_same_files_in_a_layer(layer: str) -> None:
    for entry in BUILT_IN:
        folder = _path_of(getattr(entry, layer)).parent
        files = {p.name for p in folder.glob("*.py")}
        missing = SAME_FILES[layer] - files
        assert not missing, f"{folder.relative_to(REPO)} lacks {sorted(missing)}"
        extra = files - SAME_FILES[layer] - set(EXTRA_FILES.get((layer, entry.name), ()))
        assert not extra, (
            f"{folder.relative_to(REPO)} has {sorted(extra)} beyond the shared modules: give the "
            "job its shared module, or list it in EXTRA_FILES with the job it does"
        )
        for name in files if layer == "connector" else ():
            tree = ast.parse((folder / name).read_text())
            assert ast.get_docstring(tree), f"{folder.relative_to(REPO)}/{name} says no job"


def _names_in_code(path: Path) -> set[tuple[str, str]]:
    """(kind, text) of a module's identifiers, imported module paths and string constants,
    without its docstrings and comments (which may mention a source as an example)."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(("identifier", node.id))
        elif isinstance(node, ast.Attribute):
            found.add(("identifier", node.attr))
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            found.add(("identifier", node.name))
        elif isinstance(node, ast.Import):
            found.update(("module", alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add(("module", node.module or ""))
            found.update(("identifier", alias.name) for alias in node.names)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            found.add(("string", node.value))
    return found


def _names_source(name: str, kind: str, text: str) -> bool:
    if name == "file":
        # An everyday word (`problem.file`, "a file"): only the source's name as a value, or a
        # module path through one of its folders, names the source.
        if kind == "string":
            return text == "file" or text.startswith("raw.file")
        return kind == "module" and re.search(r"(^|\.)file(\.|$)", text) is not None
    return name in text.lower()


def test_no_module_outside_a_sources_folders_names_it() -> None:
    sources = registered_sources()
    own = {path for entry in sources.values() for path in _own_paths(entry)}
    offenders = []
    for package in PRODUCT:
        for path in sorted((REPO / package).rglob("*.py")):
            if path.is_relative_to(REPO / "registry") or any(
                path == p or path.is_relative_to(p) for p in own if p.is_dir() or p == path
            ):
                continue
            names = _names_in_code(path)
            for name in sources:
                hits = sorted(text for kind, text in names if _names_source(name, kind, text))
                if hits and (str(path.relative_to(REPO)), name) not in NOT_A_SOURCE:
                    offenders.append(f"{path.relative_to(REPO)} names {name}: {hits[:5]}")
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("entry", DESTINATIONS, ids=lambda e: e.name)
def test_every_destination_has_both_layers(entry: DestinationEntry) -> None:
    entry.load("destination")
    definitions, _ = load_definitions(REPO / "okr_definitions")
    assert isinstance(entry.pipeline_builder()(definitions), dg.Definitions)


def test_the_code_location_merges_every_sources_definitions() -> None:
    definitions, _ = load_definitions(REPO / "okr_definitions")
    merged = build_definitions(definitions)
    keys = {key.to_user_string() for asset in merged.assets or [] for key in asset.keys}
    assert {f"raw/{name}" for name in definitions.used_sources()} <= keys
    # Each API source's resource comes from its own folder's Definitions.
    assert {"ga4", "matomo", "hubspot"} <= set(merged.resources or {})
