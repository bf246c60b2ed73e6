"""The probability model: P(activity | gender) from player counts, and sampling from it.

Pure functions over plain data, with no Flask or database, so they are easy to test
and to reuse from the HTTP handlers, the legacy adapters and the CLI.
"""

from __future__ import annotations

import itertools
import random
from bisect import bisect_right, insort
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

GENDERS = ("male", "female", "any")


@dataclass(frozen=True)
class Counts:
    name: str
    male: int
    female: int


def weights(activities: Iterable[Counts], gender: str) -> dict[str, int]:
    """Return the weight of each activity that `gender` samples by, before normalizing.

    `any` pools both genders. A gender with no players at all falls back to `any`,
    and when no activity has any players, every activity weighs the same.
    """
    activities = list(activities)
    if gender == "male":
        chosen = {a.name: a.male for a in activities}
    elif gender == "female":
        chosen = {a.name: a.female for a in activities}
    else:
        chosen = {}
    # Only the chosen gender's map is built unless it falls back: with thousands of
    # activities, a worker rebuilds these maps every time its cache expires.
    if sum(chosen.values()) == 0:
        chosen = {a.name: a.male + a.female for a in activities}
    if sum(chosen.values()) == 0:
        chosen = {name: 1 for name in chosen}
    return chosen


def distribution(activities: Iterable[Counts], gender: str) -> dict[str, float]:
    """Return P(activity | gender) for every activity; empty when there are none."""
    return _normalize(weights(activities, gender))


def _normalize(weight: Mapping[str, int]) -> dict[str, float]:
    total = sum(weight.values())
    return {name: w / total for name, w in sorted(weight.items())}


def probability_table(activities: Iterable[Counts]) -> dict[str, dict[str, float]]:
    activities = list(activities)
    return {gender: distribution(activities, gender) for gender in GENDERS}


class Sampler:
    """Weighted draws without replacement from integer weights, prepared once for many draws.

    A draw picks an integer uniformly below the weight still in play and finds its
    activity by bisecting the cumulative weights, skipping the stretches of activities
    drawn before. That matches drawing one activity at a time, each with probability
    weight / weight in play, and removing it; integer arithmetic keeps it exact. A draw
    costs O(log n + k) for n activities and k drawn before it, not a pass over all n.
    Activities with weight 0 are never drawn. Activities are ordered by name, so the
    same seed on the same weights gives the same draw.
    """

    def __init__(self, weight: Mapping[str, int]) -> None:
        self.names = sorted(name for name, w in weight.items() if w > 0)
        self._cumulative = list(itertools.accumulate(weight[name] for name in self.names))
        self.total = self._cumulative[-1] if self._cumulative else 0

    def draw(self, count: int, rng: random.Random) -> list[str]:
        """Return up to `count` distinct names, in draw order."""
        cumulative = self._cumulative
        if count == 1 and self.total:
            return [self.names[bisect_right(cumulative, rng.randrange(self.total))]]

        drawn: list[str] = []
        # (start, width) of each drawn activity's stretch of [0, total), sorted by start.
        taken: list[tuple[int, int]] = []
        in_play = self.total
        while len(drawn) < count and in_play > 0:
            point = rng.randrange(in_play)
            # Map the point from the weight in play onto [0, total) by stepping over
            # every drawn stretch that starts at or before it.
            for start, width in taken:
                if start > point:
                    break
                point += width
            index = bisect_right(cumulative, point)
            start = cumulative[index - 1] if index else 0
            insort(taken, (start, cumulative[index] - start))
            in_play -= cumulative[index] - start
            drawn.append(self.names[index])
        return drawn


@dataclass(frozen=True)
class PreparedDistribution:
    """P(activity | gender) with its sampler, computed once and sampled many times."""

    probabilities: dict[str, float]
    sampler: Sampler

    def sample(self, count: int, rng: random.Random) -> list[tuple[str, float]]:
        """Draw up to `count` distinct activities with their probabilities."""
        return [(name, self.probabilities[name]) for name in self.sampler.draw(count, rng)]


def prepare(activities: Iterable[Counts], gender: str) -> PreparedDistribution:
    weight = weights(activities, gender)
    return PreparedDistribution(_normalize(weight), Sampler(weight))


def sample(
    probabilities: Mapping[str, float], count: int, rng: random.Random
) -> list[tuple[str, float]]:
    """Draw up to `count` distinct activities without replacement, weighted by probability.

    Draws one activity at a time and removes it, as `Sampler` does, on weights that are
    exactly proportional to the given probabilities. Activities with probability 0 are
    never drawn, and the same seed on the same data gives the same draw.
    """
    names = Sampler(_exact_weights(probabilities)).draw(count, rng)
    return [(name, probabilities[name]) for name in names]


def _exact_weights(probabilities: Mapping[str, float]) -> dict[str, int]:
    """Return integers in exactly the ratios of the positive probabilities.

    Every float is an integer over a power of two, so scaling by the largest
    denominator loses nothing, not even for probabilities as small as 5e-324.
    """
    ratios = {name: p.as_integer_ratio() for name, p in probabilities.items() if p > 0}
    denominator = max((d for _, d in ratios.values()), default=1)
    return {name: n * (denominator // d) for name, (n, d) in ratios.items()}
