"""The bundled definitions folder, every command's default: importable without the definition
models (pydantic), which `okr status` and `okr sql` never need."""

from pathlib import Path

DEFAULT_DIR = Path(__file__).parent
