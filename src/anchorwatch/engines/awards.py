"""The awards stage over a store: nominees with their dossiers (DESIGN 1.4, issue 6).

The I/O edge of :mod:`anchorwatch.care.awards`: reads the member frames
(``engines.members.load_member_frames``, which applies the anti-gaming rules),
the year's ledger and value index (``members_table`` by year), the members'
roles and join dates, the care log, and for the few nominees the episodes and
message texts their dossiers quote.  Everything else is the pure core.  Used
by ``anchorwatch awards``, the monthly report (:func:`award_table`) and the
web app.

>>> from anchorwatch.store import open_store          # doctest: +SKIP
>>> for n in award_nominees(open_store("sqlite:///aw.db"), 2026):  # doctest: +SKIP
...     print(n.category_name, n.rank, n.name, n.score, n.rewards[0].name)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import polars as pl

from anchorwatch.care.awards import (
    PEOPLE_SCHEMA,
    AwardsConfig,
    CitedEpisode,
    Eligibility,
    RewardsConfig,
    act_quotes,
    allocate,
    award_fields,
    awarded_in,
    awards_config,
    best_episodes,
    citation,
    eligibility,
    held_elsewhere,
    rank_category,
    rewards_config,
    suggest_rewards,
    thanks_quotes,
)
from anchorwatch.engines.members import (
    MemberFrames,
    frames_until,
    load_member_frames,
    members_table,
)
from anchorwatch.i18n import current_locale, t
from anchorwatch.store import Store

#: The totals a dossier reports, in this order.
OUTCOME_TOTALS = (
    "episodes_served",
    "acts",
    "conflicts_calmed",
    "deescalations",
    "complaints_converted",
    "newcomers_helped",
    "newcomers_stayed",
    "repeated_answered",
)

#: The columns of :func:`award_table` (the monthly report reads them).
TABLE_COLUMNS = ("category", "category_name", "rank", "member", "name", "score")


@dataclass
class EpisodeEvidence:
    """One of the nominee's best episodes."""

    id: str
    kind: str
    conversation: str | None
    place: str
    started_at: str
    outcome: dict[str, Any]
    acts: list[str]
    messages: list[str]


@dataclass
class Quote:
    """A message in the dossier: the nominee's own act, or thanks aimed at them."""

    message: str
    text: str
    at: str
    act: str | None = None
    giver: str | None = None


@dataclass
class Dossier:
    """The evidence behind a nomination."""

    episodes: list[EpisodeEvidence]
    quotes: list[Quote]
    thanks: list[Quote]
    outcomes: dict[str, int]
    thanks_received: int
    thanks_givers: int


@dataclass
class RewardSuggestion:
    """A catalogue item suggested for the nominee, and why."""

    item: str
    name: str
    kind: str
    value: float
    reason: str


@dataclass
class Nomination:
    """A member nominated in a category, with the score's parts and the dossier."""

    version: str
    year: int
    category: str
    category_name: str
    rank: int
    recipient: bool
    member: str
    name: str
    score: float
    parts: dict[str, float]
    burnout_risk: int | None
    level: str | None
    dossier: Dossier
    rewards: list[RewardSuggestion] = field(default_factory=list)
    citation: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (``anchorwatch awards --json``), with ``type: nomination``."""
        return {"type": "nomination", **asdict(self)}


@dataclass
class Exclusion:
    """A member who did labour in the year but may not be nominated, and why."""

    member: str
    name: str
    value_index: float
    reasons: list[str]
    details: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"type": "exclusion", **asdict(self)}


@dataclass
class AwardReport:
    """Everything ``anchorwatch awards`` shows for a year."""

    version: str
    year: int
    nominations: list[Nomination]
    excluded: list[Exclusion]
    #: Members in a category's first places who receive another award instead:
    #: ``category``, ``member``, ``name``, ``place``, ``held``, ``held_name``.
    elsewhere: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Ranked:
    """The allocation and what it was computed from."""

    nominees: pl.DataFrame
    fields: pl.DataFrame
    excluded: pl.DataFrame
    elsewhere: pl.DataFrame


def people_frame(store: Store) -> pl.DataFrame:
    """Members' roles and join dates (``care.awards.PEOPLE_SCHEMA``)."""
    from sqlalchemy import select

    from anchorwatch.store import schema
    from anchorwatch.store.analysis import read_frame

    m = schema.members
    with store.engine.connect() as conn:
        return read_frame(conn, select(m.c.id, m.c.role, m.c.joined_at), PEOPLE_SCHEMA)


