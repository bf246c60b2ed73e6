# The production image: `make build` builds it, `make run-container` runs it on this machine.
# The app finds spec/ and migrations/ beside its package, so /app keeps the repository layout.

# --- builder: install the pinned dependencies and the project into a virtual environment
FROM python:3.11-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv

# Every pin has a wheel for amd64 and arm64 (`make wheel-check`), so no compiler is needed.
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --no-deps --require-hashes -r /tmp/requirements.txt

# An editable install gives the `activity-recommender` command while the code stays in
# /app next to spec/ and migrations/; the runtime stage copies /app to the same path.
WORKDIR /app
COPY pyproject.toml setup.cfg README.md ./
COPY api ./api
RUN /opt/venv/bin/pip install --no-deps --editable . \
    && rm -rf ./*.egg-info

# --- runtime: the interpreter, the virtual environment and the code, run as a plain user
FROM python:3.11-slim-bookworm

# A numeric user lets a runtime check that the process is not root without reading
# /etc/passwd; /data holds the SQLite file and development secrets when no database is set.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent app \
    && install --directory --owner=10001 --group=10001 --mode=0700 /data

COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY --from=builder /app ./
COPY spec ./spec
COPY migrations ./migrations
COPY gunicorn.conf.py ./

# HOST and PORT feed gunicorn.conf.py. The image fails closed: APP_ENV=production makes the
# service refuse to start without JWT_SECRET and ROOT_PASSWORD. FORWARDED_ALLOW_IPS tells the
# uvicorn worker which peers' X-Forwarded-For and -Proto headers to trust: loopback and the
# private ranges a load balancer sits in. Not "*": with it, uvicorn takes the leftmost
# X-Forwarded-For entry, which the client writes. A deployment can narrow it to its VPC.
# MALLOC_ARENA_MAX: glibc gives each busy thread its own heap, and a worker runs 10;
# two heaps keep a worker's resident memory a few MiB lower at the same speed.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    INSTANCE_PATH=/data \
    MALLOC_ARENA_MAX=2 \
    FORWARDED_ALLOW_IPS="127.0.0.0/8,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"

USER 10001:10001
EXPOSE 8000

# The slim image has no curl, so the probe is Python's own HTTP client; any status other
# than 2xx, or no answer within the timeout, raises and exits non-zero.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/health', timeout=4)"]

CMD ["gunicorn", "-c", "gunicorn.conf.py", "api:create_app()"]
