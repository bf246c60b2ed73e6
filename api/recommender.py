"""The probability model: P(activity | gender) from player counts, and sampling from it.

Pure functions over plain data, with no Flask or database, so they are easy to test
and to reuse from the HTTP handlers, the legacy adapters and the CLI.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass
from typing import Iterable, Mapping

GENDERS = ("male", "female", "any")


@dataclass(frozen=True)
class Counts:
    name: str
    male: int
    female: int


def weights(activities: Iterable[Counts], gender: str) -> dict[str, int]:
    """Return the weight of each activity that `gender` samples by, before normalizing.

    `any` pools both genders. A gender with no players at all falls back to `any`,
    and when nobody plays anything every activity weighs the same.
    """
    activities = list(activities)
    male = {a.name: a.male for a in activities}
    female = {a.name: a.female for a in activities}
    pooled = {a.name: a.male + a.female for a in activities}

    chosen = {"male": male, "female": female, "any": pooled}[gender]
    if sum(chosen.values()) == 0:
        chosen = pooled
    if sum(chosen.values()) == 0:
        chosen = {name: 1 for name in chosen}
    return chosen


def distribution(activities: Iterable[Counts], gender: str) -> dict[str, float]:
    """Return P(activity | gender) for every activity; empty when there are none."""
    weight = weights(activities, gender)
    total = sum(weight.values())
    return {name: w / total for name, w in sorted(weight.items())}


def probability_table(activities: Iterable[Counts]) -> dict[str, dict[str, float]]:
    activities = list(activities)
    return {gender: distribution(activities, gender) for gender in GENDERS}


def sample(
    probabilities: Mapping[str, float], count: int, rng: random.Random
) -> list[tuple[str, float]]:
    """Draw up to `count` distinct activities without replacement, weighted by probability.

    Uses the Efraimidis-Spirakis method: each item gets the key u ** (1 / p) for a
    uniform u, and the `count` largest keys win, which matches drawing one item at a
    time and removing it. Items with probability 0 are never drawn. Items are visited
    in name order, so the same seed on the same data gives the same answer.
    """
    keyed = []
    for name in sorted(probabilities):
        p = probabilities[name]
        if p <= 0:
            continue
        # log(u) / p orders the same way as u ** (1 / p), without underflow for tiny p.
        u = rng.random() or math.ulp(0)
        keyed.append((math.log(u) / p, name))
    winners = heapq.nlargest(count, keyed)
    return [(name, probabilities[name]) for _, name in winners]
