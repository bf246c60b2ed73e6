"""Recommendations and the probability table, from the worker's cached distributions."""

from __future__ import annotations

import random

from . import distribution_cache, metrics

# Unseeded draws share one generator per worker; seeded draws get their own. The draws
# are recommendations, not secrets, so a seedable non-cryptographic generator is right.
_unseeded = random.Random()  # nosec B311


def probability_table() -> dict[str, dict[str, float]]:
    return distribution_cache.current_snapshot().table


def recommend(gender: str, count: int, seed: int | None) -> list[tuple[str, float]]:
    """Draw up to `count` distinct activities for `gender`, reproducibly when seeded."""
    prepared = distribution_cache.current_snapshot().distribution(gender)
    rng = _unseeded if seed is None else random.Random(seed)  # nosec B311
    drawn = prepared.sample(count, rng)
    metrics.count_recommendations(gender, len(drawn))
    return drawn
