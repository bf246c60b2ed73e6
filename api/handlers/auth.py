"""Handlers for the `auth` tag."""

from __future__ import annotations

from typing import Any

from flask import request

from .. import auth
from . import JsonResponse, json_response

NO_STORE = {"Cache-Control": "no-store"}


def client_address() -> str:
    """Return the client's IP address, which the login throttle counts failures by.

    Behind a load balancer this is the client's address only when FORWARDED_ALLOW_IPS
    lets uvicorn take it from X-Forwarded-For; otherwise it is the balancer's.
    """
    return request.remote_addr or "unknown"


def create_token(body: dict[str, str]) -> JsonResponse:
    issued = auth.login_root(body["username"], body["password"], client_address())
    return json_response(issued.as_access_token(), 200, NO_STORE)


def get_me(token_info: dict[str, Any]) -> JsonResponse:
    return json_response({"username": token_info["sub"], "role": token_info["role"]})
