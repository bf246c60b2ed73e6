from .conftest import bearer


def test_health_ok(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_activities_listed_for_user(client, user_token):
    response = client.get("/v1/activities", headers=bearer(user_token))
    assert response.status_code == 200
    assert [a["name"] for a in response.json()] == ["basketball", "swimming"]
