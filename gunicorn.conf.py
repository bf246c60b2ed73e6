"""gunicorn settings from the environment: `gunicorn -c gunicorn.conf.py 'api:create_app()'`."""

import glob
import os
import shutil
import tempfile

# prometheus-client picks its storage when first imported, so the multiprocess
# directory is set before anything below imports the service.
METRICS_ENABLED = os.environ.get("METRICS_ENABLED", "false").lower() in {"1", "true", "yes", "on"}
_created_metrics_dir = False
if METRICS_ENABLED and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix="activity-recommender-metrics-"
    )
    _created_metrics_dir = True

from api.logs import logging_config  # noqa: E402
from api.passwords import hash_password, is_argon2_hash  # noqa: E402

# Workers inherit the master's environment: hashing a plain root password here means
# no worker ever reads the plain text, and each skips hashing it again.
if os.environ.get("ROOT_PASSWORD") and not is_argon2_hash(os.environ["ROOT_PASSWORD"]):
    os.environ["ROOT_PASSWORD"] = hash_password(os.environ["ROOT_PASSWORD"])

# Connexion 3 is an ASGI app: gunicorn's sync and gthread workers cannot serve it.
worker_class = "uvicorn_worker.UvicornWorker"

HOST = os.environ.get("HOST", "127.0.0.1")
bind = [f"{HOST}:{os.environ.get('PORT', '8080')}"]
# A second listener for /metrics only, which the load balancer does not forward to.
if os.environ.get("METRICS_PORT"):
    bind.append(f"{HOST}:{os.environ['METRICS_PORT']}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Longer than an AWS ALB's default 60 s idle timeout, so the server never closes a
# connection that the load balancer is about to reuse (which shows up as 502s).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))

# One JSON object per line on stdout, for gunicorn's own lines too. The service writes
# one line per request itself, so gunicorn's and uvicorn's access logs stay off.
loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()
logconfig_dict = logging_config(loglevel)


def on_starting(server):
    """Empty the metrics directory: files of an earlier run would add to this run's counts."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if METRICS_ENABLED and directory:
        os.makedirs(directory, exist_ok=True)
        for path in glob.glob(os.path.join(directory, "*.db")):
            os.remove(path)


def child_exit(server, worker):
    """Drop the live gauges of a worker that exited; its counters keep counting."""
    if METRICS_ENABLED:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _created_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


# gunicorn 25+ opens a control socket at a fixed path in the home directory, which
# several servers on one machine (tests, benchmarks) would share. The service has no use for it.
control_socket_disable = True
