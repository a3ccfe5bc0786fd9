"""Views computed once per state of the store and shared by every request.

The members stage and the monthly figures read the whole history (seconds on
a million messages), far too slow for a page.  They are computed on first use
and kept until the store changes: a cheap fingerprint (the latest import run,
the number of scored messages and of episodes, the latest care action),
looked at no more than every ``check_every`` seconds, tells.  One lock per
view, so twenty users arriving together compute it once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar, cast

from sqlalchemy import func, select

from anchorwatch.store import Store, schema

T = TypeVar("T")


def fingerprint(store: Store) -> tuple[Any, ...]:
    """What changes when an import, an analysis or a care action lands."""
    with store.engine.connect() as conn:
        imports = conn.execute(
            select(func.max(schema.imports.c.id), func.max(schema.imports.c.finished_at))
        ).one()
        episodes = conn.execute(select(func.count()).select_from(schema.episodes)).scalar()
        scored = conn.execute(select(func.count()).select_from(schema.message_signals)).scalar()
        care = conn.execute(select(func.max(schema.care_actions.c.id))).scalar()
    return (*imports, episodes, scored, care)


class ViewCache:
    def __init__(self, store: Store, check_every: float = 5.0, bounded_size: int = 2_000) -> None:
        self.store = store
        self.check_every = check_every
        self.bounded_size = bounded_size
        self._values: dict[str, Any] = {}
        # Per-item views (one member's page) are kept for the most recent
        # ``bounded_size`` keys only, so browsing every member cannot grow
        # memory without end.
        self._bounded: OrderedDict[str, Any] = OrderedDict()
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._print: tuple[Any, ...] | None = None
        self._generation = 0
        self._checked = 0.0

    def _fresh(self) -> None:
        now = time.monotonic()
        with self._guard:
            if now - self._checked < self.check_every and self._print is not None:
                return
            self._checked = now
        current = fingerprint(self.store)
        with self._guard:
            if current != self._print:
                self._values.clear()
                self._bounded.clear()
                self._generation += 1
                self._print = current

    def get(self, key: str, compute: Callable[[], T], *, bounded: bool = False) -> T:
        """The view ``key``, computed by ``compute`` when missing or stale."""
        self._fresh()
        values = self._bounded if bounded else self._values
        with self._guard:
            if key in values:
                if bounded:
                    self._bounded.move_to_end(key)
                return cast(T, values[key])
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in values:
                    return cast(T, values[key])
                generation = self._generation
            value = compute()
            with self._guard:
                # A value computed while the store changed (or the cache was
                # cleared) is returned but not kept: it may be stale.
                if generation == self._generation:
                    values[key] = value
                    if bounded:
                        while len(self._bounded) > self.bounded_size:
                            self._bounded.popitem(last=False)
            return value

    def clear(self) -> None:
        with self._guard:
            self._values.clear()
            self._bounded.clear()
            self._generation += 1
            self._print = None
