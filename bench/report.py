"""The benchmark's outputs: console tables, target checks, Markdown and a PNG chart."""

from __future__ import annotations

import math
import os
import platform
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from .server import PROJECT_ROOT
from .suite import ADD_PLAYERS, RECOMMEND_MALE, Measurement, Results

DATABASE_TITLES = {"sqlite": "SQLite", "mariadb": "MariaDB"}
PACKAGES = (
    "connexion",
    "flask",
    "sqlalchemy",
    "uvicorn",
    "uvloop",
    "httptools",
    "gunicorn",
    "a2wsgi",
)

# The targets the service is held to, each a ratio within one run.
RECOMMEND_RATIO_MIN = 0.75
P99_OVER_P50_MAX = 5.0
WRITE_RATIO_MIN = 0.35
SCALING_COST_MAX = 1.3
WORKER_RSS_MAX_MIB = 100
TOTAL_RSS_MAX_MIB = 300


@dataclass(frozen=True)
class Check:
    target: str
    measured: str
    passed: bool


def machine_info() -> dict[str, object]:
    """Describe the machine, software versions and source revision behind the figures."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    meminfo = Path("/proc/meminfo").read_text().split()
    memory_gib = int(meminfo[meminfo.index("MemTotal:") + 1]) / 1024 / 1024
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": versions,
        "wrk": _command_output(["wrk", "--version"]).splitlines()[0:1],
        "revision": _command_output(["git", "describe", "--always", "--dirty"]).strip(),
        "load_average": list(os.getloadavg()),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _command_output(command: list[str]) -> str:
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, cwd=PROJECT_ROOT, check=False
        )
    except OSError:
        return ""
    return completed.stdout or completed.stderr


def _target_connections(rows: list[Measurement]) -> int:
    connections = sorted({m.connections for m in rows})
    return 64 if 64 in connections else connections[-1]


def _find(rows: list[Measurement], endpoint: str, connections: int) -> Measurement | None:
    return next((m for m in rows if m.endpoint == endpoint and m.connections == connections), None)


def check_targets(results: Results) -> list[Check]:
    """Compare one run's figures with the service's performance targets."""
    checks = []
    for database, rows in results.tables.items():
        title = DATABASE_TITLES.get(database, database)
        connections = _target_connections(rows)
        recommend = _find(rows, RECOMMEND_MALE, connections)
        if recommend and recommend.ratio_to_health is not None:
            spread = recommend.p99_ms / recommend.p50_ms if recommend.p50_ms else math.inf
            checks.append(
                Check(
                    f"{title}: {RECOMMEND_MALE} at {connections} connections >= "
                    f"{RECOMMEND_RATIO_MIN} of /health, no errors, "
                    f"p99 < {P99_OVER_P50_MAX:g} x p50",
                    f"{recommend.ratio_to_health:.2f} of /health, {recommend.errors} errors, "
                    f"p99 = {spread:.1f} x p50",
                    recommend.ratio_to_health >= RECOMMEND_RATIO_MIN
                    and recommend.errors == 0
                    and spread < P99_OVER_P50_MAX,
                )
            )
        if database == "mariadb":
            for m in rows:
                if m.endpoint == ADD_PLAYERS and m.ratio_to_health is not None:
                    checks.append(
                        Check(
                            f"{title}: {ADD_PLAYERS} at {m.connections} connections >= "
                            f"{WRITE_RATIO_MIN} of /health",
                            f"{m.ratio_to_health:.2f} of /health, {m.errors} errors",
                            m.ratio_to_health >= WRITE_RATIO_MIN and m.errors == 0,
                        )
                    )

    for database, rows in results.scaling.items():
        if len(rows) < 2:
            continue
        small, large = rows[0], rows[-1]
        cost = large.cpu_ms_per_request / small.cpu_ms_per_request
        slowdown = small.requests_per_s / large.requests_per_s
        checks.append(
            Check(
                f"{DATABASE_TITLES.get(database, database)}: {large.activities:,} activities cost "
                f"<= {SCALING_COST_MAX} x {small.activities:,} per recommendation",
                f"CPU per request {cost:.2f} x, throughput {slowdown:.2f} x lower",
                cost <= SCALING_COST_MAX and slowdown <= SCALING_COST_MAX,
            )
        )

    for database, memory in results.memory.items():
        worker = float(memory["worker_peak_mib"])  # type: ignore[arg-type]
        total = float(memory["total_peak_mib"])  # type: ignore[arg-type]
        checks.append(
            Check(
                f"{DATABASE_TITLES.get(database, database)}: peak RSS <= {WORKER_RSS_MAX_MIB} MiB "
                f"per worker, master + workers < {TOTAL_RSS_MAX_MIB} MiB",
                f"{worker:.0f} MiB per worker, {total:.0f} MiB in total",
                worker <= WORKER_RSS_MAX_MIB and total < TOTAL_RSS_MAX_MIB,
            )
        )
    return checks


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


COLUMNS = ("endpoint", "conns", "req/s", "vs /health", "p50 ms", "p99 ms", "errors", "CPU ms/req")


def _cells(m: Measurement) -> tuple[str, ...]:
    return (
        m.endpoint,
        str(m.connections),
        f"{m.requests_per_s:,.0f}",
        _ratio(m.ratio_to_health),
        f"{m.p50_ms:.2f}",
        f"{m.p99_ms:.2f}",
        str(m.errors + m.worker_restarts),
        f"{m.cpu_ms_per_request:.3f}",
    )


def _scaling_cells(m: Measurement, base: Measurement) -> tuple[str, ...]:
    return (
        f"{m.activities:,}",
        f"{m.requests_per_s:,.0f}",
        f"{base.requests_per_s / m.requests_per_s:.2f}",
        f"{m.cpu_ms_per_request:.3f}",
        f"{m.cpu_ms_per_request / base.cpu_ms_per_request:.2f}",
        f"{m.p99_ms:.2f}",
        str(m.errors),
    )


SCALING_COLUMNS = (
    "activities",
    "req/s",
    "slowdown",
    "CPU ms/req",
    "CPU vs smallest",
    "p99 ms",
    "errors",
)


def _text_table(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    table = [columns, *rows]
    widths = [max(len(cells[i]) for cells in table) for i in range(len(columns))]

    def line(cells: tuple[str, ...]) -> str:
        # The first column is text, aligned left; the rest are numbers, aligned right.
        padded = [cells[0].ljust(widths[0])]
        padded += [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join(padded)

    return "\n".join(line(cells) for cells in table)


def _markdown_table(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    header = "| " + " | ".join(columns) + " |"
    rule = "| " + " | ".join("---" if i == 0 else "---:" for i in range(len(columns))) + " |"
    return "\n".join([header, rule, *("| " + " | ".join(row) + " |" for row in rows)])


def _memory_line(memory: dict[str, object]) -> str:
    workers = ", ".join(f"{peak:.0f}" for peak in memory["workers_peak_mib"])  # type: ignore[attr-defined]
    return (
        f"peak RSS: master {memory['master_peak_mib']:.0f} MiB, workers {workers} MiB, "
        f"all together {memory['total_peak_mib']:.0f} MiB"
    )


def render(results: Results, fmt: str) -> str:
    """Render every table in `fmt` ('text' or 'markdown')."""
    make_table = _text_table if fmt == "text" else _markdown_table
    heading = (lambda s: f"== {s}") if fmt == "text" else (lambda s: f"### {s}")
    parts = []
    if results.floor:
        parts += [
            heading("Connexion's floor: a no-op FlaskApp endpoint, default middleware"),
            make_table(COLUMNS, [_cells(m) for m in results.floor]),
        ]
    for database, rows in results.tables.items():
        title = DATABASE_TITLES.get(database, database)
        parts += [
            heading(f"{title}, {rows[0].activities} activities"),
            make_table(COLUMNS, [_cells(m) for m in rows]),
        ]
        if database in results.memory:
            parts.append(_memory_line(results.memory[database]))
    for database, rows in results.scaling.items():
        title = DATABASE_TITLES.get(database, database)
        parts += [
            heading(
                f"{title}: {RECOMMEND_MALE} at {rows[0].connections} connections, by catalogue size"
                + (f" (median of {rows[0].median_of} runs)" if rows[0].median_of > 1 else "")
            ),
            make_table(SCALING_COLUMNS, [_scaling_cells(m, rows[0]) for m in rows]),
        ]
    for database, reason in results.skipped.items():
        parts.append(f"{DATABASE_TITLES.get(database, database)} skipped: {reason}")
    return "\n\n".join(parts)


def render_checks(checks: list[Check], fmt: str) -> str:
    if fmt == "text":
        return "\n".join(
            f"{'PASS' if c.passed else 'FAIL'}  {c.target}: {c.measured}" for c in checks
        )
    rows = [(c.target, c.measured, "met" if c.passed else "**not met**") for c in checks]
    return _markdown_table(("target", "measured", "result"), rows)


def write_chart(results: Results, path: Path) -> None:
    """Draw requests/s per endpoint for each database, and the catalogue-size series."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    databases = list(results.tables)
    panels = len(databases) + (1 if results.scaling else 0)
    figure, axes = plt.subplots(1, max(panels, 1), figsize=(6.5 * max(panels, 1), 5), squeeze=False)
    for axis, database in zip(axes[0], databases, strict=False):
        rows = results.tables[database]
        endpoints = list(dict.fromkeys(m.endpoint for m in rows))
        connections = sorted({m.connections for m in rows})
        width = 0.8 / len(connections)
        for i, conns in enumerate(connections):
            values = [(_find(rows, e, conns) or rows[0]).requests_per_s for e in endpoints]
            axis.barh(
                [y + i * width for y in range(len(endpoints))],
                values,
                height=width,
                label=f"{conns} connections",
            )
        for m in results.floor:
            axis.axvline(m.requests_per_s, linestyle=":", color="grey")
        axis.set_yticks([y + width * (len(connections) - 1) / 2 for y in range(len(endpoints))])
        axis.set_yticklabels([e.replace(" /v1", "\n/v1") for e in endpoints], fontsize=8)
        axis.invert_yaxis()
        axis.set_xlabel("requests/s (dotted: bare Connexion FlaskApp)")
        axis.set_title(DATABASE_TITLES.get(database, database))
        axis.legend(fontsize=8, loc="lower right")
    if results.scaling:
        axis = axes[0][len(databases)]
        for database, rows in results.scaling.items():
            axis.plot(
                [m.activities for m in rows],
                [m.requests_per_s for m in rows],
                marker="o",
                label=DATABASE_TITLES.get(database, database),
            )
        axis.set_xscale("log")
        axis.set_ylim(bottom=0)
        axis.set_xlabel("activities in the catalogue")
        axis.set_ylabel("requests/s")
        axis.set_title(f"{RECOMMEND_MALE} by catalogue size")
        axis.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


