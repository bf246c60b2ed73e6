"""An old client's session against gunicorn: the calls the original service's clients make."""

from __future__ import annotations

import requests

from ..conftest import ROOT_PASSWORD


def test_old_client_session(http: requests.Session) -> None:
    assert http.get("/").status_code == 200

    # Root logs in with the OAuth 2.0 password form, as FastAPI's OAuth2PasswordRequestForm took it.
    login = http.post("/token/", data={"username": "root", "password": ROOT_PASSWORD})
    assert login.status_code == 200
    assert login.json()["token_type"] == "bearer"
    root = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert http.get("/token/root-test", headers=root).json() == {"username": "root"}

    generated = http.put(
        "/token/generate", json={"username": "Peter", "expire_days": 360}, headers=root
    )
    assert generated.status_code == 200
    assert sorted(generated.json()) == ["access_token", "token_type"]
    peter = {"Authorization": f"Bearer {generated.json()['access_token']}"}
    assert http.get("/token/reg-test", headers=peter).json() == {"username": "Peter"}

    put = http.put(
        "/Activity/walking", json={"male_players": 0, "female_players": 4}, headers=peter
    )
    assert put.status_code == 200
    assert put.json() == {"name": "walking", "male_players": 0, "female_players": 4}
    listed = http.get("/Activity/", params={"activity": "walking"}, headers=peter)
    assert listed.json() == [{"name": "walking", "male_players": 0, "female_players": 4}]

    probabilities = http.get("/ActivityProbability/", headers=peter).json()
    assert probabilities == {
        "male": {"basketball": 10 / 13, "swimming": 3 / 13, "walking": 0.0},
        "female": {"basketball": 3 / 12, "swimming": 5 / 12, "walking": 4 / 12},
    }
    recommended = http.get("/Recommender/female", headers=peter)
    assert recommended.status_code == 200
    assert recommended.json()["Activity"] in {"basketball", "swimming", "walking"}
    assert http.get("/Recommender/robot", headers=peter).status_code == 422

    reset = http.get("/reset", headers=root)
    assert reset.json() == {"message": "Reset DB success"}
    assert http.get("/Activity/", params={"activity": "walking"}, headers=peter).status_code == 404


def test_old_client_without_token_gets_401(http: requests.Session) -> None:
    for path in (
        "/Activity/",
        "/ActivityProbability/",
        "/Recommender/male",
        "/token/reg-test",
        "/reset",
    ):
        response = http.get(path)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"] == "Bearer", path


def test_old_client_wrong_password_gets_401(http: requests.Session) -> None:
    response = http.post("/token/", data={"username": "root", "password": "guess"})
    assert response.status_code == 401
