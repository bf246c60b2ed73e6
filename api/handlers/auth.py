"""Handlers for the `auth` tag."""

from __future__ import annotations

from typing import Any

from .. import auth
from . import JsonResponse, json_response

NO_STORE = {"Cache-Control": "no-store"}


def create_token(body: dict[str, str]) -> JsonResponse:
    issued = auth.login_root(body["username"], body["password"])
    return json_response(issued.as_access_token(), 200, NO_STORE)


def get_me(token_info: dict[str, Any]) -> JsonResponse:
    return json_response({"username": token_info["sub"], "role": token_info["role"]})
