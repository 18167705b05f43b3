"""What every benchmark shares: timing, child processes, the machine, and RESULTS.md.

Figures are ratios measured side by side in one run; each side is repeated and the median
kept, because the machine is shared (2 cores, other people's tests) and one sample is noise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS_MD = Path(__file__).resolve().parent / "RESULTS.md"
RESULTS_JSON = Path(__file__).resolve().parent / "results.json"
DEFAULT_REPEATS = 3


@dataclass
class Figure:
    """One measured figure: ours against its reference, as a ratio, with the target."""

    key: str
    title: str
    ours: str
    reference: str
    ratio: float
    target: str
    met: bool
    command: str
    details: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        verdict = "met" if self.met else "MISSED"
        return (
            f"{self.title}: {self.ours} vs {self.reference} -> ratio {self.ratio:.2f} "
            f"(target {self.target}, {verdict})"
        )


# --- timing ------------------------------------------------------------------------------------


def seconds(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time of one call and its result."""
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def paired_rounds(
    runs: dict[str, list[dict[str, Any]]], ours: str = "ours", reference: str = "bare_loop"
) -> tuple[float, float, dict[str, Any]]:
    """(ratio, CPU ratio, details) of interleaved rounds: each round's pair, then the median
    (load on the shared machine moves a pair alike); the details hold every contender's
    seconds, CPU seconds (its process's, threads too) and peak RSS, round by round."""
    pairs = list(zip(runs[ours], runs[reference], strict=True))
    ratio = median([x["seconds"] / y["seconds"] for x, y in pairs])
    cpu_ratio = median([x["cpu_seconds"] / y["cpu_seconds"] for x, y in pairs])
    details = {
        "seconds": {n: [round(r["seconds"], 3) for r in rs] for n, rs in runs.items()},
        "median_seconds": {
            n: round(median([r["seconds"] for r in rs]), 3) for n, rs in runs.items()
        },
        "cpu_seconds": {n: [round(r["cpu_seconds"], 3) for r in rs] for n, rs in runs.items()},
        "cpu_ratio": round(cpu_ratio, 2),
        "peak_rss_mib": {n: [round(r["peak_rss_mib"], 1) for r in rs] for n, rs in runs.items()},
    }
    return ratio, cpu_ratio, details


