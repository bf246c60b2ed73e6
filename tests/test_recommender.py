"""The probability model: weights, fallbacks, distributions and sampling, without HTTP."""

from __future__ import annotations

import collections
import random

import pytest
from scipy.stats import chisquare

from api.recommender import Counts, distribution, probability_table, sample, weights

DEFAULTS = [Counts("basketball", male=10, female=3), Counts("swimming", male=3, female=5)]

#: A draw-frequency test fails when its p-value is below this. The draws are seeded,
#: so each test gives the same p-value on every run: this is not a flaky threshold.
SIGNIFICANCE = 0.001


class ZeroRandom(random.Random):
    """A generator whose every draw is 0.0, the one value that log() rejects."""

    def random(self) -> float:
        return 0.0


def first_draws(probabilities: dict[str, float], draws: int) -> collections.Counter[str]:
    """Count the first activity of `draws` samples, seeded 0, 1, 2, ... like API requests."""
    return collections.Counter(
        sample(probabilities, 1, random.Random(seed))[0][0] for seed in range(draws)
    )


@pytest.mark.parametrize(
    ("gender", "expected"),
    [
        ("male", {"basketball": 10, "swimming": 3}),
        ("female", {"basketball": 3, "swimming": 5}),
        ("any", {"basketball": 13, "swimming": 8}),
    ],
)
def test_weights_default_counts(gender, expected):
    assert weights(DEFAULTS, gender) == expected


def test_weights_gender_without_players_falls_back_to_any():
    activities = [Counts("chess", male=4, female=0), Counts("judo", male=1, female=0)]

    assert weights(activities, "female") == {"chess": 4, "judo": 1}
    assert weights(activities, "male") == {"chess": 4, "judo": 1}


def test_weights_nobody_plays_makes_all_equal():
    activities = [Counts("chess", male=0, female=0), Counts("judo", male=0, female=0)]

    for gender in ("male", "female", "any"):
        assert weights(activities, gender) == {"chess": 1, "judo": 1}


def test_weights_empty_table():
    assert weights([], "any") == {}


def test_distribution_default_values():
    assert distribution(DEFAULTS, "male") == {"basketball": 10 / 13, "swimming": 3 / 13}
    assert distribution(DEFAULTS, "female") == {"basketball": 3 / 8, "swimming": 5 / 8}
    assert distribution(DEFAULTS, "any") == {"basketball": 13 / 21, "swimming": 8 / 21}


def test_distribution_keeps_zero_probability_activities():
    activities = [Counts("chess", male=5, female=0), Counts("judo", male=1, female=2)]

    assert distribution(activities, "female") == {"chess": 0.0, "judo": 1.0}


def test_distribution_fallback_to_any_values():
    activities = [Counts("chess", male=3, female=0), Counts("judo", male=1, female=0)]

    assert distribution(activities, "female") == {"chess": 0.75, "judo": 0.25}


def test_distribution_uniform_when_nobody_plays():
    activities = [Counts(name, male=0, female=0) for name in ("a", "b", "c", "d")]

    assert distribution(activities, "male") == {"a": 0.25, "b": 0.25, "c": 0.25, "d": 0.25}


def test_distribution_empty_table():
    assert distribution([], "male") == {}


def test_probability_table_has_every_gender():
    table = probability_table(DEFAULTS)

    assert set(table) == {"male", "female", "any"}
    assert table["any"] == distribution(DEFAULTS, "any")


def test_probability_table_empty():
    assert probability_table([]) == {"male": {}, "female": {}, "any": {}}


@pytest.mark.parametrize("seed", range(20))
def test_distribution_sums_to_one(seed):
    rng = random.Random(seed)
    size = rng.randint(1, 100)
    # Counts span the whole 32-bit range, and some are zero, to stress rounding.
    activities = [
        Counts(
            f"activity-{index}",
            male=rng.choice([0, rng.randint(0, 10), rng.randint(0, 2_147_483_647)]),
            female=rng.choice([0, rng.randint(0, 10), rng.randint(0, 2_147_483_647)]),
        )
        for index in range(size)
    ]

    for gender in ("male", "female", "any"):
        probabilities = distribution(activities, gender)
        assert len(probabilities) == size
        assert abs(sum(probabilities.values()) - 1) <= 1e-9
        assert all(0 <= p <= 1 for p in probabilities.values())


