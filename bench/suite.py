"""The benchmark's list of measurements, and the loop that runs them."""

from __future__ import annotations

import json
import secrets
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from .database import NAME_FORMAT, fresh_database, mariadb_reachable, seed_activities, user_token
from .load import LoadResult, run_wrk
from .server import GunicornServer

SERVICE_APP = "api:create_app()"
#: The Dockerfile's MALLOC_ARENA_MAX; tests/deploy/test_image.py checks that they match.
IMAGE_MALLOC_ARENA_MAX = "2"
FLOOR_APP = "bench.floor.app:create_app()"
HEALTH = "GET /health"

#: A run in which one worker spent less than this share of an even split of the CPU
#: time is measured again. wrk opens all its connections at once, and now and then one
#: worker accepts nearly all of them before the other wakes. Such a run measures one
#: worker, not the service.
MIN_EVEN_SHARE = 0.5
#: Measured runs per endpoint at most, counting those repeated for an uneven split.
MAX_ATTEMPTS = 3
RECOMMEND_MALE = "GET /v1/recommendations/male"
ADD_PLAYERS = "POST /v1/activities/{name}/players"


@dataclass(frozen=True)
class Endpoint:
    label: str
    path: str
    method: str = "GET"
    authenticated: bool = True
    body: str | None = None


ENDPOINTS = (
    Endpoint(HEALTH, "/health", authenticated=False),
    Endpoint(RECOMMEND_MALE, "/v1/recommendations/male"),
    Endpoint("GET /v1/recommendations/any?count=5", "/v1/recommendations/any?count=5"),
    Endpoint("GET /v1/probabilities", "/v1/probabilities"),
    Endpoint("GET /v1/activities", "/v1/activities"),
    Endpoint(ADD_PLAYERS, "/v1/activities/{name}/players", "POST", body='{"male": 1, "female": 1}'),
)


@dataclass(frozen=True)
class Options:
    databases: tuple[str, ...] = ("sqlite", "mariadb")
    connections: tuple[int, ...] = (16, 64)
    duration_s: float = 10
    warmup_s: float = 2
    threads: int = 1
    activities: int = 10
    scaling_sizes: tuple[int, ...] = (10, 1_000, 10_000)
    scaling_connections: int = 64
    #: Runs per catalogue size, of which the median by CPU per request is kept.
    scaling_repeats: int = 3
    workers: int = 2


@dataclass
class Measurement:
    """One endpoint at one concurrency: throughput, latency, errors and server CPU."""

    database: str
    endpoint: str
    connections: int
    activities: int
    requests: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms_per_request: float
    worker_restarts: int
    #: The smallest worker's share of the workers' CPU time (0.5 is an even split of 2).
    smallest_worker_share: float = float("nan")
    #: Runs measured again because one worker got too little of the load.
    reruns: int = 0
    #: The number of runs that this one is the median of, by CPU per request.
    median_of: int = 1
    ratio_to_health: float | None = None


@dataclass
class Results:
    options: Options
    tables: dict[str, list[Measurement]] = field(default_factory=dict)
    floor: list[Measurement] = field(default_factory=list)
    scaling: dict[str, list[Measurement]] = field(default_factory=dict)
    memory: dict[str, dict[str, object]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "options": asdict(self.options),
            "tables": {db: [asdict(m) for m in rows] for db, rows in self.tables.items()},
            "floor": [asdict(m) for m in self.floor],
            "scaling": {db: [asdict(m) for m in rows] for db, rows in self.scaling.items()},
            "memory": self.memory,
            "skipped": self.skipped,
        }


class Progress:
    """Prints one line per finished run to stderr, with the step count and elapsed time."""

    def __init__(self, total_steps: int) -> None:
        self.total = total_steps
        self.done = 0
        self.started = time.monotonic()

    def note(self, message: str) -> None:
        elapsed = int(time.monotonic() - self.started)
        print(
            f"[{self.done:>2}/{self.total} {elapsed // 60}:{elapsed % 60:02d}] {message}",
            file=sys.stderr,
            flush=True,
        )

    def step(self, message: str) -> None:
        self.done += 1
        self.note(message)


