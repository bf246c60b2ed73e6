"""Handlers for the `health` tag: probes for load balancers and orchestrators."""

from __future__ import annotations

from sqlalchemy import text

from ..db import db
from . import JsonResponse, json_response


def get_health() -> JsonResponse:
    return json_response({"status": "ok"})


def get_ready() -> JsonResponse:
    # A failure raises a database error, which the error handlers turn into 503.
    db.session.execute(text("SELECT 1"))
    return json_response({"status": "ok"})
