"""Handlers for the `admin` tag."""

from __future__ import annotations

from typing import Any

from .. import activities, auth
from . import JsonResponse, json_response


def reset_activities(token_info: dict[str, Any]) -> JsonResponse:
    auth.require_root(token_info)
    return json_response([activity.to_dict() for activity in activities.reset_activities()])