def _rank(store: Store, frames: MemberFrames, year: int, cfg: AwardsConfig, top: int) -> _Ranked:
    table = members_table(frames, "year", evidence=False).rows
    year_rows = table.filter(pl.col("period") == str(year))
    fields_ = award_fields(
        year_rows, frames.acts, frames.aimed, frames.messages, people_frame(store), year, cfg
    )
    awarded = awarded_in(frames.care, year)
    # Categories that keep the global rules share one check.
    checked: dict[Eligibility, pl.DataFrame] = {}

    def check(rules: Eligibility) -> pl.DataFrame:
        if rules not in checked:
            checked[rules] = eligibility(
                fields_, frames.findings, awarded, rules, cfg.anti_gaming, cfg.one_award_per_person
            )
        return checked[rules]

    rankings = pl.concat(
        [rank_category(check(c.eligibility).filter("eligible"), c) for c in cfg.categories]
    )
    nominees = allocate(rankings, cfg.categories, top, cfg.one_award_per_person)
    risk = year_rows.select("member", "burnout_risk", "level")
    nominees = nominees.join(risk, on="member", how="left")
    excluded = (
        check(cfg.eligibility)
        .filter(~pl.col("eligible"))
        .sort(["value_index", "member"], descending=[True, False])
    )
    return _Ranked(nominees, fields_, excluded, held_elsewhere(rankings, nominees, top))


def _name(frames: MemberFrames, member: str) -> str:
    return frames.names.get(member, member)


def award_table(
    store: Store,
    year: int,
    *,
    until: datetime | None = None,
    frames: MemberFrames | None = None,
) -> pl.DataFrame:
    """The nominees of ``year`` in every category, without dossiers.

    Columns ``category``, ``category_name`` (in the current locale), ``rank``,
    ``member``, ``name``, ``score``; the first three nominees per category, in
    the configuration's category order.  Cheap enough for a monthly report.
    ``until`` (naive UTC) ranks the year to date: only what happened before
    it counts.  ``frames`` reuses member frames already read.
    """
    cfg = awards_config()
    frames = frames or load_member_frames(store)
    if until is not None:
        frames = frames_until(frames, until)
    if frames.messages.height == 0:
        return pl.DataFrame(
            schema={c: pl.Int64 if c == "rank" else pl.String for c in TABLE_COLUMNS}
        )
    ranked = _rank(store, frames, year, cfg, 3).nominees
    names = {c.key: c.name() for c in cfg.categories}
    return ranked.select(
        "category",
        pl.col("category").replace_strict(names, return_dtype=pl.String).alias("category_name"),
        "rank",
        "member",
        pl.col("member")
        .replace_strict(frames.names, default=pl.col("member"), return_dtype=pl.String)
        .alias("name"),
        pl.col("score").round(1),
    )


def award_nominees(
    store: Store,
    year: int,
    *,
    top: int = 3,
    category: str | None = None,
    locale: str | None = None,
) -> list[Nomination]:
    """Ranked nominees of ``year``, each with an evidence dossier, reward
    suggestions and a citation (``category`` narrows to one category; the
    one-award-per-person allocation still weighs them all)."""
    return award_report(store, year, top=top, category=category, locale=locale).nominations


def award_report(
    store: Store,
    year: int,
    *,
    top: int = 3,
    category: str | None = None,
    locale: str | None = None,
    frames: MemberFrames | None = None,
    cfg: AwardsConfig | None = None,
    rewards: RewardsConfig | None = None,
) -> AwardReport:
    """:func:`award_nominees` plus the members who were not eligible and why.

    ``frames`` saves a second read when the caller has them already;
    ``cfg`` and ``rewards`` replace the packaged configuration.
    """
    cfg = cfg or awards_config()
    rewards = rewards or rewards_config()
    loc = current_locale(locale)
    frames = frames or load_member_frames(store)
    if frames.messages.height == 0:
        return AwardReport(cfg.version, year, [], [])
    ranked = _rank(store, frames, year, cfg, top)
    nominees, moved = ranked.nominees, ranked.elsewhere
    if category is not None:
        nominees = nominees.filter(pl.col("category") == category)
        moved = moved.filter(pl.col("category") == category)
    elsewhere = [
        {
            **row,
            "name": _name(frames, row["member"]),
            "held_name": cfg.category(row["held"]).name(loc),
        }
        for row in moved.iter_rows(named=True)
    ]
    excluded = [
        Exclusion(
            row["member"],
            _name(frames, row["member"]),
            float(row["value_index"] or 0.0),
            list(row["reasons"]),
            [_reason(code, row, cfg, loc) for code in row["reasons"]],
        )
        for row in ranked.excluded.iter_rows(named=True)
    ]
    if nominees.height == 0:
        return AwardReport(cfg.version, year, [], excluded, elsewhere)
    return AwardReport(
        cfg.version,
        year,
        _nominations(store, frames, nominees, ranked.fields, year, cfg, rewards, loc),
        excluded,
        elsewhere,
    )


