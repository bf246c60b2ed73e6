"""Probabilities and recommendations through the API: fallbacks, sampling, parameters."""

from __future__ import annotations

import pytest

from .conftest import bearer

DEFAULT_PROBABILITIES = {
    "male": {"basketball": 10 / 13, "swimming": 3 / 13},
    "female": {"basketball": 3 / 8, "swimming": 5 / 8},
    "any": {"basketball": 13 / 21, "swimming": 8 / 21},
}


def set_counts(client, token, **counts: tuple[int, int]) -> None:
    """Replace all activities with `name=(male, female)` pairs."""
    for activity in client.get("/v1/activities", headers=bearer(token)).json():
        assert (
            client.delete(f"/v1/activities/{activity['name']}", headers=bearer(token)).status_code
            == 204
        )
    for name, (male, female) in counts.items():
        response = client.put(
            f"/v1/activities/{name}",
            json={"male_players": male, "female_players": female},
            headers=bearer(token),
        )
        assert response.status_code == 201, response.text


def recommend(client, token, gender, **params):
    return client.get(f"/v1/recommendations/{gender}", params=params, headers=bearer(token))


def test_probabilities_default_data(client, user_token):
    response = client.get("/v1/probabilities", headers=bearer(user_token))

    assert response.status_code == 200
    assert response.json() == DEFAULT_PROBABILITIES


def test_probabilities_follow_count_updates(client, user_token):
    client.post(
        "/v1/activities/swimming/players", json={"male": 7, "female": 0}, headers=bearer(user_token)
    )

    probabilities = client.get("/v1/probabilities", headers=bearer(user_token)).json()

    assert probabilities["male"] == {"basketball": 0.5, "swimming": 0.5}
    assert probabilities["female"] == DEFAULT_PROBABILITIES["female"]


def test_probabilities_gender_without_players_falls_back_to_any(client, user_token):
    set_counts(client, user_token, chess=(3, 0), judo=(1, 0))

    probabilities = client.get("/v1/probabilities", headers=bearer(user_token)).json()

    assert probabilities == {
        "male": {"chess": 0.75, "judo": 0.25},
        "female": {"chess": 0.75, "judo": 0.25},
        "any": {"chess": 0.75, "judo": 0.25},
    }


def test_probabilities_uniform_when_nobody_plays(client, user_token):
    set_counts(client, user_token, chess=(0, 0), judo=(0, 0), yoga=(0, 0), zumba=(0, 0))

    probabilities = client.get("/v1/probabilities", headers=bearer(user_token)).json()

    uniform = {"chess": 0.25, "judo": 0.25, "yoga": 0.25, "zumba": 0.25}
    assert probabilities == {"male": uniform, "female": uniform, "any": uniform}


def test_probabilities_empty_table(client, user_token):
    set_counts(client, user_token)

    response = client.get("/v1/probabilities", headers=bearer(user_token))

    assert response.status_code == 200
    assert response.json() == {"male": {}, "female": {}, "any": {}}


def test_probabilities_each_map_sums_to_one(client, user_token):
    set_counts(
        client,
        user_token,
        a=(2_147_483_647, 1),
        b=(3, 0),
        c=(0, 7),
        d=(1_000_003, 999_999_937),
        e=(0, 0),
    )

    probabilities = client.get("/v1/probabilities", headers=bearer(user_token)).json()

    for gender in ("male", "female", "any"):
        assert abs(sum(probabilities[gender].values()) - 1) <= 1e-9


@pytest.mark.parametrize("gender", ["male", "female", "any"])
def test_recommendations_match_probabilities(client, user_token, gender):
    set_counts(client, user_token, chess=(5, 0), judo=(1, 2), yoga=(0, 9), zumba=(0, 0))
    probabilities = client.get("/v1/probabilities", headers=bearer(user_token)).json()[gender]

    for seed in range(10):
        response = recommend(client, user_token, gender, count=100, seed=seed)
        assert response.status_code == 200
        body = response.json()
        assert body["gender"] == gender
        drawn = {r["activity"]: r["probability"] for r in body["recommendations"]}
        assert drawn == {name: p for name, p in probabilities.items() if p > 0}


def test_recommendations_zero_probability_never_recommended(client, user_token):
    set_counts(client, user_token, chess=(5, 0), judo=(1, 2))

    for seed in range(50):
        body = recommend(client, user_token, "female", count=2, seed=seed).json()
        assert body["recommendations"] == [{"activity": "judo", "probability": 1.0}]


