"""The prepared sampler that recommendations draw from: exact draws without a pass over all."""

from __future__ import annotations

import random

import pytest

from api.recommender import Counts, PreparedDistribution, Sampler, prepare


class ScriptedRandom(random.Random):
    """A generator whose `randrange` returns scripted values and records each bound."""

    def __init__(self, values: list[int]) -> None:
        super().__init__(0)
        self.values = list(values)
        self.bounds: list[int] = []

    def randrange(self, stop: int) -> int:  # type: ignore[override]
        self.bounds.append(stop)
        return self.values.pop(0)


def test_sampler_maps_points_past_drawn_activities():
    # Cumulative weights 2, 5, 10: a is [0, 2), b is [2, 5), c is [5, 10).
    rng = ScriptedRandom([3, 2, 1])

    drawn = Sampler({"a": 2, "b": 3, "c": 5}).draw(3, rng)

    # 3 is in b; with b removed, point 2 of [0,2)+[5,10) is c; then point 1 is a.
    assert drawn == ["b", "c", "a"]
    assert rng.bounds == [10, 7, 2]


def test_sampler_single_draw_bisects_once():
    rng = ScriptedRandom([4])

    assert Sampler({"a": 2, "b": 3, "c": 5}).draw(1, rng) == ["b"]
    assert rng.bounds == [10]


@pytest.mark.parametrize("point", range(10))
def test_sampler_single_draw_covers_each_weight_unit(point):
    if point < 2:
        expected = "a"
    elif point < 5:
        expected = "b"
    else:
        expected = "c"

    assert Sampler({"a": 2, "b": 3, "c": 5}).draw(1, ScriptedRandom([point])) == [expected]


def test_sampler_skips_zero_weights():
    sampler = Sampler({"a": 0, "b": 4, "c": 0, "d": 1})

    assert sampler.names == ["b", "d"]
    assert sampler.total == 5
    assert sorted(sampler.draw(10, random.Random(3))) == ["b", "d"]


def test_sampler_empty_draws_nothing():
    assert Sampler({}).draw(1, random.Random(1)) == []
    assert Sampler({"a": 0}).draw(3, random.Random(1)) == []


def test_sampler_count_zero_draws_nothing():
    assert Sampler({"a": 1}).draw(0, random.Random(1)) == []


@pytest.mark.parametrize("seed", range(30))
def test_sampler_first_draw_same_for_any_count(seed):
    sampler = Sampler({"a": 5, "b": 1, "c": 7, "d": 2})

    single = sampler.draw(1, random.Random(seed))
    several = sampler.draw(3, random.Random(seed))

    assert single == several[:1]


def test_sampler_same_seed_same_answer_whatever_the_input_order():
    forward = Sampler({"a": 5, "b": 1, "c": 7})
    backward = Sampler({"c": 7, "b": 1, "a": 5})

    for seed in range(20):
        assert forward.draw(2, random.Random(seed)) == backward.draw(2, random.Random(seed))


def test_prepare_matches_distribution_and_draws_with_probabilities():
    counts = [Counts("basketball", male=10, female=3), Counts("swimming", male=3, female=5)]

    prepared = prepare(counts, "female")

    assert isinstance(prepared, PreparedDistribution)
    assert prepared.probabilities == {"basketball": 3 / 8, "swimming": 5 / 8}
    drawn = prepared.sample(2, random.Random(1))
    assert sorted(drawn) == [("basketball", 3 / 8), ("swimming", 5 / 8)]


def test_prepare_keeps_zero_probability_out_of_draws():
    counts = [Counts("chess", male=5, female=0), Counts("judo", male=1, female=2)]

    prepared = prepare(counts, "female")

    assert prepared.probabilities == {"chess": 0.0, "judo": 1.0}
    assert prepared.sample(5, random.Random(2)) == [("judo", 1.0)]
