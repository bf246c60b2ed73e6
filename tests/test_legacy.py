"""The legacy API: the original service's paths and shapes, over the same data as /v1."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import ROOT_PASSWORD, bearer

DEFAULTS = [
    {"name": "basketball", "male_players": 10, "female_players": 3},
    {"name": "swimming", "male_players": 3, "female_players": 5},
]


def legacy_login(client: Any) -> str:
    response = client.post("/token/", data={"username": "root", "password": ROOT_PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def generate(client: Any, root_token: str, username: str, days: float = 360) -> Any:
    return client.put(
        "/token/generate",
        json={"username": username, "expire_days": days},
        headers=bearer(root_token),
    )


def test_welcome_returns_message(client: Any) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.json() == {
        "message": "Welcome to the Activity Recommender. The current API is under /v1; see /docs."
    }


def test_login_returns_original_token_shape(client: Any) -> None:
    response = client.post("/token/", data={"username": "root", "password": ROOT_PASSWORD})
    assert response.status_code == 200
    assert set(response.json()) == {"access_token", "token_type"}
    assert response.json()["token_type"] == "bearer"
    assert response.headers["cache-control"] == "no-store"


def test_login_token_works_on_v1(client: Any) -> None:
    token = legacy_login(client)
    response = client.get("/v1/me", headers=bearer(token))
    assert response.json() == {"username": "root", "role": "root"}


@pytest.mark.parametrize(
    ("username", "password"),
    [("root", "wrong-password"), ("alice", ROOT_PASSWORD)],
)
def test_login_rejects_wrong_credentials(client: Any, username: str, password: str) -> None:
    response = client.post("/token/", data={"username": username, "password": password})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_login_without_password_is_422(client: Any) -> None:
    response = client.post("/token/", data={"username": "root"})
    assert response.status_code == 422
    assert response.json()["status"] == 422


def test_generate_creates_user_and_token(client: Any, root_token: str) -> None:
    response = generate(client, root_token, "peter")
    assert response.status_code == 200
    assert set(response.json()) == {"access_token", "token_type"}

    user_token = response.json()["access_token"]
    assert client.get("/token/reg-test", headers=bearer(user_token)).json() == {"username": "peter"}
    users = client.get("/v1/users", headers=bearer(root_token)).json()
    assert [user["username"] for user in users] == ["peter"]


def test_generate_for_existing_user_keeps_older_tokens(client: Any, root_token: str) -> None:
    first = generate(client, root_token, "peter").json()["access_token"]
    second = generate(client, root_token, "peter").json()["access_token"]

    assert first != second
    assert client.get("/token/reg-test", headers=bearer(first)).status_code == 200
    assert client.get("/token/reg-test", headers=bearer(second)).status_code == 200
    assert len(client.get("/v1/users", headers=bearer(root_token)).json()) == 1


def test_generate_for_root_name_is_conflict(client: Any, root_token: str) -> None:
    response = generate(client, root_token, "root")
    assert response.status_code == 409


def test_generate_requires_root(client: Any, root_token: str) -> None:
    user_token = generate(client, root_token, "peter").json()["access_token"]
    response = generate(client, user_token, "mallory")
    assert response.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"username": "peter"},
        {"username": "peter", "expire_days": 0},
        {"username": "peter", "expire_days": "soon"},
        {"username": "no spaces", "expire_days": 1},
    ],
)
def test_generate_rejects_invalid_body_with_422(
    client: Any, root_token: str, body: dict[str, Any]
) -> None:
    response = client.put("/token/generate", json=body, headers=bearer(root_token))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_root_test_accepts_root_only(client: Any, root_token: str) -> None:
    user_token = generate(client, root_token, "peter").json()["access_token"]

    assert client.get("/token/root-test", headers=bearer(root_token)).json() == {"username": "root"}
    assert client.get("/token/root-test", headers=bearer(user_token)).status_code == 403


def test_reg_test_accepts_root_token(client: Any, root_token: str) -> None:
    response = client.get("/token/reg-test", headers=bearer(root_token))
    assert response.json() == {"username": "root"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/token/root-test"),
        ("GET", "/token/reg-test"),
        ("PUT", "/token/generate"),
        ("GET", "/Activity/"),
        ("PUT", "/Activity/chess"),
        ("GET", "/ActivityProbability/"),
        ("GET", "/Recommender/male"),
        ("GET", "/reset"),
    ],
)
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-jwt", "Basic cm9vdDpyb290"])
def test_protected_operations_reject_bad_token(
    client: Any, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = client.request(method, path, headers=headers, json={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_list_activities_returns_all(client: Any, user_token: str) -> None:
    response = client.get("/Activity/", headers=bearer(user_token))
    assert response.status_code == 200
    assert response.json() == DEFAULTS


def test_list_activities_filters_by_normalized_name(client: Any, user_token: str) -> None:
    response = client.get(
        "/Activity/", params={"activity": " Swimming "}, headers=bearer(user_token)
    )
    assert response.json() == [DEFAULTS[1]]


def test_list_activities_unknown_name_is_404(client: Any, user_token: str) -> None:
    response = client.get("/Activity/", params={"activity": "chess"}, headers=bearer(user_token))
    assert response.status_code == 404


def test_list_activities_empty_is_404(client: Any, user_token: str) -> None:
    for activity in DEFAULTS:
        client.delete(f"/v1/activities/{activity['name']}", headers=bearer(user_token))
    response = client.get("/Activity/", headers=bearer(user_token))
    assert response.status_code == 404


def test_list_activities_rejects_blank_name_with_422(client: Any, user_token: str) -> None:
    response = client.get("/Activity/", params={"activity": "   "}, headers=bearer(user_token))
    assert response.status_code == 422


def test_put_activity_creates_with_200(client: Any, user_token: str) -> None:
    response = client.put(
        "/Activity/Chess", json={"male_players": 4, "female_players": 6}, headers=bearer(user_token)
    )
    assert response.status_code == 200
    assert response.json() == {"name": "chess", "male_players": 4, "female_players": 6}
    stored = client.get("/v1/activities/chess", headers=bearer(user_token))
    assert stored.json() == {"name": "chess", "male_players": 4, "female_players": 6}


def test_put_activity_replaces_with_200(client: Any, user_token: str) -> None:
    response = client.put(
        "/Activity/swimming",
        json={"male_players": 0, "female_players": 1},
        headers=bearer(user_token),
    )
    assert response.status_code == 200
    assert response.json() == {"name": "swimming", "male_players": 0, "female_players": 1}


def test_put_activity_ignores_unknown_fields(client: Any, user_token: str) -> None:
    body = {"male_players": 1, "female_players": 2, "comment": "as the original allowed"}
    response = client.put("/Activity/chess", json=body, headers=bearer(user_token))
    assert response.status_code == 200
    assert response.json() == {"name": "chess", "male_players": 1, "female_players": 2}


@pytest.mark.parametrize(
    "body",
    [
        {"male_players": 1},
        {"male_players": -1, "female_players": 2},
        {"male_players": 1.5, "female_players": 2},
        {"male_players": 2147483648, "female_players": 0},
    ],
)
def test_put_activity_rejects_invalid_counts_with_422(
    client: Any, user_token: str, body: dict[str, Any]
) -> None:
    response = client.put("/Activity/chess", json=body, headers=bearer(user_token))
    assert response.status_code == 422


def test_probabilities_have_male_and_female_only(client: Any, user_token: str) -> None:
    response = client.get("/ActivityProbability/", headers=bearer(user_token))
    assert response.status_code == 200
    assert response.json() == {
        "male": {"basketball": 10 / 13, "swimming": 3 / 13},
        "female": {"basketball": 3 / 8, "swimming": 5 / 8},
    }


def test_probabilities_match_v1(client: Any, user_token: str) -> None:
    legacy = client.get("/ActivityProbability/", headers=bearer(user_token)).json()
    current = client.get("/v1/probabilities", headers=bearer(user_token)).json()
    assert legacy == {"male": current["male"], "female": current["female"]}


@pytest.mark.parametrize("gender", ["male", "female"])
def test_recommender_returns_an_activity(client: Any, user_token: str, gender: str) -> None:
    response = client.get(f"/Recommender/{gender}", headers=bearer(user_token))
    assert response.status_code == 200
    assert response.json()["Activity"] in {"basketball", "swimming"}
    assert set(response.json()) == {"Activity"}


def test_recommender_never_returns_zero_probability(client: Any, user_token: str) -> None:
    client.put(
        "/v1/activities/swimming",
        json={"male_players": 0, "female_players": 5},
        headers=bearer(user_token),
    )
    answers = {
        client.get("/Recommender/male", headers=bearer(user_token)).json()["Activity"]
        for _ in range(20)
    }
    assert answers == {"basketball"}


@pytest.mark.parametrize("gender", ["any", "other", "Male", "male "])
def test_recommender_rejects_other_gender_with_422(
    client: Any, user_token: str, gender: str
) -> None:
    response = client.get(f"/Recommender/{gender}", headers=bearer(user_token))
    assert response.status_code == 422
    assert response.json()["status"] == 422


def test_recommender_without_activities_is_404_with_null(client: Any, user_token: str) -> None:
    for activity in DEFAULTS:
        client.delete(f"/v1/activities/{activity['name']}", headers=bearer(user_token))
    response = client.get("/Recommender/female", headers=bearer(user_token))
    assert response.status_code == 404
    assert response.json()["Activity"] is None
    assert response.json()["status"] == 404


def test_reset_restores_defaults(client: Any, root_token: str) -> None:
    client.delete("/v1/activities/swimming", headers=bearer(root_token))
    client.put(
        "/v1/activities/chess",
        json={"male_players": 1, "female_players": 1},
        headers=bearer(root_token),
    )

    response = client.get("/reset", headers=bearer(root_token))

    assert response.status_code == 200
    assert response.json() == {"message": "Reset DB success"}
    assert client.get("/v1/activities", headers=bearer(root_token)).json() == DEFAULTS


def test_reset_requires_root(client: Any, user_token: str) -> None:
    response = client.get("/reset", headers=bearer(user_token))
    assert response.status_code == 403


def test_line_break_in_legacy_path_is_422(client: Any, user_token: str) -> None:
    response = client.put(
        "/Activity/chess%0A",
        json={"male_players": 1, "female_players": 1},
        headers=bearer(user_token),
    )
    assert response.status_code == 422


def test_v1_validation_errors_stay_400(client: Any, user_token: str) -> None:
    response = client.get("/v1/recommendations/other", headers=bearer(user_token))
    assert response.status_code == 400
