"""The per-worker cache of prepared distributions: reuse, expiry and invalidation by writes."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from api.distribution_cache import EXTENSION_KEY, DistributionCache
from api.recommender import Counts

from .conftest import bearer, dispose_engines, make_app


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Loader:
    """Returns the given counts and counts how often it was called."""

    def __init__(self, *counts: Counts) -> None:
        self.counts = list(counts)
        self.calls = 0

    def __call__(self) -> list[Counts]:
        self.calls += 1
        return self.counts


def test_cache_reuses_snapshot_within_ttl():
    clock = Clock()
    cache = DistributionCache(ttl=1.0, clock=clock)
    load = Loader(Counts("chess", male=1, female=3))

    first = cache.get(load)
    clock.now += 0.99
    second = cache.get(load)

    assert second is first
    assert load.calls == 1
    assert first.table["female"] == {"chess": 1.0}


def test_cache_reads_again_after_ttl():
    clock = Clock()
    cache = DistributionCache(ttl=1.0, clock=clock)
    load = Loader(Counts("chess", male=1, female=3))
    first = cache.get(load)

    clock.now += 1.0
    load.counts = [Counts("chess", male=1, female=3), Counts("judo", male=1, female=1)]
    second = cache.get(load)

    assert load.calls == 2
    assert second.table["male"] == {"chess": 0.5, "judo": 0.5}
    assert second.loaded_at == clock.now
    assert first.loaded_at == 100.0


def test_cache_invalidate_reads_again_at_once():
    cache = DistributionCache(ttl=3600, clock=Clock())
    load = Loader(Counts("chess", male=1, female=0))
    cache.get(load)

    cache.invalidate()
    cache.get(load)

    assert load.calls == 2


def test_cache_zero_ttl_reads_every_time():
    cache = DistributionCache(ttl=0, clock=Clock())
    load = Loader(Counts("chess", male=1, female=0))

    cache.get(load)
    cache.get(load)

    assert load.calls == 2


def test_cache_write_during_read_is_not_hidden():
    """A write committed while counts are read invalidates the snapshot being built."""
    cache = DistributionCache(ttl=3600, clock=Clock())
    calls = []

    def load_during_write() -> list[Counts]:
        calls.append(1)
        if len(calls) == 1:
            cache.invalidate()  # another thread commits while this read runs
        return [Counts("chess", male=1, female=0)]

    cache.get(load_during_write)
    cache.get(load_during_write)

    assert len(calls) == 2


def test_cache_serves_expired_snapshot_while_another_thread_reads():
    clock = Clock()
    cache = DistributionCache(ttl=1.0, clock=clock)
    load = Loader(Counts("chess", male=1, female=0))
    first = cache.get(load)
    clock.now += 5

    cache._loading.acquire()  # another thread is reading the counts
    try:
        served = cache.get(load)
    finally:
        cache._loading.release()

    assert served is first
    assert load.calls == 1


def test_snapshot_prepares_only_requested_genders():
    snapshot = DistributionCache(ttl=1.0, clock=Clock()).get(
        Loader(Counts("chess", male=1, female=0), Counts("judo", male=3, female=2))
    )

    male = snapshot.distribution("male")

    assert male.probabilities == {"chess": 0.25, "judo": 0.75}
    assert snapshot.distribution("male") is male
    assert set(snapshot._distributions) == {"male"}
    assert snapshot.table["female"] == {"chess": 0.0, "judo": 1.0}
    assert set(snapshot._distributions) == {"male", "female", "any"}


def test_cache_empty_catalogue():
    snapshot = DistributionCache(ttl=1.0, clock=Clock()).get(Loader())

    assert snapshot.table == {"male": {}, "female": {}, "any": {}}
    assert snapshot.distribution("any").sample(3, random.Random(1)) == []


@pytest.fixture
def long_cache_client(database_url: str, tmp_path: Any) -> Iterator[Any]:
    """A client of an app whose cache never expires by itself, so only writes refresh it."""
    app = make_app(database_url, tmp_path, recommendation_cache_seconds=3600)
    yield app.test_client()
    dispose_engines(app)


@pytest.mark.usefixtures("app")
def test_own_add_players_shows_at_once(long_cache_client, make_user_token):
    headers = bearer(make_user_token("alice"))
    before = long_cache_client.get("/v1/probabilities", headers=headers).json()
    assert before["male"] == {"basketball": 10 / 13, "swimming": 3 / 13}

    added = long_cache_client.post(
        "/v1/activities/swimming/players", json={"male": 10, "female": 0}, headers=headers
    )
    after = long_cache_client.get("/v1/probabilities", headers=headers).json()

    assert added.status_code == 200
    assert after["male"] == {"basketball": 10 / 23, "swimming": 13 / 23}


@pytest.mark.usefixtures("app")
def test_own_put_and_delete_show_at_once(long_cache_client, make_user_token):
    headers = bearer(make_user_token("alice"))
    long_cache_client.get("/v1/probabilities", headers=headers)

    created = long_cache_client.put(
        "/v1/activities/chess", json={"male_players": 7, "female_players": 0}, headers=headers
    )
    with_chess = long_cache_client.get("/v1/probabilities", headers=headers).json()
    deleted = long_cache_client.delete("/v1/activities/basketball", headers=headers)
    without_basketball = long_cache_client.get("/v1/probabilities", headers=headers).json()

    assert created.status_code == 201
    assert with_chess["male"] == {"basketball": 0.5, "chess": 0.35, "swimming": 0.15}
    assert deleted.status_code == 204
    assert without_basketball["male"] == {"chess": 0.7, "swimming": 0.3}


@pytest.mark.usefixtures("app")
def test_other_worker_write_shows_after_ttl(database_url, tmp_path, make_user_token, client):
    """Two apps on one database stand for two workers: each has its own cache."""
    headers = bearer(make_user_token("alice"))
    reader = make_app(database_url, tmp_path, recommendation_cache_seconds=1.0)
    reader_client = reader.test_client()
    clock = Clock()
    reader.app.extensions[EXTENSION_KEY]._clock = clock
    assert reader_client.get("/v1/probabilities", headers=headers).json()["female"] == {
        "basketball": 3 / 8,
        "swimming": 5 / 8,
    }

    written = client.post(
        "/v1/activities/basketball/players", json={"male": 0, "female": 5}, headers=headers
    )
    within_ttl = reader_client.get("/v1/probabilities", headers=headers).json()
    clock.now += 1.0
    after_ttl = reader_client.get("/v1/probabilities", headers=headers).json()

    assert written.status_code == 200
    assert within_ttl["female"] == {"basketball": 3 / 8, "swimming": 5 / 8}
    assert after_ttl["female"] == {"basketball": 8 / 13, "swimming": 5 / 13}
    dispose_engines(reader)
