"""Handlers for the `legacy` tag: the original service's API, for its existing clients.

Each adapter calls the same functions as its `/v1` counterpart and only reshapes the
request and the response. `api.legacy_errors` turns their 400s into 422s.
"""

from __future__ import annotations

from typing import Any

from .. import activities, auth, recommendations, users
from ..errors import NotFound
from . import JsonResponse, json_response
from .auth import NO_STORE, client_address

WELCOME = "Welcome to the Activity Recommender. The current API is under /v1; see /docs."


def legacy_welcome() -> JsonResponse:
    return json_response({"message": WELCOME})


def legacy_login(body: dict[str, str]) -> JsonResponse:
    issued = auth.login_root(body["username"], body["password"], client_address())
    return json_response(_token(issued), 200, NO_STORE)


def legacy_generate_token(body: dict[str, Any], token_info: dict[str, Any]) -> JsonResponse:
    auth.require_root(token_info)
    users.ensure_user(body["username"])
    issued = auth.issue_user_token(body["username"], body["expire_days"])
    return json_response(_token(issued), 200, NO_STORE)


def legacy_check_root_token(token_info: dict[str, Any]) -> JsonResponse:
    auth.require_root(token_info)
    return json_response({"username": token_info["sub"]})


def legacy_check_user_token(token_info: dict[str, Any]) -> JsonResponse:
    return json_response({"username": token_info["sub"]})


def legacy_list_activities(activity: str | None = None) -> JsonResponse:
    if activity is None:
        found = activities.list_activities()
    else:
        found = [activities.get_activity(activity)]
    if not found:
        raise NotFound("There are no activities.")
    return json_response([item.to_dict() for item in found])


def legacy_put_activity(name: str, body: dict[str, Any]) -> JsonResponse:
    activity, _created = activities.put_activity(name, body["male_players"], body["female_players"])
    return json_response(activity.to_dict())


def legacy_get_probabilities() -> JsonResponse:
    table = recommendations.probability_table()
    return json_response({"male": table["male"], "female": table["female"]})


def legacy_recommend(gender: str) -> JsonResponse:
    drawn = recommendations.recommend(gender, count=1, seed=None)
    if not drawn:
        # The original service sent `{"Activity": null}`, so the problem document keeps it.
        raise NotFound("There are no activities to recommend from.", ext={"Activity": None})
    name, _probability = drawn[0]
    return json_response({"Activity": name})


def legacy_reset(token_info: dict[str, Any]) -> JsonResponse:
    auth.require_root(token_info)
    activities.reset_activities()
    return json_response({"message": "Reset DB success"})


def _token(issued: auth.IssuedToken) -> dict[str, str]:
    """Return the original service's token shape, which had no expiry field."""
    return {"access_token": issued.token, "token_type": auth.BEARER}
