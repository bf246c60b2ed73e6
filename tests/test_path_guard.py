"""URL paths with a line break are rejected before routing, with or without a token."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import bearer


@pytest.mark.parametrize("suffix", ["%0A", "%0D", "%0D%0A"])
def test_delete_with_trailing_line_break_is_rejected(
    client: Any, user_token: str, suffix: str
) -> None:
    response = client.delete(f"/v1/activities/swimming{suffix}")

    assert response.status_code == 400
    assert response.json()["detail"] == "The URL path must not contain control characters."
    names = [
        item["name"] for item in client.get("/v1/activities", headers=bearer(user_token)).json()
    ]
    assert names == ["basketball", "swimming"]


def test_line_break_inside_path_is_rejected(client: Any, user_token: str) -> None:
    response = client.get("/v1/recommendations/ma%0Ale", headers=bearer(user_token))
    assert response.status_code == 400


def test_rejection_does_not_depend_on_earlier_requests(client: Any, user_token: str) -> None:
    # Flask runs handlers in a thread pool, so an earlier authorized request must not
    # lend its context to an unauthorized one.
    for _ in range(5):
        assert (
            client.get("/v1/activities/basketball", headers=bearer(user_token)).status_code == 200
        )
        assert client.delete("/v1/activities/basketball%0A").status_code == 400
    assert client.get("/v1/activities/basketball", headers=bearer(user_token)).status_code == 200