def _reason(code: str, row: dict[str, Any], cfg: AwardsConfig, loc: str) -> str:
    """One exclusion reason in words, with the member's value and the rule."""
    rules, anti = cfg.eligibility, cfg.anti_gaming
    params: dict[str, Any] = {
        "role": {"role": row["role"]},
        "awarded": {},
        "gaming": {"rules": ", ".join(t(f"awards.gaming.{r}", loc) for r in row["gaming"])},
        "tenure": {"n": row["tenure_days"], "min": rules.min_tenure_days},
        "active_months": {"n": row["active_months"], "min": rules.min_active_months},
        "acts": {"n": row["acts"], "min": rules.min_acts},
        "episodes": {"n": row["episodes_served"], "min": rules.min_episodes},
        "thanks_givers": {"n": row["thanks_givers"], "min": anti.min_thanks_givers},
        "discounted_share": {
            "share": f"{row['discounted_share']:.0%}",
            "max": f"{anti.max_discounted_share:.0%}",
        },
    }[code]
    return t(f"awards.reason.{code}", loc, **params)


def _iso_local(at: datetime, offset_min: int) -> str:
    tz = timezone(timedelta(minutes=offset_min))
    return at.replace(tzinfo=UTC).astimezone(tz).isoformat()


def _episode_rows(store: Store, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The dossier's episodes: kind, conversation, where (its title, else the
    channel), outcome, and the local time of its first message."""
    from sqlalchemy import select

    from anchorwatch.store import schema

    wanted = sorted(set(ids))
    if not wanted:
        return {}
    e, c, m = schema.episodes, schema.conversations, schema.messages
    stmt = (
        select(
            e.c.id,
            e.c.kind,
            e.c.conversation,
            e.c.started_at,
            e.c.outcome,
            e.c.messages,
            c.c.title,
            c.c.channel,
        )
        .outerjoin(c, c.c.id == e.c.conversation)
        .where(e.c.id.in_(wanted))
    )
    out: dict[str, dict[str, Any]] = {}
    with store.engine.connect() as conn:
        rows = conn.execute(stmt).all()
        firsts = {r.id: (r.messages or [None])[0] for r in rows}
        offsets = dict(
            conn.execute(
                select(m.c.id, m.c.sent_offset).where(m.c.id.in_([f for f in firsts.values() if f]))
            ).all()
        )
    for r in rows:
        offset = int(offsets.get(firsts[r.id]) or 0)
        channel = (r.channel or "").split(":", 1)[-1]
        out[r.id] = {
            "kind": r.kind,
            "conversation": r.conversation,
            "place": (r.title or channel or r.conversation or "").strip(),
            "outcome": dict(r.outcome or {}),
            "started_at": _iso_local(r.started_at, offset),
            "day": (r.started_at + timedelta(minutes=offset)).date(),
        }
    return out


def _message_texts(store: Store, ids: Iterable[str]) -> dict[str, tuple[str, datetime, int]]:
    from sqlalchemy import select

    from anchorwatch.store import schema

    wanted = sorted(set(ids))
    if not wanted:
        return {}
    m = schema.messages
    # A text the retention policy removed is not quoted.
    stmt = select(m.c.id, m.c.text, m.c.sent_at, m.c.sent_offset).where(
        m.c.id.in_(wanted), m.c.text_removed_at.is_(None)
    )
    with store.engine.connect() as conn:
        return {mid: (text, at, off) for mid, text, at, off in conn.execute(stmt)}


def _clip(text: str, chars: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= chars else text[: max(chars - 1, 1)] + "…"


def _thanks_quote(thanked: list[Quote], name: str, chars: int = 40) -> str | None:
    """The thank-you a citation quotes: one that names the member first (it
    was said to them, not to the room), then the one with most to say
    ("谢谢🙏" says little about what the member did)."""
    if not thanked:
        return None
    best = max(thanked, key=lambda q: (name in q.text, len(q.text), q.message))
    return _clip(best.text, chars)


def _group(frame: pl.DataFrame, *keys: str) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
    out: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in frame.iter_rows(named=True):
        out.setdefault(tuple(row[k] for k in keys), []).append(row)
    return out


def _nominations(
    store: Store,
    frames: MemberFrames,
    nominees: pl.DataFrame,
    fields_: pl.DataFrame,
    year: int,
    cfg: AwardsConfig,
    rewards: RewardsConfig,
    loc: str,
) -> list[Nomination]:
    """Dossiers, rewards and citations for the (few) nominees."""
    sizes = cfg.dossier
    best = best_episodes(frames.acts, nominees, year, cfg.categories, sizes.episodes)
    offsets = frames.messages.select("message", "offset_min")
    quotes = act_quotes(frames.acts, nominees, best, year, sizes.quotes, sizes.quote_chars).join(
        offsets, on="message", how="left"
    )
    thanks = thanks_quotes(frames.aimed, nominees["member"].unique(), year, sizes.thanks)
    offers = suggest_rewards(nominees, rewards)
    episodes = _episode_rows(store, best["episode"])
    texts = _message_texts(store, thanks["message"])
    facts = {row["member"]: row for row in fields_.iter_rows(named=True)}
    best_by = _group(best, "category", "member")
    quotes_by = _group(quotes, "category", "member")
    thanks_by = _group(thanks, "member")
    offers_by = _group(offers, "category", "member")
    out = []
    for row in nominees.iter_rows(named=True):
        key = (row["category"], row["member"])
        cat = cfg.category(row["category"])
        mine = facts[row["member"]]
        evidence = [
            EpisodeEvidence(
                id=b["episode"],
                kind=b["kind"],
                conversation=episodes.get(b["episode"], {}).get("conversation"),
                place=episodes.get(b["episode"], {}).get("place", ""),
                started_at=episodes.get(b["episode"], {}).get("started_at", ""),
                outcome=episodes.get(b["episode"], {}).get("outcome", {}),
                acts=list(b["acts"]),
                messages=list(b["messages"]),
            )
            for b in best_by.get(key, [])
        ]
        own = [
            Quote(
                q["message"],
                q["text"],
                _iso_local(q["at"], q["offset_min"] or 0),
                act=q["act"],
            )
            for q in quotes_by.get(key, [])
        ]
        thanked = [
            Quote(
                q["message"],
                _clip(texts[q["message"]][0], sizes.quote_chars),
                _iso_local(q["at"], texts[q["message"]][2]),
                giver=q["giver"],
            )
            for q in thanks_by.get((row["member"],), [])
            if q["message"] in texts
        ]
        suggested = [
            RewardSuggestion(
                o["item"], rewards.item(o["item"]).name(loc), o["kind"], o["value"], o["reason"]
            )
            for o in offers_by.get(key, [])
        ]
        first = evidence[0] if evidence else None
        cited = (
            CitedEpisode(first.kind, episodes[first.id]["day"], first.place, first.outcome)
            if first is not None and first.id in episodes
            else None
        )
        text = citation(
            name=_name(frames, row["member"]),
            year=year,
            category=cat,
            facts=mine,
            episode=cited,
            thanks_quote=_thanks_quote(thanked, _name(frames, row["member"])),
            reward=rewards.item(suggested[0].item) if suggested else None,
            max_facts=sizes.citation_facts,
            locale=loc,
        )
        risk = row.get("burnout_risk")
        out.append(
            Nomination(
                version=cfg.version,
                year=year,
                category=cat.key,
                category_name=cat.name(loc),
                rank=int(row["rank"]),
                recipient=bool(row["recipient"]),
                member=row["member"],
                name=_name(frames, row["member"]),
                score=round(float(row["score"]), 1),
                parts={p["field"]: p["points"] for p in row["parts"]},
                burnout_risk=None if risk is None else int(risk),
                level=row.get("level"),
                dossier=Dossier(
                    episodes=evidence,
                    quotes=own,
                    thanks=thanked,
                    outcomes={k: int(mine.get(k) or 0) for k in OUTCOME_TOTALS},
                    thanks_received=int(mine["thanks_received"]),
                    thanks_givers=int(mine["thanks_givers"]),
                ),
                rewards=suggested,
                citation=text,
            )
        )
    return out


def latest_year(frames: MemberFrames) -> int | None:
    """The latest year with messages (the default for ``anchorwatch awards``)."""
    if frames.messages.height == 0:
        return None
    last = frames.messages["at"].max()
    return last.year if isinstance(last, (datetime, date)) else None


__all__ = [
    "AwardReport",
    "Dossier",
    "EpisodeEvidence",
    "Exclusion",
    "Nomination",
    "Quote",
    "RewardSuggestion",
    "award_nominees",
    "award_report",
    "award_table",
    "latest_year",
    "people_frame",
]
