"""A per-worker cache of the prepared distributions, so that a recommendation reads no table.

Preparing the distributions reads every activity's counts, which costs O(n) for n
activities. Each worker does it at most once per `ttl` seconds, and again after it
commits a change to the activities itself. So:

- a worker never serves counts older than its own last acknowledged write, because the
  write's commit invalidates the cache before the response is sent;
- a write through another worker or task shows within `ttl` seconds plus the duration
  of one read of the counts, because a cache older than `ttl` is read again.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session

from .db import db
from .models import Activity
from .recommender import GENDERS, Counts, PreparedDistribution, prepare

EXTENSION_KEY = "activity_recommender.distribution_cache"

#: Set in a session's `info` when it wrote to the activities table in its transaction.
_WROTE_ACTIVITIES = "activity_recommender.wrote_activities"


class Snapshot:
    """The counts of one read, and each gender's distribution prepared from them once."""

    def __init__(self, counts: list[Counts], generation: int, loaded_at: float) -> None:
        self.counts = counts
        self.generation = generation
        #: `time.monotonic()` just before the counts were read.
        self.loaded_at = loaded_at
        self._distributions: dict[str, PreparedDistribution] = {}
        self._preparing = threading.Lock()

    def distribution(self, gender: str) -> PreparedDistribution:
        """Return `gender`'s distribution, preparing it at the first request for it."""
        prepared = self._distributions.get(gender)
        if prepared is None:
            # One thread prepares it; the others wait instead of repeating the work.
            with self._preparing:
                prepared = self._distributions.get(gender)
                if prepared is None:
                    prepared = self._distributions[gender] = prepare(self.counts, gender)
        return prepared

    @property
    def table(self) -> dict[str, dict[str, float]]:
        """Return P(activity | gender) for every gender."""
        return {gender: self.distribution(gender).probabilities for gender in GENDERS}


class DistributionCache:
    """The latest snapshot of one worker, read again when too old or invalidated."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._counter = itertools.count(1)
        self._generation = 0
        self._snapshot: Snapshot | None = None
        self._loading = threading.Lock()

    def invalidate(self) -> None:
        """Make the next `get` read the counts again; call it after committing a change."""
        # next() on itertools.count is atomic in CPython, so concurrent writers never
        # share a generation, and this never waits for a load in progress.
        self._generation = next(self._counter)

    def get(self, load: Callable[[], Iterable[Counts]]) -> Snapshot:
        """Return a snapshot that is fresh enough, calling `load` for the counts if needed."""
        snapshot = self._snapshot
        if snapshot is not None and snapshot.generation == self._generation:
            if self._clock() - snapshot.loaded_at < self.ttl:
                return snapshot
            # Only too old: while another thread reads the counts, keep serving this one
            # instead of queueing every request behind the read.
            if not self._loading.acquire(blocking=False):
                return snapshot
        else:
            # Invalidated by this worker's own write, or never loaded: wait for fresh counts.
            self._loading.acquire()
        try:
            return self._refresh(load)
        finally:
            self._loading.release()

    def _refresh(self, load: Callable[[], Iterable[Counts]]) -> Snapshot:
        snapshot = self._snapshot
        generation = self._generation
        if (
            snapshot is not None
            and snapshot.generation == generation
            and self._clock() - snapshot.loaded_at < self.ttl
        ):
            return snapshot  # another thread refreshed it while this one waited
        # Taken before the read: a write committed after this point invalidates the
        # snapshot again, and `loaded_at` never claims the counts are newer than they are.
        loaded_at = self._clock()
        snapshot = Snapshot(list(load()), generation, loaded_at)
        self._snapshot = snapshot
        return snapshot


def init_app(flask_app: Flask, ttl: float) -> None:
    """Give `flask_app` its cache, and invalidate it whenever a session commits activities."""
    flask_app.extensions[EXTENSION_KEY] = DistributionCache(ttl)
    session_class = db.session.session_factory.class_
    for name, listener in _LISTENERS.items():
        if not event.contains(session_class, name, listener):
            event.listen(session_class, name, listener)


def current_snapshot() -> Snapshot:
    """Return the current app's snapshot of the distributions."""
    cache: DistributionCache = current_app.extensions[EXTENSION_KEY]
    return cache.get(_read_counts)


def _read_counts() -> list[Counts]:
    # A connection of its own, not the request's session: its transaction starts now,
    # so it sees every write committed before `loaded_at`, on any isolation level.
    table = Activity.__table__
    query = select(table.c.name, table.c.male_players, table.c.female_players)
    with db.engine.connect() as connection:
        return [Counts(name, male, female) for name, male, female in connection.execute(query)]


def _note_orm_execute(state: ORMExecuteState) -> None:
    """Mark a session that ran an INSERT, UPDATE or DELETE on the activities table."""
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if table is not None and table.name == Activity.__tablename__:
            state.session.info[_WROTE_ACTIVITIES] = True


def _note_flush(session: Session, _context: Any) -> None:
    """Mark a session whose flush added, changed or deleted an activity."""
    # In after_flush, new, dirty and deleted still list what the flush wrote.
    changed = itertools.chain(session.new, session.dirty, session.deleted)
    if any(isinstance(instance, Activity) for instance in changed):
        session.info[_WROTE_ACTIVITIES] = True


def invalidate() -> None:
    """Invalidate the current app's cache, if any; call it after committing a change."""
    if has_app_context():
        cache = current_app.extensions.get(EXTENSION_KEY)
        if cache is not None:
            cache.invalidate()


def _invalidate_after_commit(session: Session) -> None:
    if session.info.pop(_WROTE_ACTIVITIES, False):
        invalidate()


def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_WROTE_ACTIVITIES, None)


_LISTENERS: dict[str, Callable[..., None]] = {
    "do_orm_execute": _note_orm_execute,
    "after_flush": _note_flush,
    "after_commit": _invalidate_after_commit,
    "after_rollback": _forget_after_rollback,
}
