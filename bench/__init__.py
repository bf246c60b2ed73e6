"""Load benchmark of the production server: `python -m bench` (or `make bench`).

Starts gunicorn with `gunicorn.conf.py` on a fresh database, loads it with wrk and
reports requests/s, latency, errors, server CPU per request and memory per endpoint.
"""
