"""Handlers for the `activities` tag."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response

from .. import activities
from . import JsonResponse, json_response, no_content


def list_activities() -> JsonResponse:
    return json_response([activity.to_dict() for activity in activities.list_activities()])


def get_activity(name: str) -> JsonResponse:
    return json_response(activities.get_activity(name).to_dict())


def put_activity(name: str, body: dict[str, int]) -> JsonResponse:
    activity, created = activities.put_activity(name, body["male_players"], body["female_players"])
    if created:
        location = f"/v1/activities/{quote(activity.name, safe='')}"
        return json_response(activity.to_dict(), 201, {"Location": location})
    return json_response(activity.to_dict())


def delete_activity(name: str) -> Response:
    activities.delete_activity(name)
    return no_content()


def add_players(name: str, body: dict[str, int]) -> JsonResponse:
    return json_response(activities.add_players(name, body["male"], body["female"]).to_dict())
