"""The production server command under test, and its processes' CPU time and memory."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.ports import free_port

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024


def cpu_seconds(pid: int) -> float:
    """Return the user plus system CPU time that process `pid` has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name in brackets may contain spaces, so split after its closing bracket.
    fields = stat[stat.rindex(")") + 2 :].split()
    # utime and stime are fields 14 and 15 of proc(5); fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_bytes(pid: int) -> tuple[int, int]:
    """Return the current (VmRSS) and peak (VmHWM) resident set size of process `pid`."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    return values["VmRSS"], values["VmHWM"]


def child_pids(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sorted(int(child) for child in children)


class GunicornServer:
    """gunicorn started the way `make run` starts it, on a free port of 127.0.0.1."""

    def __init__(self, app: str, env: dict[str, str], log_path: Path, workers: int = 2) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.log_path = log_path
        command = [
            str(Path(sys.executable).with_name("gunicorn")),
            "-c",
            str(PROJECT_ROOT / "gunicorn.conf.py"),
            app,
        ]
        full_env = {
            **os.environ,
            **env,
            "PYTHONPATH": str(PROJECT_ROOT),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(workers),
        }
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT
            )
        self._peak_total_rss = 0
        self._sampling = threading.Event()
        self._sampler: threading.Thread | None = None

    def __enter__(self) -> GunicornServer:
        try:
            self.wait_until_ready()
        except BaseException:
            self.stop()
            raise
        self._sampler = threading.Thread(target=self._sample_memory, daemon=True)
        self._sampler.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def wait_until_ready(self, timeout_s: float = 60) -> None:
        """Wait until every worker has started and /health returns 200."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.log_path.read_text()}")
            if len(child_pids(self.process.pid)) == self.workers and self._health_ok():
                return
            time.sleep(0.2)
        raise RuntimeError(
            f"gunicorn did not respond within {timeout_s} s:\n{self.log_path.read_text()}"
        )

    def _health_ok(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def worker_pids(self) -> list[int]:
        return child_pids(self.process.pid)

    def workers_cpu_seconds(self) -> dict[int, float]:
        return {pid: cpu_seconds(pid) for pid in self.worker_pids()}

    def _sample_memory(self) -> None:
        # VmHWM gives each process's own peak; the total's peak needs simultaneous samples.
        while not self._sampling.wait(0.25):
            try:
                pids = [self.process.pid, *self.worker_pids()]
                total = sum(memory_bytes(pid)[0] for pid in pids)
            except (FileNotFoundError, ProcessLookupError, KeyError):
                # Gone, or a zombie after `stop()`: a zombie's status has no VmRSS.
                continue
            self._peak_total_rss = max(self._peak_total_rss, total)

    def memory_report(self) -> dict[str, float]:
        """Return the peak RSS of the master, of each worker and of all together, in MiB."""
        master_peak = memory_bytes(self.process.pid)[1]
        worker_peaks = [memory_bytes(pid)[1] for pid in self.worker_pids()]
        return {
            "master_peak_mib": master_peak / MIB,
            "worker_peak_mib": max(worker_peaks) / MIB,
            "workers_peak_mib": [peak / MIB for peak in worker_peaks],
            "total_peak_mib": self._peak_total_rss / MIB,
            "total_of_peaks_mib": (master_peak + sum(worker_peaks)) / MIB,
        }

    def stop(self) -> None:
        self._sampling.set()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
