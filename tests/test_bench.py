"""The benchmark's parsing, CPU accounting and target checks, without running a load."""

from __future__ import annotations

import math
import os

import pytest

from bench import report
from bench.__main__ import SMOKE, smoke_problems
from bench.load import parse_wrk_output
from bench.server import cpu_seconds, memory_bytes
from bench.suite import (
    ADD_PLAYERS,
    HEALTH,
    RECOMMEND_MALE,
    Measurement,
    Results,
    add_health_ratios,
    is_uneven,
    median_run,
    smallest_share,
)

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:5000/health
  1 threads and 16 connections
BENCH-RESULT {"requests": 20000, "duration_us": 10000000, "connect_errors": 0, \
"read_errors": 1, "write_errors": 0, "status_errors": 3, "timeouts": 2, "p50_us": 4100, \
"p90_us": 7000, "p99_us": 12500, "max_us": 30000}
"""


def measurement(endpoint: str, rps: float, connections: int = 64, **changes: object) -> Measurement:
    values: dict[str, object] = {
        "database": "sqlite",
        "endpoint": endpoint,
        "connections": connections,
        "activities": 10,
        "requests": int(rps * 10),
        "requests_per_s": rps,
        "p50_ms": 10.0,
        "p99_ms": 30.0,
        "errors": 0,
        "cpu_ms_per_request": 0.5,
        "worker_restarts": 0,
    }
    values.update(changes)
    return Measurement(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("per_worker", "share", "uneven"),
    [
        ([2.0, 2.0], 0.5, False),
        ([1.5, 2.5], 0.375, False),
        ([0.05, 4.95], 0.01, True),
        ([0.0, 0.0], math.nan, False),
        ([3.0], 1.0, False),
    ],
)
def test_uneven_split_detected(per_worker, share, uneven):
    measured = smallest_share(per_worker)

    assert measured == pytest.approx(share, nan_ok=True)
    assert is_uneven(measured, len(per_worker)) is uneven


def test_median_run_by_cpu():
    runs = [measurement(RECOMMEND_MALE, 3000, cpu_ms_per_request=cpu) for cpu in (0.5, 0.9, 0.6)]

    median = median_run(runs)

    assert median.cpu_ms_per_request == 0.6
    assert median.median_of == 3
    assert runs[2].median_of == 1  # the runs themselves are left as they were


def test_parse_wrk_output_counts_errors_and_rate():
    result = parse_wrk_output(WRK_OUTPUT)

    assert result.requests == 20000
    assert result.requests_per_s == 2000
    assert result.socket_errors == 3
    assert result.status_errors == 3
    assert result.errors == 6
    assert (result.p50_us, result.p99_us) == (4100, 12500)


def test_parse_wrk_output_without_result_line():
    with pytest.raises(ValueError, match="BENCH-RESULT"):
        parse_wrk_output("Running 1s test\n")


def test_cpu_seconds_of_this_process():
    # The command name may contain spaces and brackets; the parser splits after the last ')'.
    used = sum(os.times()[:2])

    assert abs(cpu_seconds(os.getpid()) - used) < 0.05


def test_memory_bytes_peak_at_least_current():
    current, peak = memory_bytes(os.getpid())

    assert 0 < current <= peak


def test_health_ratios_per_connection_count():
    rows = [
        measurement(HEALTH, 2000, connections=16),
        measurement(HEALTH, 4000),
        measurement(RECOMMEND_MALE, 1500, connections=16),
        measurement(RECOMMEND_MALE, 3200),
    ]

    add_health_ratios(rows)

    assert [m.ratio_to_health for m in rows] == [1.0, 1.0, 0.75, 0.8]


def make_results(male_rps: float, write_rps: float, large_cpu: float, worker_mib: float) -> Results:
    results = Results(SMOKE)
    for database in ("sqlite", "mariadb"):
        rows = [
            measurement(HEALTH, 4000, database=database),
            measurement(RECOMMEND_MALE, male_rps, database=database),
            measurement(ADD_PLAYERS, write_rps, database=database),
        ]
        add_health_ratios(rows)
        results.tables[database] = rows
        results.scaling[database] = [
            measurement(RECOMMEND_MALE, 3000, activities=10, database=database),
            measurement(
                RECOMMEND_MALE,
                3000 * 0.5 / large_cpu,
                activities=10_000,
                cpu_ms_per_request=large_cpu,
                database=database,
            ),
        ]
        results.memory[database] = {
            "master_peak_mib": 30.0,
            "worker_peak_mib": worker_mib,
            "workers_peak_mib": [worker_mib, worker_mib - 1],
            "total_peak_mib": 30 + 2 * worker_mib,
            "total_of_peaks_mib": 31 + 2 * worker_mib,
        }
    return results


def test_check_targets_all_met():
    checks = report.check_targets(make_results(3200, 1600, 0.6, 90))

    assert len(checks) == 7
    assert all(check.passed for check in checks), [c for c in checks if not c.passed]


def test_check_targets_each_can_fail():
    checks = report.check_targets(make_results(2800, 1200, 0.7, 101))

    failed = [check.target for check in checks if not check.passed]
    assert len(failed) == 7
    assert any("POST /v1/activities/{name}/players" in target for target in failed)


def test_check_targets_latency_spread_fails():
    results = make_results(3200, 1600, 0.6, 90)
    results.tables["sqlite"][1].p99_ms = 50.0

    checks = report.check_targets(results)

    assert [c.passed for c in checks if c.target.startswith("SQLite: GET")] == [False]


def test_render_tables_text_and_markdown():
    results = make_results(3200, 1600, 0.6, 90)

    text = report.render(results, "text")
    markdown = report.render(results, "markdown")

    assert "== SQLite, 10 activities" in text
    assert "GET /v1/recommendations/male           64  3,200        0.80   10.00" in text
    assert "| GET /v1/recommendations/male | 64 | 3,200 | 0.80 |" in markdown
    assert "| 10,000 | 2,500 | 1.20 | 0.600 | 1.20 | 30.00 | 0 |" in markdown


def test_update_doc_keeps_text_outside_markers(tmp_path):
    path = tmp_path / "benchmarks.md"
    path.write_text(
        f"# Benchmarks\n\nBefore.\n\n{report.DOC_BEGIN}\nold\n{report.DOC_END}\n\nAfter.\n"
    )

    report.update_doc(path, f"{report.DOC_BEGIN}\nnew\n{report.DOC_END}")

    assert path.read_text() == (
        f"# Benchmarks\n\nBefore.\n\n{report.DOC_BEGIN}\nnew\n{report.DOC_END}\n\nAfter.\n"
    )


def test_smoke_problems_sane_and_broken():
    results = Results(SMOKE)
    results.floor = [measurement("floor", 1000, connections=4)]
    results.tables["sqlite"] = [measurement(f"e{i}", 1000, connections=4) for i in range(6)]
    results.scaling["sqlite"] = [measurement(RECOMMEND_MALE, 900, connections=4) for _ in range(2)]
    results.memory["sqlite"] = {"worker_peak_mib": 80.0}

    assert smoke_problems(results) == []

    results.tables["sqlite"][2].errors = 4
    results.tables["sqlite"][3].cpu_ms_per_request = float("nan")
    assert smoke_problems(results) == [
        "e2 c=4 n=10: 10000 requests, 4 errors, 0 restarts",
        "e3 c=4 n=10: implausible CPU per request nan",
    ]
