"""Charts of the check-in report: Vega-Lite specs built with Altair, rendered to SVG.

Rendering to SVG here (vl-convert runs Vega in-process) instead of shipping the Vega
JavaScript keeps the report one small file that opens offline, in any browser or mail client,
with no script to run and no request leaving the machine.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import altair as alt
import vl_convert as vlc

from reports.formatting import STATUS_COLOUR, STATUS_LABEL, format_share, is_level
from reports.weekly import KeyResultReport, WeeklyReport
from warehouse.status import STATUS_ORDER

TEXT = "#2c3e50"
MUTED = "#7f8c8d"
WEEK_BAND = "#e8eef6"
# The report's layout widths (reports/html.py CSS): a chart is drawn at the width it is shown
# at, so the browser never scales its text down. A key result's chart fits a 390 px phone
# (its card leaves 339 px); the overview comes wide (its card at 1280 px leaves 1098 px) and
# narrow (356 px on a 390 px phone).
KR_CHART_WIDTH = 330
OVERVIEW_WIDE = 1090
OVERVIEW_NARROW = 340
FONT_SIZE = 12  # every chart label: the browser tests hold the page to at least 11 px
# Progress is unclamped (a key result can fall far below its baseline); beyond these bounds
# the line is clipped so one bad key result does not flatten every other detail.
Y_FLOOR, Y_CEILING = -0.5, 1.5


def _iso(day: date) -> str:
    return day.isoformat()


def _x(start: date, end: date) -> alt.X:
    # utc everywhere: a date is a calendar day, not an instant in the renderer's time zone
    return alt.X(
        "date:T",
        title=None,
        scale=alt.Scale(type="utc", domain=[_iso(start), _iso(end)]),
        axis=alt.Axis(format="%-d %b", formatType="utc", labelAngle=0, tickCount=6, grid=False),
    )


def _pace_at_end(kr: KeyResultReport) -> float:
    """Where the expected pace ends: 1.0 for committed, the aspirational pace otherwise."""
    row = kr.row
    days = (row["period_end"] - row["period_start"]).days + 1
    elapsed = min(days, max(1, (row["as_of_date"] - row["period_start"]).days + 1))
    return row["expected_progress"] * days / elapsed


def _domain(values: list[float]) -> list[float]:
    low = max(Y_FLOOR, min([0.0, *values]))
    high = min(Y_CEILING, max([1.0, *values]))
    return [low, high]


# the whole chart — axes, labels, legend — inside the given width, not the plot area alone
_FIT = alt.AutoSizeParams(type="fit", contains="padding")


def _named(name: str) -> alt.NamedData:
    return alt.NamedData(name=name)


def _with_datasets(chart: alt.TopLevelMixin, datasets: dict[str, list[dict[str, Any]]]) -> dict:
    """The spec with its data as top-level named datasets. Altair deep-copies inline values
    at every layer and encoding (most of the render time for a quarter of daily points);
    named data is referenced instead, and the values are attached once."""
    spec = chart.to_dict(validate=False)
    spec["datasets"] = datasets
    return spec


def kr_chart_spec(kr: KeyResultReport, week_start: date) -> dict[str, Any]:
    """Progress over the period against the expected-pace line and the target (1.0)."""
    row = kr.row
    start, end = row["period_start"], row["period_end"]
    pace = _pace_at_end(kr)
    days = (end - start).days + 1
    actual = [
        {"date": _iso(p["as_of_date"]), "progress": p["progress"]}
        for p in kr.series
        if p["progress"] is not None
    ]
    expected = [
        {"date": _iso(start), "progress": pace / days},
        {"date": _iso(end), "progress": pace},
    ]
    band = {
        "from": _iso(max(week_start, start)),
        "to": _iso(min(week_start + timedelta(days=7), end)),
    }
    colour = STATUS_COLOUR.get(kr.status, TEXT)
    y = alt.Y(
        "progress:Q",
        title=None,
        scale=alt.Scale(domain=_domain([p["progress"] for p in actual]), clamp=True),
        axis=alt.Axis(format="%", tickCount=5, gridColor="#eceff1"),
    )
    x = _x(start, end)
    datasets: dict[str, list[dict[str, Any]]] = {
        "band": [band],
        "target": [{"y": 1.0}],
        "expected": expected,
        "pace_label": [{"date": _iso(end), "progress": pace, "label": "pace"}],
        "target_label": [{"date": _iso(start), "progress": 1.0, "label": "target"}],
        "actual": actual,
    }
    pace_layers = [
        alt.Chart(_named("expected"))
        .mark_line(color=MUTED, strokeDash=[6, 4], strokeWidth=1.5)
        .encode(x=x, y=y),
        alt.Chart(_named("pace_label"))
        .mark_text(align="right", dx=-2, dy=-7, color=MUTED, fontSize=FONT_SIZE)
        .encode(x=x, y=y, text="label:N"),
    ]
    if is_level(row):
        # A level must hold every day: the line at 100 % is the level, there is no ramp.
        pace_layers = []
        del datasets["expected"], datasets["pace_label"]
        datasets["target_label"][0]["label"] = "level"
    layers = [
        alt.Chart(_named("band"))
        .mark_rect(color=WEEK_BAND)
        .encode(x=alt.X("from:T", scale=alt.Scale(type="utc")), x2="to:T"),
        alt.Chart(_named("target"))
        .mark_rule(color=TEXT, strokeDash=[2, 3], opacity=0.7)
        .encode(y="y:Q"),
        *pace_layers,
        alt.Chart(_named("target_label"))
        .mark_text(align="left", dx=2, dy=-6, color=TEXT, fontSize=FONT_SIZE, opacity=0.8)
        .encode(x=x, y=y, text="label:N"),
    ]
    if actual:
        datasets["last"] = [{**actual[-1], "label": format_share(actual[-1]["progress"])}]
        layers += [
            alt.Chart(_named("actual"))
            .mark_line(color=colour, strokeWidth=2.5, clip=True)
            .encode(x=x, y=y),
            alt.Chart(_named("last"))
            .mark_point(color=colour, filled=True, size=45)
            .encode(x=x, y=y),
            alt.Chart(_named("last"))
            .mark_text(
                align="left", dx=6, dy=0, color=colour, fontWeight="bold", fontSize=FONT_SIZE
            )
            .encode(x=x, y=y, text="label:N"),
        ]
    chart = (
        alt.layer(*layers)
        # padding on the right: room for the last value's label, right of the line
        .properties(
            width=KR_CHART_WIDTH,
            height=150,
            background="white",
            autosize=_FIT,
            padding={"left": 5, "top": 5, "bottom": 5, "right": 34},
        )
        .configure_view(stroke=None)
        .configure_axis(
            labelColor=MUTED,
            domainColor="#cfd8dc",
            tickColor="#cfd8dc",
            labelFontSize=FONT_SIZE,
        )
    )
    return _with_datasets(chart, datasets)


def overview_spec(report: WeeklyReport, narrow: bool = False) -> dict[str, Any]:
    """One bar per key result, labelled by its title: progress (colour = status), a tick at
    the expected pace, a dotted line at the target. Wide: titles on the axis, the width of
    the report's card at 1280 px; `narrow` (a phone): each title above its bar."""
    rows = []
    for kr in report.key_results:
        progress = kr["progress"]
        rows.append(
            {
                "kr": kr.kr_id,
                "title": kr["title"],
                "progress": max(Y_FLOOR, min(Y_CEILING, progress)) if progress is not None else 0,
                "label": format_share(progress),
                "expected": kr["expected_progress"],
                "status": STATUS_LABEL.get(kr.status, kr.status),
            }
        )
    statuses = [STATUS_LABEL[s] for s in STATUS_ORDER]
    domain = _domain([r["progress"] for r in rows])
    # by id (titles may repeat), in the report's order: worst objective first
    y = alt.Y(
        "kr:N",
        sort=[r["kr"] for r in rows],
        title=None,
        axis=(
            None
            if narrow
            else alt.Axis(
                labelExpr="titles[datum.value] || datum.value",
                labelLimit=380,
                labelColor=TEXT,
                labelFontSize=FONT_SIZE,
                domain=False,
                ticks=False,
            )
        ),
    )
    shift = 8 if narrow else 0  # narrow: the bar sits below its title
    base = alt.Chart(_named("rows")).encode(y=y)
    layers = [
        base.mark_bar(height=14, cornerRadiusEnd=2, yOffset=shift).encode(
            x=alt.X(
                "progress:Q",
                title="progress (tick: expected pace; line: target)",
                scale=alt.Scale(domain=domain),
                axis=alt.Axis(
                    format="%",
                    gridColor="#eceff1",
                    titleColor=MUTED,
                    labelFontSize=FONT_SIZE,
                    titleFontSize=FONT_SIZE,
                ),
            ),
            color=alt.Color(
                "status:N",
                scale=alt.Scale(domain=statuses, range=[STATUS_COLOUR[s] for s in STATUS_ORDER]),
                legend=alt.Legend(
                    orient="bottom",
                    title=None,
                    direction="horizontal",
                    columns=3 if narrow else 0,
                    labelFontSize=FONT_SIZE,
                ),
            ),
        ),
        base.mark_tick(color=TEXT, thickness=2, size=20, yOffset=shift).encode(x="expected:Q"),
        alt.Chart(_named("target"))
        .mark_rule(color=TEXT, strokeDash=[2, 3], opacity=0.7)
        .encode(x="y:Q"),
        base.mark_text(align="left", dx=4, yOffset=shift, color=TEXT, fontSize=FONT_SIZE).encode(
            x="progress:Q", text="label:N"
        ),
    ]
    if narrow:
        layers.append(
            base.mark_text(
                align="left", baseline="bottom", dy=-2, color=TEXT, fontSize=FONT_SIZE, limit=320
            ).encode(x=alt.datum(domain[0]), text="title:N")
        )
    chart = alt.layer(*layers).properties(
        width=OVERVIEW_NARROW if narrow else OVERVIEW_WIDE,
        height=alt.Step(46 if narrow else 28),
        background="white",
        autosize=_FIT,
    )
    if not narrow:
        titles = {r["kr"]: r["title"] for r in rows}
        chart = chart.add_params(alt.param(name="titles", value=titles))
    spec = _with_datasets(chart.configure_view(stroke=None), {"rows": rows, "target": [{"y": 1.0}]})
    return spec


def to_svg(spec: dict[str, Any]) -> str:
    """The chart as an SVG element to inline (no XML prolog, no external references)."""
    svg = vlc.vegalite_to_svg(spec)
    return svg.removeprefix('<?xml version="1.0" encoding="utf-8"?>').strip()
