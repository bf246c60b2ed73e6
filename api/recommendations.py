"""Recommendations and the probability table, computed from the stored counts."""

from __future__ import annotations

import random

from . import activities, recommender

# Unseeded draws share one generator per worker; seeded draws get their own.
_unseeded = random.Random()


def probability_table() -> dict[str, dict[str, float]]:
    return recommender.probability_table(activities.all_counts())


def recommend(gender: str, count: int, seed: int | None) -> list[tuple[str, float]]:
    """Draw up to `count` distinct activities for `gender`, reproducibly when seeded."""
    probabilities = recommender.distribution(activities.all_counts(), gender)
    rng = _unseeded if seed is None else random.Random(seed)
    return recommender.sample(probabilities, count, rng)
