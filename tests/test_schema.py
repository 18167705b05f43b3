"""The committed JSON Schema is the one the models generate (editors read the file)."""

import json

from okr_definitions.schema import SCHEMA_PATH, definition_schema


def test_committed_schema_is_current() -> None:
    assert json.loads(SCHEMA_PATH.read_text()) == definition_schema(), (
        "okr_definitions/okr-definitions.schema.json is out of date: run `okr schema`"
    )


def test_schema_describes_key_results() -> None:
    schema = definition_schema()
    kr = schema["$defs"]["KeyResult"]
    assert {"id", "metric", "measure", "baseline", "target", "direction"} <= set(kr["properties"])
    assert kr["additionalProperties"] is False
