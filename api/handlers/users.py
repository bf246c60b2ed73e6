"""Handlers for the `users` tag; every operation requires the root role."""

from __future__ import annotations

from typing import Any

from flask import Response

from .. import auth, tokens, users
from . import JsonResponse, json_response, no_content
from .auth import NO_STORE


def list_users(token_info: dict[str, Any]) -> JsonResponse:
    auth.require_root(token_info)
    return json_response([user.to_dict() for user in users.list_users()])


def create_user(body: dict[str, str], token_info: dict[str, Any]) -> JsonResponse:
    auth.require_root(token_info)
    user = users.create_user(body["username"])
    return json_response(user.to_dict(), 201, {"Location": f"/v1/users/{user.username}"})


def get_user(username: str, token_info: dict[str, Any]) -> JsonResponse:
    auth.require_root(token_info)
    return json_response(users.get_user(username).to_dict())


def delete_user(username: str, token_info: dict[str, Any]) -> Response:
    auth.require_root(token_info)
    users.delete_user(username)
    return no_content()


def create_user_token(
    username: str, body: dict[str, float], token_info: dict[str, Any]
) -> JsonResponse:
    auth.require_root(token_info)
    issued = auth.issue_user_token(username, body["expires_in_days"])
    return json_response(issued.as_issued_token(), 201, NO_STORE)


def list_user_tokens(username: str, token_info: dict[str, Any]) -> JsonResponse:
    auth.require_root(token_info)
    records = [tokens.token_to_dict(token) for token in tokens.list_tokens(username)]
    return json_response(records, 200, NO_STORE)


def revoke_user_token(username: str, jti: str, token_info: dict[str, Any]) -> Response:
    auth.require_root(token_info)
    tokens.revoke_token(username, jti)
    return no_content()
