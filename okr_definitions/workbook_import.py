"""Turn the OKR tracker workbook a team keeps today into definitions (`okr import`).

One row per key result; headers in English or German, found case- and spacing-insensitively.
Read with python-calamine (merged objective cells via `merged_cell_ranges`). Typed-in current
values are never imported: a key result is measured only once its metric is bound to a source.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import python_calamine

from okr_definitions.workbook_files import (
    WorkbookFileError,
    check_workbook_file,
    column_letter,
    sheet_xml_bytes,
)

# Header (normalised: lower case, no spaces, dots or underscores) → field.
HEADERS = {
    "objective": "objective",
    "ziel": "objective",
    "keyresult": "key_result",
    "schlüsselergebnis": "key_result",
    "kr": "key_result",
    "team": "team",
    "owner": "team",
    "verantwortlich": "team",
    "quarter": "period",
    "period": "period",
    "quartal": "period",
    "zeitraum": "period",
    "baseline": "baseline",
    "start": "baseline",
    "ausgangswert": "baseline",
    "target": "target",
    "zielwert": "target",
    "current": "current",
    "aktuellerwert": "current",
    "value": "current",
    "unit": "unit",
    "einheit": "unit",
    "confidence": "confidence",
    "zuversicht": "confidence",
    "periodstart": "period_start",
    "periodend": "period_end",
    "objectiveid": "objective_id",
    "krid": "kr_id",
}
# A tracker of a thousand key results is well under a MiB of sheet XML; a sheet far larger (an
# export of a million rows picked by mistake) is refused before calamine would hold it whole.
MAX_TRACKER_XML_BYTES = 16 * 1024 * 1024
GERMAN_HEADERS = {"ziel", "schlüsselergebnis", "verantwortlich", "quartal", "zielwert"}
FIELDS = sorted(set(HEADERS.values()))


class ImportError_(ValueError):  # noqa: N801 - `ImportError` is Python's own
    """The workbook cannot be imported; the message names file, sheet and cell."""


@dataclass
class ImportedKeyResult:
    id: str
    title: str
    target: float | str | None
    baseline: float | str | None
    unit: str | None
    cell: str


@dataclass
class ImportedObjective:
    id: str
    title: str
    team: str
    period: str | dict[str, str]
    key_results: list[ImportedKeyResult] = field(default_factory=list)


@dataclass
class ImportResult:
    objectives: list[ImportedObjective]
    teams: list[str]
    unparsed: list[str]  # "Sheet1!E7: `about double` (target)": left for the user
    skipped_current: int  # typed-in "current" values seen and not imported


def normalise_header(text: object) -> str:
    return re.sub(r"[\s._\-/]+", "", str(text or "")).lower()


def slug(text: str, limit: int = 48) -> str:
    """An id from a title: lowercase ASCII letters, digits and `-`."""
    ascii_text = (
        unicodedata.normalize("NFKD", text.replace("ß", "ss")).encode("ascii", "ignore").decode()
    )
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return (words[:limit].rsplit("-", 1)[0] if len(words) > limit else words) or "item"


def cell_ref(sheet: str, row: int, col: int) -> str:
    """`Sheet1!E7` for 0-based row and column."""
    return f"{sheet}!{column_letter(col)}{row + 1}"


_NUMBER = re.compile(r"^[+-]?\d[\d.,']*$")


def parse_number(text: str, german: bool) -> float | None:
    """`1,5` / `3.200` (German) or `1.5` / `3,200` (English); None when not a plain number."""
    text = text.replace("\u00a0", "").replace(" ", "").replace("'", "")
    if not _NUMBER.match(text):
        return None
    thousands, decimal = (".", ",") if german else (",", ".")
    if text.count(decimal) > 1:
        return None
    whole = text.split(decimal)[0]
    grouped = r"[+-]?\d{1,3}(" + re.escape(thousands) + r"\d{3})+"
    if thousands in whole and not re.fullmatch(grouped, whole):
        return None  # "1.50" in German or "1,50" in English: not a thousands separator
    return float(text.replace(thousands, "").replace(decimal, "."))


_SCALE = {"k": 1e3, "tsd": 1e3, "m": 1e6, "mio": 1e6, "mn": 1e6}
_CURRENCIES = {"€": "€", "eur": "€", "$": "$", "usd": "$", "£": "£"}


def parse_target(value: object, german: bool) -> tuple[float | str | None, str | None]:
    """A target or baseline cell → (the definition's value, its unit), or (None, None).

    Unambiguous texts only: "ca. 40 %" → 40%, "+40 % ggü. Q2" → +40%, "1,5 s" → 1.5 s,
    "€600k" → 600000 €, "3.200" → 3200 (German). Anything else is left for the user.
    """
    if isinstance(value, bool) or value is None or value == "":
        return None, None
    if isinstance(value, int | float):
        return float(value), None
    text = str(value).strip()
    text = re.sub(r"^(ca\.?|circa|approx\.?|about|~|rund|etwa)\s*", "", text, flags=re.I)
    # a comparison after the number ("ggü. Q2", "vs. last quarter") names the reference period
    text = re.sub(r"\s*(ggü\.?|gegenüber|vs\.?|over|compared to)\b.*$", "", text, flags=re.I)
    match = re.fullmatch(
        r"(?P<cur1>€|\$|£)?\s*(?P<num>[+-]?\d[\d.,' \u00a0]*?)\s*"
        r"(?P<scale>k|tsd\.?|m|mio\.?|mn)?\s*(?P<unit>%|€|\$|£|eur|usd|s|ms|h|[a-zäöü]+)?",
        text,
        flags=re.I,
    )
    if not match:
        return None, None
    number = parse_number(match["num"], german)
    if number is None:
        return None, None
    scale = (match["scale"] or "").lower().rstrip(".")
    number *= _SCALE.get(scale, 1)
    unit = match["unit"]
    currency = match["cur1"] or (_CURRENCIES.get(unit.lower()) if unit else None)
    if unit == "%":
        signed = match["num"].lstrip()[0] in "+-"
        return f"{'+' if signed and number > 0 else ''}{number:g}%", "%"
    if currency:
        return number, currency
    return number, unit


def _period(value: object) -> str | None:
    """`Q3 2026`, `Q3/2026`, `2026-Q3`, `2026 Q3` → `2026-Q3`."""
    text = str(value or "")
    match = re.search(r"Q([1-4])\s*[/ -]?\s*(\d{4})", text, re.I)
    if match:
        return f"{match[2]}-Q{match[1]}"
    match = re.search(r"(\d{4})\s*[/ -]?\s*Q([1-4])", text, re.I)
    return f"{match[1]}-Q{match[2]}" if match else None


def read_workbook(
    path: Path,
    sheet: str | None = None,
    header_row: int | None = None,
    column_map: dict[str, str] | None = None,
    default_period: str | None = None,
) -> ImportResult:
    """The workbook's objectives and key results; ImportError_ names file, sheet and cell."""
    try:
        check_workbook_file(path)
        book = python_calamine.CalamineWorkbook.from_path(str(path))
    except WorkbookFileError as exc:
        raise ImportError_(str(exc)) from None
    except Exception as exc:  # calamine's own errors (PasswordError, zip errors)
        raise ImportError_(f"{path.name}: cannot read the workbook ({exc})") from None
    name = sheet or book.sheet_names[0]
    if name not in book.sheet_names:
        raise ImportError_(
            f"{path.name}: no sheet `{name}` (sheets: {', '.join(book.sheet_names)}); use --sheet"
        )
    size = sheet_xml_bytes(path, name)
    if size > MAX_TRACKER_XML_BYTES:
        raise ImportError_(
            f"{path.name}: sheet `{name}` holds {size / 2**20:.0f} MiB of cells, far more than an "
            f"OKR tracker (okr import reads up to {MAX_TRACKER_XML_BYTES // 2**20} MiB); pick "
            "the tracker's sheet with --sheet or copy it into a workbook of its own"
        )
    worksheet = book.get_sheet_by_name(name)
    rows = worksheet.to_python(skip_empty_area=False)
    mapping = {normalise_header(k): v for k, v in HEADERS.items()}
    for header, target in (column_map or {}).items():
        if target not in FIELDS:
            raise ImportError_(f"--map {header}={target}: the field is one of {', '.join(FIELDS)}")
        mapping[normalise_header(header)] = target
    header_index = _find_header(rows, mapping, header_row, path, name)
    headers = [normalise_header(c) for c in rows[header_index]]
    columns = {mapping[h]: i for i, h in enumerate(headers) if h in mapping}
    german = any(h in GERMAN_HEADERS for h in headers)
    merged = _merged_fill(worksheet)

    def cell(row: int, key: str) -> object:
        col = columns.get(key)
        if col is None:
            return None
        value = rows[row][col] if col < len(rows[row]) else ""
        if value == "" and (row, col) in merged:
            return rows[merged[(row, col)][0]][merged[(row, col)][1]]
        return value

    objectives: dict[str, ImportedObjective] = {}
    unparsed: list[str] = []
    kr_titles: dict[str, str] = {}
    skipped_current = 0
    teams: list[str] = []
    last_objective: str | None = None
    blank_row: int | None = None
    for row in range(header_index + 1, len(rows)):
        if all(v == "" for v in rows[row]):
            blank_row = row if blank_row is None else blank_row
            continue
        if blank_row is not None:
            raise ImportError_(
                f"{path.name}: sheet `{name}` row {blank_row + 1} is empty between key-result "
                "rows; delete the empty row"
            )
        title = str(cell(row, "key_result") or "").strip()
        objective_title = str(cell(row, "objective") or "").strip() or last_objective
        if not title:
            continue
        if not objective_title:
            raise ImportError_(
                f"{path.name}: {cell_ref(name, row, columns['objective'])}: no objective for "
                f"key result `{title}`; fill it in or merge the objective's cells"
            )
        last_objective = objective_title
        ref = cell_ref(name, row, columns["key_result"])
        kr_id = str(cell(row, "kr_id") or "") or slug(title)
        if kr_id in kr_titles:
            raise ImportError_(
                f"{path.name}: {ref}: key result `{title}` appears twice (also "
                f"{kr_titles[kr_id]}); give one a different title"
            )
        kr_titles[kr_id] = ref
        if cell(row, "current") not in (None, ""):
            skipped_current += 1
        team = slug(str(cell(row, "team") or "team"))
        if team not in teams:
            teams.append(team)
        objective_id = str(cell(row, "objective_id") or "") or slug(objective_title)
        if objective_id not in objectives:
            objectives[objective_id] = ImportedObjective(
                objective_id,
                objective_title,
                team,
                _row_period(cell, row, german)
                or default_period
                or _missing_period(path, name, row, columns),
            )
        values = {}
        unit = str(cell(row, "unit") or "").strip() or None
        for key in ("target", "baseline"):
            raw = cell(row, key)
            parsed, parsed_unit = parse_target(raw, german)
            if parsed is None and raw not in (None, ""):
                unparsed.append(f"{cell_ref(name, row, columns[key])}: `{raw}` ({key})")
            values[key] = parsed
            unit = unit or parsed_unit
        objectives[objective_id].key_results.append(
            ImportedKeyResult(kr_id, title, values["target"], values["baseline"], unit, ref)
        )
    if not objectives:
        raise ImportError_(f"{path.name}: sheet `{name}` has no key-result rows below the header")
    return ImportResult(list(objectives.values()), teams, unparsed, skipped_current)


def _row_period(cell, row: int, german: bool) -> str | dict[str, str] | None:
    start, end = cell(row, "period_start"), cell(row, "period_end")
    if isinstance(start, date | datetime) and isinstance(end, date | datetime):
        as_dates = [d.date() if isinstance(d, datetime) else d for d in (start, end)]
        return {"start": as_dates[0].isoformat(), "end": as_dates[1].isoformat()}
    return _period(cell(row, "period"))


def _missing_period(path: Path, sheet: str, row: int, columns: dict[str, int]) -> str:
    where = cell_ref(sheet, row, columns["period"]) if "period" in columns else f"row {row + 1}"
    raise ImportError_(
        f"{path.name}: {where}: no period (like `Q3 2026`); fill in the Quarter column or "
        "pass --period 2026-Q3"
    )


def _find_header(rows, mapping, header_row, path: Path, sheet: str) -> int:
    """The given header row, or the first of the top 20 rows naming objective and key result."""
    candidates = [header_row - 1] if header_row else range(min(len(rows), 20))
    for index in candidates:
        if index >= len(rows):
            break
        found = {mapping.get(normalise_header(c)) for c in rows[index]}
        if {"objective", "key_result"} <= found:
            return index
    where = f"row {header_row}" if header_row else "rows 1-20"
    raise ImportError_(
        f"{path.name}: sheet `{sheet}` {where}: no header row with an Objective/Ziel and a "
        'Key Result/Schlüsselergebnis column; use --header-row or --map "Header=key_result"'
    )


def _merged_fill(worksheet) -> dict[tuple[int, int], tuple[int, int]]:
    """Each cell covered by a merged range → the range's top-left cell."""
    covered: dict[tuple[int, int], tuple[int, int]] = {}
    for (top, left), (bottom, right) in worksheet.merged_cell_ranges or []:
        for r in range(top, bottom + 1):
            for c in range(left, right + 1):
                covered[(r, c)] = (top, left)
    return covered


def definitions_yaml(result: ImportResult, organisation: str) -> dict:
    """The definitions as one YAML document (organisation, teams, objectives; no metrics:
    each key result names a metric to bind, which `okr validate` reports until it is)."""
    objectives = []
    for objective in result.objectives:
        krs = []
        for kr in objective.key_results:
            entry: dict[str, object] = {"id": kr.id, "title": kr.title, "metric": kr.id}
            # `null` where the workbook's text could not be read: `okr validate` asks for it
            # next to the metric to bind (the import report names the cell)
            entry["target"] = kr.target
            if kr.baseline is not None:
                entry["baseline"] = kr.baseline
            if kr.unit:
                entry["unit"] = kr.unit
            krs.append(entry)
        objectives.append(
            {
                "id": objective.id,
                "title": objective.title,
                "team": objective.team,
                "period": objective.period,
                "key_results": krs,
            }
        )
    return {
        "organisation": {"name": organisation, "timezone": "UTC"},
        "teams": [{"id": team, "name": team.replace("-", " ").title()} for team in result.teams],
        "metrics": [],
        "objectives": objectives,
    }