def test_recommendations_fall_back_to_any(client, user_token):
    set_counts(client, user_token, chess=(3, 0), judo=(1, 0))

    body = recommend(client, user_token, "female", count=2, seed=4).json()

    assert sorted((r["activity"], r["probability"]) for r in body["recommendations"]) == [
        ("chess", 0.75),
        ("judo", 0.25),
    ]


def test_recommendations_uniform_when_nobody_plays(client, user_token):
    set_counts(client, user_token, chess=(0, 0), judo=(0, 0))

    body = recommend(client, user_token, "male", count=2, seed=1).json()

    assert sorted((r["activity"], r["probability"]) for r in body["recommendations"]) == [
        ("chess", 0.5),
        ("judo", 0.5),
    ]


@pytest.mark.parametrize("gender", ["male", "female", "any"])
def test_recommendations_empty_table(client, user_token, gender):
    set_counts(client, user_token)

    response = recommend(client, user_token, gender, count=5)

    assert response.status_code == 200
    assert response.json() == {"gender": gender, "recommendations": []}


def test_recommendations_default_count_is_one(client, user_token):
    body = recommend(client, user_token, "any").json()

    assert len(body["recommendations"]) == 1


@pytest.mark.parametrize(("count", "returned"), [(1, 1), (2, 2), (3, 2), (100, 2)])
def test_recommendations_count(client, user_token, count, returned):
    body = recommend(client, user_token, "male", count=count, seed=9).json()

    names = [r["activity"] for r in body["recommendations"]]
    assert len(names) == returned
    assert len(set(names)) == returned


def test_recommendations_same_seed_same_answer(client, user_token):
    set_counts(client, user_token, a=(1, 1), b=(2, 3), c=(5, 8), d=(13, 21), e=(34, 55))

    for seed in (0, 1, -1, 2**62, -(2**63), 2**63 - 1):
        first = recommend(client, user_token, "female", count=3, seed=seed).json()
        second = recommend(client, user_token, "female", count=3, seed=seed).json()
        assert first == second


def test_recommendations_seed_changes_answer(client, user_token):
    set_counts(client, user_token, a=(1, 1), b=(2, 3), c=(5, 8), d=(13, 21), e=(34, 55))

    answers = {
        tuple(
            r["activity"]
            for r in recommend(client, user_token, "any", count=5, seed=seed).json()[
                "recommendations"
            ]
        )
        for seed in range(20)
    }

    assert len(answers) > 1


def test_recommendations_unseeded_draws_vary(client, user_token):
    set_counts(client, user_token, a=(1, 1), b=(1, 1), c=(1, 1), d=(1, 1))

    orders = {
        tuple(
            r["activity"]
            for r in recommend(client, user_token, "any", count=4).json()["recommendations"]
        )
        for _ in range(30)
    }

    # 24 equally likely orders: 30 unseeded draws all alike would happen with p = 24**-29.
    assert len(orders) > 1


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("count=0", "'count' must be at least 1, not 0."),
        ("count=101", "'count' must be at most 100, not 101."),
        ("count=-1", "'count' must be at least 1, not -1."),
        ("count=abc", "'count' must be an integer, not 'abc'."),
        ("count=1.5", "'count' must be an integer, not '1.5'."),
        ("count=", "'count' must be an integer, not ''."),
        ("seed=abc", "'seed' must be an integer, not 'abc'."),
        (
            "seed=9223372036854775808",
            "'seed' must be at most 9223372036854775807, not 9223372036854775808.",
        ),
        (
            "seed=-9223372036854775809",
            "'seed' must be at least -9223372036854775808, not -9223372036854775809.",
        ),
        ("limit=2", "Unknown query parameter 'limit'."),
        ("a=1&b=2", "Unknown query parameters 'a', 'b'."),
    ],
)
def test_recommendations_invalid_query(client, user_token, query, detail):
    response = client.get(f"/v1/recommendations/male?{query}", headers=bearer(user_token))

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": detail,
    }


@pytest.mark.parametrize("gender", ["dog", "Male", "MALE", "men", "%20male", "m%C3%A4le"])
def test_recommendations_invalid_gender(client, user_token, gender):
    response = client.get(f"/v1/recommendations/{gender}", headers=bearer(user_token))

    assert response.status_code == 400
    assert response.json()["detail"].startswith(
        "'gender' must be one of 'male', 'female', 'any', not "
    )
