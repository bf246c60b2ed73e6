"""gunicorn settings, read from the environment; `gunicorn -c gunicorn.conf.py 'api:create_app()'`."""

import os

# Connexion 3 is an ASGI app: gunicorn's sync and gthread workers cannot serve it.
worker_class = "uvicorn_worker.UvicornWorker"

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Longer than an AWS ALB's default 60 s idle timeout, so the server never closes a
# connection that the load balancer is about to reuse (which shows up as 502s).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
