"""Activity names compare the same on every database: by the service's rule, not the collation.

The service trims, NFC-normalizes and lowercases names. The database must then compare
bytes, because MySQL's accent- and case-folding collations would merge names that the
rule keeps apart.
"""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from api.db import db
from api.models import Activity

from .conftest import bearer

CAFE_NFC = unicodedata.normalize("NFC", "Café")
CAFE_NFD = unicodedata.normalize("NFD", "Café")
#: A 4-byte UTF-8 character, which MySQL's 3-byte `utf8` charset cannot store.
SURFING = "\N{SURFER} surfing"


def path(name: str) -> str:
    return f"/v1/activities/{quote(name, safe='')}"


@pytest.mark.parametrize(
    "variant",
    [CAFE_NFC, CAFE_NFD, "café", "CAFÉ", CAFE_NFD.upper(), " Café", "Café   ", "  CAFÉ  "],
)
def test_name_variants_reach_one_row(client: Any, user_token: str, variant: str) -> None:
    headers = bearer(user_token)
    created = client.put(
        path(CAFE_NFC), json={"male_players": 1, "female_players": 2}, headers=headers
    )
    assert created.status_code == 201

    fetched = client.get(path(variant), headers=headers)
    assert fetched.status_code == 200
    assert fetched.json() == {"name": "café", "male_players": 1, "female_players": 2}

    replaced = client.put(
        path(variant), json={"male_players": 4, "female_players": 5}, headers=headers
    )
    assert replaced.status_code == 200

    added = client.post(f"{path(variant)}/players", json={"male": 1, "female": 0}, headers=headers)
    assert added.status_code == 200
    assert added.json() == {"name": "café", "male_players": 5, "female_players": 5}

    names = [activity["name"] for activity in client.get("/v1/activities", headers=headers).json()]
    assert names == ["basketball", "café", "swimming"]


@pytest.mark.parametrize(
    ("first", "second"), [("café", "cafe"), ("straße", "strasse"), ("a b", "ab")]
)
def test_distinct_names_stay_apart(client: Any, user_token: str, first: str, second: str) -> None:
    """Names that an accent-, width- or space-folding collation would merge are two rows."""
    headers = bearer(user_token)
    first_put = client.put(
        path(first), json={"male_players": 1, "female_players": 0}, headers=headers
    )
    assert first_put.status_code == 201
    second_put = client.put(
        path(second), json={"male_players": 0, "female_players": 1}, headers=headers
    )
    assert second_put.status_code == 201

    assert client.get(path(first), headers=headers).json()["male_players"] == 1
    assert client.get(path(second), headers=headers).json()["female_players"] == 1
    names = {activity["name"] for activity in client.get("/v1/activities", headers=headers).json()}
    assert names == {"basketball", "swimming", first, second}


def test_four_byte_name_round_trips(app: Any, client: Any, user_token: str) -> None:
    headers = bearer(user_token)
    created = client.put(
        path(SURFING), json={"male_players": 2, "female_players": 3}, headers=headers
    )
    assert created.status_code == 201
    assert created.json()["name"] == SURFING

    fetched = client.get(path(f"  {SURFING.upper()} "), headers=headers)
    assert fetched.status_code == 200
    assert fetched.json() == {"name": SURFING, "male_players": 2, "female_players": 3}

    with app.app.app_context():
        stored = db.session.execute(
            select(Activity.name, func.length(Activity.name)).where(Activity.name == SURFING)
        ).one()
        db.session.remove()
    assert stored[0] == SURFING
    # LENGTH counts bytes on MySQL and characters on SQLite and PostgreSQL.
    assert stored[1] in (len(SURFING), len(SURFING.encode()))
