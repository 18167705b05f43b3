"""An okr-sync source in a package of its own: the registry entry names one module per layer."""

from registry.sources import SourceEntry

SOURCE = SourceEntry(
    name="example",
    definitions="okr_example_source.definitions",
    connector="okr_example_source.connector",
    sandbox="okr_example_source.sandbox",
    warehouse="okr_example_source.warehouse",
    pipeline="okr_example_source.pipeline",
)
