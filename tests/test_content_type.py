"""Media types in Content-Type are matched case-insensitively."""

import pytest

from .conftest import bearer


@pytest.mark.parametrize("content_type", ["APPLICATION/JSON", "Application/Json; charset=UTF-8"])
def test_put_activity_mixed_case_content_type(client, user_token, content_type):
    response = client.put(
        "/v1/activities/chess",
        content=b'{"male_players": 1, "female_players": 2}',
        headers={**bearer(user_token), "Content-Type": content_type},
    )

    assert response.status_code == 201
    assert response.json() == {"name": "chess", "male_players": 1, "female_players": 2}


def test_create_user_mixed_case_content_type_validated(client, root_token):
    response = client.post(
        "/v1/users",
        content=b'{"username": "bad name"}',
        headers={**bearer(root_token), "Content-Type": "Application/JSON"},
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