DOC_BEGIN = "<!-- bench:begin (written by `make bench`; edit outside these markers) -->"
DOC_END = "<!-- bench:end -->"


def render_doc_section(
    results: Results, checks: list[Check], machine: dict[str, object], command: str, chart_name: str
) -> str:
    packages = ", ".join(f"{k} {v}" for k, v in machine["packages"].items())  # type: ignore[attr-defined]
    load = ", ".join(f"{x:.2f}" for x in machine["load_average"])  # type: ignore[attr-defined]
    options = results.options
    lines = [
        DOC_BEGIN,
        "",
        f"Run on {machine['date']} with `{command}` at revision `{machine['revision']}`.",
        "",
        f"- Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB; "
        f"Linux {machine['kernel']}; Python {machine['python']}; load average at the start {load}.",
        f"- Software: {packages}; {' '.join(machine['wrk']) or 'wrk'}.",  # type: ignore[arg-type]
        f"- Load: wrk with {options.threads} thread(s) on the same machine, "
        f"{options.duration_s:g} s per run after {options.warmup_s:g} s of warm-up; "
        f"gunicorn with {options.workers} workers.",
        "",
        "#### Targets",
        "",
        render_checks(checks, "markdown"),
        "",
        render(results, "markdown"),
        "",
        f"![Requests per second by endpoint and catalogue size]({chart_name})",
        "",
        DOC_END,
    ]
    return "\n".join(lines)


def update_doc(path: Path, section: str) -> None:
    """Replace the generated section of `path`, keeping the text around it."""
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{DOC_BEGIN}\n{DOC_END}\n"
    if DOC_BEGIN not in text or DOC_END not in text:
        text = text.rstrip("\n") + f"\n\n{DOC_BEGIN}\n{DOC_END}\n"
    before = text[: text.index(DOC_BEGIN)]
    after = text[text.index(DOC_END) + len(DOC_END) :]
    path.write_text(before + section + after)