def count_steps(options: Options, databases: list[str]) -> int:
    per_database = len(ENDPOINTS) * len(options.connections) + len(options.scaling_sizes)
    return len(options.connections) + per_database * len(databases)


def measure(
    server: GunicornServer,
    endpoint: Endpoint,
    connections: int,
    options: Options,
    *,
    database: str,
    activities: int,
    token: str | None,
    names: list[str],
) -> Measurement:
    """Warm up, then load one endpoint and take the workers' CPU time around the run."""
    headers = {"Authorization": f"Bearer {token}"} if endpoint.authenticated and token else {}
    if endpoint.body is not None:
        headers["Content-Type"] = "application/json"
    rotate = (
        tuple(endpoint.path.format(name=name) for name in names)
        if "{name}" in endpoint.path
        else ()
    )
    path = rotate[0] if rotate else endpoint.path

    def load(duration_s: float) -> LoadResult:
        return run_wrk(
            server.url,
            path,
            connections=connections,
            duration_s=duration_s,
            threads=options.threads,
            headers=headers,
            method=endpoint.method,
            body=endpoint.body,
            rotate_paths=rotate,
        )

    reruns = 0
    while True:
        if options.warmup_s > 0:
            load(options.warmup_s)
        before = server.workers_cpu_seconds()
        result = load(options.duration_s)
        after = server.workers_cpu_seconds()

        # A worker that gunicorn replaced mid-run has no comparable CPU time; count it instead.
        restarts = len(set(after) - set(before))
        per_worker = [after[pid] - before[pid] for pid in after if pid in before]
        cpu = sum(per_worker)
        share = smallest_share(per_worker)
        if not is_uneven(share, len(per_worker)) or reruns + 1 == MAX_ATTEMPTS:
            break
        reruns += 1
    return Measurement(
        database=database,
        endpoint=endpoint.label,
        connections=connections,
        activities=activities,
        requests=result.requests,
        requests_per_s=result.requests_per_s,
        p50_ms=result.p50_us / 1000,
        p99_ms=result.p99_us / 1000,
        errors=result.errors,
        cpu_ms_per_request=1000 * cpu / result.requests if result.requests else float("nan"),
        worker_restarts=restarts,
        smallest_worker_share=share,
        reruns=reruns,
    )


