"""The JSON Schema of the definition format, generated from the pydantic models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from okr_definitions.model import DefinitionFile

SCHEMA_PATH = Path(__file__).parent / "okr-definitions.schema.json"


def definition_schema() -> dict[str, Any]:
    schema = DefinitionFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "okr-sync definitions"
    return schema


def write_schema(path: Path = SCHEMA_PATH) -> None:
    path.write_text(json.dumps(definition_schema(), indent=2, ensure_ascii=False) + "\n")
