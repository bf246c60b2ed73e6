"""The API over real HTTP, served by gunicorn with two uvicorn workers.

Each test sends several requests in a row, so that both workers serve some of them.
"""

from __future__ import annotations

import socket

import pytest
import requests

from ..conftest import ROOT_PASSWORD

#: Enough requests in a row that, with two workers, both serve some.
REPEATS = 10


def root_headers(http: requests.Session) -> dict[str, str]:
    login = http.post("/v1/token", data={"username": "root", "password": ROOT_PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def user_headers(http: requests.Session, root: dict[str, str], username: str) -> dict[str, str]:
    assert http.post("/v1/users", json={"username": username}, headers=root).status_code == 201
    issued = http.post(f"/v1/users/{username}/tokens", json={"expires_in_days": 1}, headers=root)
    assert issued.status_code == 201, issued.text
    return {"Authorization": f"Bearer {issued.json()['access_token']}"}


def raw_request(server, request: bytes) -> tuple[int, bytes]:
    """Send bytes as they are, which HTTP client libraries would encode or refuse."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    status = int(response.split(b" ", 2)[1])
    return status, response


def test_e2e_login_and_me(http):
    root = root_headers(http)

    for _ in range(REPEATS):
        response = http.get("/v1/me", headers=root)
        assert response.status_code == 200
        assert response.json() == {"username": "root", "role": "root"}


def test_e2e_missing_token(http):
    response = http.get("/v1/activities")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers["Content-Type"] == "application/problem+json"


def test_e2e_user_role_forbidden_on_root_operation(http):
    alice = user_headers(http, root_headers(http), "alice")

    response = http.get("/v1/users", headers=alice)

    assert response.status_code == 403
    assert response.json()["detail"] == "This operation requires the root role."


def test_e2e_deleted_user_token_rejected_by_every_worker(http):
    root = root_headers(http)
    alice = user_headers(http, root, "alice")
    for _ in range(REPEATS):
        assert http.get("/v1/me", headers=alice).status_code == 200

    assert http.delete("/v1/users/alice", headers=root).status_code == 204

    for _ in range(REPEATS):
        response = http.get("/v1/activities", headers=alice)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_e2e_activity_lifecycle(http):
    alice = user_headers(http, root_headers(http), "alice")

    created = http.put(
        "/v1/activities/P%C3%A9tanque", json={"male_players": 4, "female_players": 6}, headers=alice
    )
    added = http.post(
        "/v1/activities/pe%CC%81tanque/players", json={"male": 1, "female": 2}, headers=alice
    )
    listed = http.get("/v1/activities", headers=alice)
    deleted = http.delete("/v1/activities/p%C3%A9tanque", headers=alice)
    after_delete = http.get("/v1/activities/p%C3%A9tanque", headers=alice)

    assert created.status_code == 201
    assert created.headers["Location"] == "/v1/activities/p%C3%A9tanque"
    assert created.json() == {"name": "p\u00e9tanque", "male_players": 4, "female_players": 6}
    assert added.json() == {"name": "p\u00e9tanque", "male_players": 5, "female_players": 8}
    assert [a["name"] for a in listed.json()] == ["basketball", "p\u00e9tanque", "swimming"]
    assert deleted.status_code == 204
    assert after_delete.status_code == 404


def test_e2e_add_players_overflow_changes_nothing(http):
    alice = user_headers(http, root_headers(http), "alice")

    response = http.post(
        "/v1/activities/swimming/players", json={"male": 2_147_483_645, "female": 0}, headers=alice
    )

    assert response.status_code == 409
    assert http.get("/v1/activities/swimming", headers=alice).json() == {
        "name": "swimming",
        "male_players": 3,
        "female_players": 5,
    }


def test_e2e_same_seed_same_answer_on_every_worker(http):
    alice = user_headers(http, root_headers(http), "alice")
    for name, male, female in [("chess", 1, 4), ("judo", 6, 2), ("yoga", 2, 9)]:
        http.put(
            f"/v1/activities/{name}",
            json={"male_players": male, "female_players": female},
            headers=alice,
        )

    answers = {
        http.get("/v1/recommendations/any?count=3&seed=42", headers=alice).text
        for _ in range(REPEATS)
    }

    assert len(answers) == 1


def test_e2e_recommendations_use_probabilities(http):
    alice = user_headers(http, root_headers(http), "alice")
    probabilities = http.get("/v1/probabilities", headers=alice).json()

    for gender in ("male", "female", "any"):
        body = http.get(f"/v1/recommendations/{gender}?count=100&seed=1", headers=alice).json()
        drawn = {r["activity"]: r["probability"] for r in body["recommendations"]}
        assert drawn == probabilities[gender]


def test_e2e_reset(http):
    root = root_headers(http)
    http.put("/v1/activities/chess", json={"male_players": 1, "female_players": 1}, headers=root)

    response = http.post("/v1/reset", headers=root)

    assert response.status_code == 200
    assert [a["name"] for a in response.json()] == ["basketball", "swimming"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/recommendations/dog", 400),
        ("/v1/recommendations/male?count=101", 400),
        ("/v1/activities/%FF", 400),
        ("/v1/activities/rock%0Aclimbing", 400),
        ("/v1/activities/a%2Fb", 404),
        ("/v1/nothing", 404),
    ],
)
def test_e2e_bad_paths(http, path, status):
    alice = user_headers(http, root_headers(http), "alice")

    response = http.get(path, headers=alice)

    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"not json", "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b'{"male_players": NaN, "female_players": 0}', "application/json", 400),
        (b'{"male_players": 1, "female_players": 1}', None, 415),
        (b'{"male_players": 1, "female_players": 1}', "text/plain", 415),
    ],
)
def test_e2e_bad_bodies(server, http, body, content_type, status):
    alice = user_headers(http, root_headers(http), "alice")
    headers = f"Authorization: {alice['Authorization']}\r\n".encode()
    if content_type:
        headers += f"Content-Type: {content_type}\r\n".encode()

    code, response = raw_request(
        server,
        b"PUT /v1/activities/chess HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        + headers
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body,
    )

    assert code == status
    assert b"application/problem+json" in response


def test_e2e_chunked_body_accepted(server, http):
    alice = user_headers(http, root_headers(http), "alice")
    body = b'{"male_players": 1, "female_players": 1}'

    code, response = raw_request(
        server,
        b"PUT /v1/activities/chess HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        + f"Authorization: {alice['Authorization']}\r\n".encode()
        + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + f"{len(body):x}\r\n".encode()
        + body
        + b"\r\n0\r\n\r\n",
    )

    assert code == 201, response


def test_e2e_health_and_ready(http):
    assert http.get("/health").json() == {"status": "ok"}
    assert http.get("/ready").json() == {"status": "ok"}


def test_e2e_docs_and_spec(http):
    docs = http.get("/docs/")
    spec = http.get("/openapi.json")

    assert docs.status_code == 200
    assert "swagger-ui" in docs.text
    assert spec.status_code == 200
    assert spec.json()["info"]["title"] == "Activity Recommender"
