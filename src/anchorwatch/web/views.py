"""The data behind the pages and the API, computed once per state of the
store (``web.cache``) by the same functions the CLI and the reports use."""

from __future__ import annotations

from typing import Any

import polars as pl
from fastapi import Request

from anchorwatch.store import Store
from anchorwatch.web.cache import ViewCache


class Views:
    """Cached views of one store."""

    def __init__(self, store: Store, cache: ViewCache) -> None:
        self.store = store
        self.cache = cache

    def latest_month(self) -> str | None:
        def compute() -> str | None:
            from sqlalchemy import func, select

            from anchorwatch.store import schema

            with self.store.engine.connect() as conn:
                last = conn.execute(select(func.max(schema.messages.c.sent_at))).scalar()
            return None if last is None else f"{last:%Y-%m}"

        return self.cache.get("latest_month", compute)

    def report(self, month: str, edition: str = "community") -> Any:
        from anchorwatch.reports.monthly import monthly_report

        return self.cache.get(
            f"report:{month}:{edition}", lambda: monthly_report(self.store, month, edition)
        )

    def frames(self) -> Any:
        from anchorwatch.engines.members import load_member_frames

        return self.cache.get("frames", lambda: load_member_frames(self.store))

    def members(self, period: str = "month") -> Any:
        from anchorwatch.engines.members import members_table

        return self.cache.get(f"members:{period}", lambda: members_table(self.frames(), period))

    def watchlist(self) -> tuple[pl.DataFrame, dict[str, dict[str, list[str]]]]:
        from anchorwatch.engines.members import watchlist

        return self.cache.get("watchlist", lambda: watchlist(self.frames()))

    def faq(self, top: int = 10) -> pl.DataFrame:
        from anchorwatch.episodes.faq import faq
        from anchorwatch.store.analysis import question_frame

        return self.cache.get(f"faq:{top}", lambda: faq(question_frame(self.store), top))


def views_of(request: Request) -> Views:
    app = request.app
    found: Views | None = getattr(app.state, "view_models", None)
    if found is None:
        found = Views(app.state.store, app.state.views)
        app.state.view_models = found
    return found


def warm(app: Any) -> None:
    """Compute the whole-history views now (the overview's month, the
    members table, the watchlist, the repeated questions), so that the
    first operator to open a page does not wait for them.  Run in a
    background thread by ``anchorwatch serve``; a view that fails here (a
    store not analysed yet) is only computed, or explained, by its page
    later."""
    import logging

    views = Views(app.state.store, app.state.views)
    app.state.view_models = views
    month = views.latest_month()
    if month is None:
        return
    steps = (
        lambda: views.members("month"),
        views.watchlist,
        lambda: views.faq(10),
        lambda: views.report(month),
    )
    for step in steps:
        try:
            step()
        except Exception:
            logging.getLogger(__name__).info("warming a view failed", exc_info=True)
