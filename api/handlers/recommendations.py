"""Handlers for the `recommendations` tag."""

from __future__ import annotations

from .. import recommendations
from . import JsonResponse, json_response


def get_probabilities() -> JsonResponse:
    return json_response(recommendations.probability_table())


def get_recommendations(gender: str, count: int = 1, seed: int | None = None) -> JsonResponse:
    drawn = recommendations.recommend(gender, count, seed)
    body = {
        "gender": gender,
        "recommendations": [
            {"activity": name, "probability": probability} for name, probability in drawn
        ],
    }
    return json_response(body)