def peak_rss_mib() -> float:
    """This process's own peak resident set size so far, in MiB.

    Linux's `VmHWM` (the high-water mark of this process's memory map). Not `ru_maxrss`: a
    child started by `subprocess` (vfork + exec) inherits in `ru_maxrss` the parent's peak at
    the moment of the exec, so every child of a parent that serves a large sandbox would
    report the parent's size, growing round after round. `ru_maxrss` (KiB on Linux) only
    where /proc is missing.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- child processes ---------------------------------------------------------------------------


def run_child(module: str, payload: dict[str, Any], timeout: float = 1800) -> dict[str, Any]:
    """Run `python -m <module> --child '<payload>'` and return the JSON it prints last.

    A contender runs in its own fresh process so its peak RSS is its own and nothing it
    imported or cached helps the next one.
    """
    completed = subprocess.run(
        [sys.executable, "-m", module, "--child", json.dumps(payload)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"{module} child failed ({completed.returncode}):\n{completed.stderr[-4000:]}"
        )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{module} child printed no result:\n{completed.stdout[-2000:]}")
    return dict(json.loads(lines[-1]))


def child_main(handler: Callable[[dict[str, Any]], dict[str, Any]], argv: list[str]) -> bool:
    """In a child: run `handler(payload)`, add the peak RSS, print one JSON line. Returns
    False when argv does not ask for a child run."""
    if len(argv) < 2 or argv[0] != "--child":
        return False
    result = handler(json.loads(argv[1]))
    result["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(result, default=str), flush=True)
    return True


# --- the machine -------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def machine() -> dict[str, Any]:
    import dagster
    import duckdb
    import pyarrow

    return {
        "cores": os.cpu_count(),
        "ram_gib": round(_ram_gib(), 1),
        "cpu": _cpu_model(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "os": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "dagster": dagster.__version__,
        "pyarrow": pyarrow.__version__,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# --- RESULTS.md --------------------------------------------------------------------------------


def record(
    figures: list[Figure],
    notes: dict[str, str],
    results_json: Path = RESULTS_JSON,
    results_md: Path = RESULTS_MD,
) -> None:
    """Merge these figures (and their benchmark's notes) into results.json, rewrite RESULTS.md."""
    data: dict[str, Any] = {"figures": {}, "notes": {}}
    if results_json.exists():
        data = json.loads(results_json.read_text())
    data["machine"] = machine()
    for figure in figures:
        data["figures"][figure.key] = {**asdict(figure), "recorded": data["machine"]["date"]}
    data["notes"].update(notes)
    results_json.write_text(json.dumps(data, indent=2, default=str) + "\n")
    results_md.write_text(render(data))


ORDER = [
    "ingest",
    "transform",
    "incremental",
    "pipeline_overhead",
    "cold_start",
    "api_economy",
    "publish",
]


def _order(key: str) -> tuple[int, str]:
    for i, prefix in enumerate(ORDER):
        if key.startswith(prefix):
            return i, key
    return len(ORDER), key


def render(data: dict[str, Any]) -> str:
    m = data["machine"]
    out = [
        "# okr-sync benchmarks",
        "",
        "Every figure is a ratio of two measurements taken side by side in the same run (each "
        "the median of several repetitions, see `repeats`), because absolute times on a shared "
        "2-core machine are noise. Regenerate everything with "
        "`python -m benchmarks.run_all` from the repository root (a fresh clone needs "
        '`pip install -e ".[dev]"` first); each figure\'s own command is in its row.',
        "",
        "## Machine",
        "",
        f"- {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['cpu']}",
        f"- load average (1, 5, 15 min) when recorded: {m['load_average']} "
        "(other people's tests share the machine)",
        f"- {m['os']}",
        f"- Python {m['python']}, DuckDB {m['duckdb']}, Dagster {m['dagster']}, "
        f"pyarrow {m['pyarrow']}",
        f"- recorded {m['date']}",
        "",
        "## Figures",
        "",
        "| figure | ours | reference | ratio | target | met | recorded |",
        "|---|---|---|---|---|---|---|",
    ]
    figures = sorted(data["figures"].values(), key=lambda f: _order(f["key"]))
    for f in figures:
        out.append(
            f"| {f['title']} | {f['ours']} | {f['reference']} | **{f['ratio']:.2f}** | "
            f"{f['target']} | {'yes' if f['met'] else '**no**'} | {f['recorded']} |"
        )
    out += ["", "## Commands", ""]
    seen: set[str] = set()
    for f in figures:
        if f["command"] not in seen:
            seen.add(f["command"])
            out.append(f"- `{f['command']}`")
    out += ["", "## Details", ""]
    for f in figures:
        out.append(f"### {f['title']}")
        out.append("")
        out.append("```json")
        out.append(json.dumps(f["details"], indent=2, default=str))
        out.append("```")
        out.append("")
    out += ["## Notes: method, fixes, and what remains", ""]
    for key in sorted(data["notes"], key=_order):
        out.append(data["notes"][key].strip())
        out.append("")
    return "\n".join(out).rstrip() + "\n"


# --- command line ------------------------------------------------------------------------------


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--scale", choices=["full", "tiny"], default="full")
    p.add_argument("--repeats", type=int, default=DEFAULT_REPEATS)
    p.add_argument(
        "--no-record", action="store_true", help="print the figures, leave RESULTS.md alone"
    )
    return p


def report(figures: list[Figure], notes: dict[str, str], write: bool) -> None:
    for figure in figures:
        print(figure.line(), flush=True)
        if not write:  # nothing recorded: the details are only here
            print(json.dumps(figure.details, indent=2), flush=True)
    if write:
        record(figures, notes)


def benchmark_main(
    doc: str,
    measure: Callable[[dict[str, Any]], dict[str, Any]],
    run: Callable[[str, int], list[Figure]],
    notes: dict[str, str],
    argv: list[str] | None = None,
) -> None:
    """The command line every benchmark shares: a measuring child, or the parent that runs
    the children and records the figures."""
    argv = sys.argv[1:] if argv is None else argv
    if child_main(measure, argv):
        return
    args = parser(doc.splitlines()[0]).parse_args(argv)
    report(run(args.scale, args.repeats), notes, write=not args.no_record)