def median_run(runs: list[Measurement]) -> Measurement:
    """Return the run with the median CPU per request, marked with how many there were.

    The target compares two sizes' costs, and one noisy 10 s window on a shared machine
    raised a single run's cost by a third. The median of a few runs does not follow it.
    """
    ordered = sorted(runs, key=lambda m: m.cpu_ms_per_request)
    return replace(ordered[len(ordered) // 2], median_of=len(runs))


def smallest_share(per_worker: list[float]) -> float:
    """Return the smallest worker's share of the CPU time, or NaN when none was spent."""
    total = sum(per_worker)
    return min(per_worker) / total if per_worker and total > 0 else float("nan")


def is_uneven(share: float, workers: int) -> bool:
    """Return whether a worker with `share` of the CPU time got too little of the load."""
    return workers > 1 and share < MIN_EVEN_SHARE / workers


def describe(m: Measurement) -> str:
    return (
        f"{m.database} {m.endpoint} c={m.connections} n={m.activities}: "
        f"{m.requests_per_s:,.0f} req/s, p50 {m.p50_ms:.1f} ms, p99 {m.p99_ms:.1f} ms, "
        f"{m.errors} errors, {m.cpu_ms_per_request:.2f} ms CPU/req"
        + (f" (measured {m.reruns + 1} times: one worker got too little load)" if m.reruns else "")
        + (f" (the median of {m.median_of} runs)" if m.median_of > 1 else "")
    )


def add_health_ratios(rows: list[Measurement]) -> None:
    health = {m.connections: m.requests_per_s for m in rows if m.endpoint == HEALTH}
    for m in rows:
        base = health.get(m.connections)
        m.ratio_to_health = m.requests_per_s / base if base else None


def server_env(database_url: str, instance: Path, root_password: str) -> dict[str, str]:
    """Return the server's environment: the image's settings, a fresh secret and database."""
    return {
        "APP_ENV": "production",
        "MALLOC_ARENA_MAX": IMAGE_MALLOC_ARENA_MAX,
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(instance),
        "JWT_SECRET": secrets.token_urlsafe(48),
        "ROOT_PASSWORD": root_password,
    }


def run_database(
    kind: str, options: Options, workdir: Path, progress: Progress, results: Results
) -> None:
    """Measure every endpoint on one database, then the catalogue sizes."""
    root_password = secrets.token_urlsafe(24)
    folder = workdir / kind
    with fresh_database(kind, folder / "main") as url:
        names = seed_activities(url, options.activities)
        env = server_env(url, folder / "main", root_password)
        with GunicornServer(
            SERVICE_APP, env, folder / "main" / "gunicorn.log", options.workers
        ) as server:
            token = user_token(server.url, root_password)
            rows = []
            for endpoint in ENDPOINTS:
                for connections in options.connections:
                    row = measure(
                        server,
                        endpoint,
                        connections,
                        options,
                        database=kind,
                        activities=options.activities,
                        token=token,
                        names=names,
                    )
                    rows.append(row)
                    progress.step(describe(row))
            results.memory[kind] = server.memory_report()
        add_health_ratios(rows)
        results.tables[kind] = rows

    scaling = []
    recommend = next(e for e in ENDPOINTS if e.label == RECOMMEND_MALE)
    for size in options.scaling_sizes:
        with fresh_database(kind, folder / f"n{size}") as url:
            names = seed_activities(url, size)
            env = server_env(url, folder / f"n{size}", root_password)
            log = folder / f"n{size}" / "gunicorn.log"
            with GunicornServer(SERVICE_APP, env, log, options.workers) as server:
                token = user_token(server.url, root_password)
                runs = [
                    measure(
                        server,
                        recommend,
                        options.scaling_connections,
                        options,
                        database=kind,
                        activities=size,
                        token=token,
                        names=names,
                    )
                    for _ in range(options.scaling_repeats)
                ]
        row = median_run(runs)
        scaling.append(row)
        progress.step(describe(row))
    results.scaling[kind] = scaling


def run_floor(options: Options, workdir: Path, progress: Progress, results: Results) -> None:
    """Measure Connexion's own floor: a no-op FlaskApp endpoint with the default middleware."""
    folder = workdir / "floor"
    folder.mkdir(parents=True, exist_ok=True)
    with GunicornServer(FLOOR_APP, {}, folder / "gunicorn.log", options.workers) as server:
        endpoint = Endpoint("GET /health (bare Connexion FlaskApp)", "/health", authenticated=False)
        for connections in options.connections:
            row = measure(
                server,
                endpoint,
                connections,
                options,
                database="none",
                activities=0,
                token=None,
                names=[],
            )
            results.floor.append(row)
            progress.step(describe(row))


def run(options: Options, workdir: Path) -> Results:
    results = Results(options)
    databases = []
    for kind in options.databases:
        reason = mariadb_reachable() if kind == "mariadb" else None
        if reason:
            results.skipped[kind] = reason
            print(f"skipping {kind}: {reason}", file=sys.stderr, flush=True)
        else:
            databases.append(kind)

    progress = Progress(count_steps(options, databases))
    progress.note(f"starting: {', '.join(databases)}; {options.duration_s:g} s per run")
    run_floor(options, workdir, progress, results)
    for kind in databases:
        run_database(kind, options, workdir, progress, results)
    return results


def write_json(results: Results, path: Path, extra: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**extra, **results.to_json()}, indent=2) + "\n")


__all__ = ["NAME_FORMAT", "Options", "Results", "run", "write_json"]
