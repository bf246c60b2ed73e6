"""Handlers for the `health` tag: probes for load balancers and orchestrators."""

from __future__ import annotations

from ..database import check_schema
from ..db import db
from . import JsonResponse, json_response


def get_health() -> JsonResponse:
    return json_response({"status": "ok"})


def get_ready() -> JsonResponse:
    # A database that accepts queries but lost its tables, or was never migrated, is not
    # ready either. A failure raises a database error, which the error handlers turn into 503.
    check_schema(db.session, db.metadata)
    return json_response({"status": "ok"})