def test_sample_empty_distribution():
    assert sample({}, 5, random.Random(1)) == []


def test_sample_returns_count_distinct_activities():
    probabilities = {"a": 0.4, "b": 0.3, "c": 0.2, "d": 0.1}

    drawn = sample(probabilities, 3, random.Random(7))

    assert len(drawn) == 3
    assert len({name for name, _ in drawn}) == 3


def test_sample_count_above_size_returns_all():
    probabilities = {"a": 0.4, "b": 0.3, "c": 0.2, "d": 0.1}

    drawn = sample(probabilities, 100, random.Random(7))

    assert sorted(name for name, _ in drawn) == ["a", "b", "c", "d"]


def test_sample_returns_each_probability():
    probabilities = {"a": 0.4, "b": 0.3, "c": 0.2, "d": 0.1}

    for name, probability in sample(probabilities, 4, random.Random(3)):
        assert probability == probabilities[name]


def test_sample_never_draws_zero_probability():
    probabilities = {"a": 0.0, "b": 0.5, "c": 0.0, "d": 0.5}

    for seed in range(200):
        drawn = sample(probabilities, 4, random.Random(seed))
        assert sorted(name for name, _ in drawn) == ["b", "d"]


def test_sample_same_seed_same_answer():
    probabilities = {"a": 0.4, "b": 0.3, "c": 0.2, "d": 0.1}

    for seed in range(50):
        first = sample(probabilities, 3, random.Random(seed))
        second = sample(dict(reversed(probabilities.items())), 3, random.Random(seed))
        assert first == second


def test_sample_different_seeds_differ():
    probabilities = {"a": 0.4, "b": 0.3, "c": 0.2, "d": 0.1}

    answers = {tuple(sample(probabilities, 4, random.Random(seed))) for seed in range(50)}

    assert len(answers) > 10


def test_sample_zero_uniform_draw_does_not_fail():
    drawn = sample({"a": 0.5, "b": 0.5}, 2, ZeroRandom())

    assert sorted(name for name, _ in drawn) == ["a", "b"]


def test_sample_tiny_probability_is_drawn_last():
    # log(u) / 5e-324 overflows to -inf, which still orders below every other key.
    drawn = sample({"rare": 5e-324, "common": 1.0}, 2, random.Random(1))

    assert [name for name, _ in drawn] == ["common", "rare"]


def test_sample_first_draw_follows_distribution():
    probabilities = {"a": 0.5, "b": 0.3, "c": 0.15, "d": 0.05}
    draws = 20_000

    counts = first_draws(probabilities, draws)

    observed = [counts[name] for name in probabilities]
    expected = [p * draws for p in probabilities.values()]
    assert chisquare(observed, expected).pvalue > SIGNIFICANCE


def test_sample_first_draw_chi_square_rejects_wrong_distribution():
    """The check above can fail: the same draws do not fit a uniform distribution."""
    probabilities = {"a": 0.5, "b": 0.3, "c": 0.15, "d": 0.05}
    draws = 20_000

    counts = first_draws(probabilities, draws)

    observed = [counts[name] for name in probabilities]
    assert chisquare(observed, [draws / 4] * 4).pvalue < 1e-6


def test_sample_ordered_pairs_follow_draws_without_replacement():
    # Drawing one at a time without replacement: P(x then y) = p(x) * p(y) / (1 - p(x)).
    probabilities = {"a": 0.6, "b": 0.3, "c": 0.1}
    draws = 20_000

    pairs = collections.Counter(
        tuple(name for name, _ in sample(probabilities, 2, random.Random(seed)))
        for seed in range(draws)
    )

    ordered = [(x, y) for x in probabilities for y in probabilities if x != y]
    expected = [
        draws * probabilities[x] * probabilities[y] / (1 - probabilities[x]) for x, y in ordered
    ]
    assert sum(pairs.values()) == draws
    assert chisquare([pairs[pair] for pair in ordered], expected).pvalue > SIGNIFICANCE


def test_sample_default_data_follows_female_distribution():
    probabilities = distribution(DEFAULTS, "female")
    draws = 10_000

    counts = first_draws(probabilities, draws)

    assert (
        chisquare(
            [counts["basketball"], counts["swimming"]],
            [draws * probabilities["basketball"], draws * probabilities["swimming"]],
        ).pvalue
        > SIGNIFICANCE
    )
