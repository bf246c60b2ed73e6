"""`python -m bench`: the full benchmark; `python -m bench --smoke`: a seconds-long check of it."""

from __future__ import annotations

import argparse
import math
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from . import report
from .server import PROJECT_ROOT
from .suite import Options, Results, run, write_json

RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
DOC_PATH = PROJECT_ROOT / "docs" / "benchmarks.md"
DOC_CHART = PROJECT_ROOT / "docs" / "benchmarks.png"

SMOKE = Options(
    databases=("sqlite",),
    connections=(4,),
    duration_s=1,
    warmup_s=0,
    scaling_sizes=(10, 200),
    scaling_connections=4,
    scaling_repeats=1,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="run each step for 1 s on SQLite only and check that the output is sane",
    )
    parser.add_argument(
        "--databases",
        default="sqlite,mariadb",
        help="comma-separated databases to run on (default: sqlite,mariadb; "
        "MariaDB is skipped when it does not answer)",
    )
    parser.add_argument(
        "--duration", type=float, default=10, help="seconds per measured run (default: 10)"
    )
    parser.add_argument(
        "--warmup", type=float, default=2, help="seconds of warm-up before each run (default: 2)"
    )
    parser.add_argument(
        "--connections", default="16,64", help="comma-separated connection counts (default: 16,64)"
    )
    parser.add_argument(
        "--sizes",
        default="10,1000,10000",
        help="comma-separated catalogue sizes for the scaling runs (default: 10,1000,10000)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=RESULTS_DIR,
        help="folder for results.json and benchmark.png (default: bench/results)",
    )
    parser.add_argument(
        "--no-docs",
        action="store_true",
        help=f"do not rewrite {DOC_PATH.relative_to(PROJECT_ROOT)}",
    )
    return parser.parse_args(argv)


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def smoke_problems(results: Results) -> list[str]:
    """Return what makes a smoke run's output implausible; empty when it looks sane."""
    problems = []
    measurements = [
        *results.floor,
        *(m for rows in results.tables.values() for m in rows),
        *(m for rows in results.scaling.values() for m in rows),
    ]
    expected = len(SMOKE.connections) * (1 + 6) + len(SMOKE.scaling_sizes)
    if len(measurements) != expected:
        problems.append(f"expected {expected} measurements, got {len(measurements)}")
    for m in measurements:
        name = f"{m.endpoint} c={m.connections} n={m.activities}"
        if m.requests <= 0 or m.errors or m.worker_restarts:
            problems.append(
                f"{name}: {m.requests} requests, {m.errors} errors, {m.worker_restarts} restarts"
            )
        if not (m.p50_ms > 0 and m.p99_ms >= m.p50_ms):
            problems.append(f"{name}: implausible latency p50={m.p50_ms} p99={m.p99_ms}")
        if not (math.isfinite(m.cpu_ms_per_request) and m.cpu_ms_per_request > 0):
            problems.append(f"{name}: implausible CPU per request {m.cpu_ms_per_request}")
    for database, memory in results.memory.items():
        if not 10 < float(memory["worker_peak_mib"]) < 1000:  # type: ignore[arg-type]
            problems.append(f"{database}: implausible worker RSS {memory['worker_peak_mib']}")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.smoke:
        options = SMOKE
    else:
        options = Options(
            databases=tuple(d.strip() for d in args.databases.split(",") if d.strip()),
            connections=_numbers(args.connections),
            duration_s=args.duration,
            warmup_s=args.warmup,
            scaling_sizes=_numbers(args.sizes),
            scaling_connections=max(_numbers(args.connections)),
        )
    command = shlex.join(["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)])

    machine = report.machine_info()
    with tempfile.TemporaryDirectory(prefix="activity-recommender-bench-") as workdir:
        results = run(options, Path(workdir))

    checks = report.check_targets(results)
    print()
    print(report.render(results, "text"))
    print()
    print(report.render_checks(checks, "text"))

    output = args.output / "smoke" if args.smoke else args.output
    write_json(results, output / "results.json", {"command": command, "machine": machine})
    chart = output / "benchmark.png"
    report.write_chart(results, chart)
    print(f"\nwrote {output / 'results.json'} and {chart}")

    if args.smoke:
        problems = smoke_problems(results)
        for problem in problems:
            print(f"smoke check failed: {problem}", file=sys.stderr)
        if problems:
            return 1
        print(
            "smoke check passed: every step ran, answered without errors and reported sane figures"
        )
        return 0

    if not args.no_docs:
        shutil.copyfile(chart, DOC_CHART)
        section = report.render_doc_section(results, checks, machine, command, DOC_CHART.name)
        report.update_doc(DOC_PATH, section)
        written = [path.relative_to(PROJECT_ROOT) for path in (DOC_PATH, DOC_CHART)]
        print(f"updated {written[0]} and {written[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
