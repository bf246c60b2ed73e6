"""Run wrk against one URL and parse the result line that `wrk_report.lua` prints."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

WRK_SCRIPT = Path(__file__).with_name("wrk_report.lua")
RESULT_PREFIX = "BENCH-RESULT "


@dataclass(frozen=True)
class LoadResult:
    """The measurements of one wrk run; latencies in microseconds."""

    requests: int
    duration_s: float
    socket_errors: int
    status_errors: int
    p50_us: int
    p90_us: int
    p99_us: int
    max_us: int

    @property
    def errors(self) -> int:
        return self.socket_errors + self.status_errors

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0


def ensure_wrk() -> str:
    """Return the path of wrk, installing Debian's package with apt-get when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit("wrk is not installed: install it (Debian: apt-get install wrk) and retry")
    print("wrk is not installed; installing Debian's wrk package", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("apt-get installed wrk, but it is not on PATH")
    return found


def run_wrk(
    base_url: str,
    path: str,
    *,
    connections: int,
    duration_s: float,
    threads: int = 1,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    body: str | None = None,
    rotate_paths: tuple[str, ...] = (),
    timeout_s: float = 5.0,
) -> LoadResult:
    """Load `base_url + path` with `connections` keep-alive connections for `duration_s`."""
    command = [
        ensure_wrk(),
        f"--threads={max(1, min(threads, connections))}",
        f"--connections={connections}",
        f"--duration={max(1, round(duration_s))}s",
        f"--timeout={max(1, round(timeout_s))}s",
        f"--script={WRK_SCRIPT}",
    ]
    for name, value in (headers or {}).items():
        command.append(f"--header={name}: {value}")
    command.append(base_url + path)

    env = {
        **os.environ,
        "BENCH_METHOD": method,
        "BENCH_BODY": body or "",
        "BENCH_PATHS": " ".join(rotate_paths),
    }
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if completed.returncode != 0:
        raise RuntimeError(
            f"wrk exited with status {completed.returncode}: {completed.stderr.strip()}"
        )
    return parse_wrk_output(completed.stdout)


def parse_wrk_output(stdout: str) -> LoadResult:
    """Parse the `BENCH-RESULT {json}` line from wrk's output."""
    for line in stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            data = json.loads(line[len(RESULT_PREFIX) :])
            break
    else:
        raise ValueError(f"wrk printed no {RESULT_PREFIX.strip()} line:\n{stdout}")

    socket_errors = data["connect_errors"] + data["read_errors"] + data["write_errors"]
    return LoadResult(
        requests=data["requests"],
        duration_s=data["duration_us"] / 1e6,
        socket_errors=socket_errors + data["timeouts"],
        status_errors=data["status_errors"],
        p50_us=data["p50_us"],
        p90_us=data["p90_us"],
        p99_us=data["p99_us"],
        max_us=data["max_us"],
    )
