"""The thank-you composer: 1:1 drafts that name what the member actually did.

A generic "thanks for your contribution" tells an anchor nobody looked.  A
draft here names concrete events from the evidence: which conversation
(its title, or the words of the question or complaint), when, what the member
did (their acts in it) and what came of it (the episode's outcome), e.g.
「上次「车机黑屏」那个帖子，幸亏您先安抚了车主的情绪，又帮他把问题理清楚了，他后来把细节都补充清楚了。」

Events are ranked by what they achieved (``event_weights`` in
``config/care.yaml``), not by recency.  Phrases come from the config in
several variants per slot; the choice is a stable hash of member, period and
tone, so a request gives the same draft every time, and different members and
tones read differently.  Pure functions; the events are read by
``anchorwatch.store.analysis.thanks_events`` and an optional LLM polish lives in
``anchorwatch.care.polish``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import polars as pl

from anchorwatch.config import read_settings

#: ``events``: one row per episode the member acted in, with its outcome.
EVENT_SCHEMA: dict[str, pl.DataType] = {
    "episode": pl.String(),
    "kind": pl.String(),
    "started_at": pl.Datetime("us"),
    "conversation": pl.String(),
    "title": pl.String(),
    "stream": pl.Boolean(),
    "subject_text": pl.String(),
    "acts": pl.List(pl.String()),
    "messages": pl.List(pl.String()),
    "attacks_stopped": pl.Boolean(),
    "agreement": pl.Boolean(),
    "details_given": pl.Boolean(),
    "moved_to_channel": pl.Boolean(),
    "sentiment_first": pl.Float64(),
    "sentiment_last": pl.Float64(),
    "thanked": pl.Boolean(),
    "returned_30d": pl.Boolean(),
    "welcomed": pl.Boolean(),
    "first_post": pl.Boolean(),
}
OUTCOMES = (
    "attacks_stopped",
    "agreement",
    "details_given",
    "moved_to_channel",
    "calmer",
    "thanked",
    "returned_30d",
    "welcomed",
    "first_post",
)
LOCALES = ("zh-CN", "en")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class NoEvidence(LookupError):
    """The member did no labour in the period: there is nothing concrete to thank for."""


@dataclass(frozen=True)
class Draft:
    """A thank-you draft and the evidence it names."""

    member: str
    locale: str
    tone: str
    text: str
    episodes: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "locale": self.locale,
            "tone": self.tone,
            "text": self.text,
            "episodes": self.episodes,
            "messages": self.messages,
        }


@cache
def care_settings() -> dict[str, Any]:
    """The packaged ``care.yaml``, or the file named by ``ANCHORWATCH_CARE_CONFIG``."""
    return read_settings("care.yaml", "ANCHORWATCH_CARE_CONFIG")


def rank_events(events: pl.DataFrame, weights: dict[str, float]) -> pl.DataFrame:
    """``events`` with ``calmer`` and ``worth`` (sum of the weights of the
    outcomes achieved), most worth first, then most recent."""
    calmer = (pl.col("sentiment_last") - pl.col("sentiment_first")).fill_null(0) >= 0.3
    out = events.with_columns(calmer.alias("calmer"))
    worth = pl.sum_horizontal(
        [pl.col(o).fill_null(False).cast(pl.Float64) * weights.get(o, 0.0) for o in OUTCOMES]
    )
    return out.with_columns(worth.alias("worth")).sort(
        ["worth", "started_at", "episode"], descending=[True, True, False]
    )


_PUNCT = re.compile(r"[\s,，。.!！?？:：;；~～、\"'“”‘’()（）【】\[\]]+")


def _cjk(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is not None


def _keywords(text: str, stop: frozenset[str]) -> str:
    """The two main keywords of a Chinese text, in the order they appear."""
    import jieba
    import jieba.analyse

    # jieba announces loading its dictionary on stderr; a CLI user need not see it.
    jieba.setLogLevel(logging.WARNING)
    tags = jieba.analyse.extract_tags(text, topK=6, allowPOS=("n", "nz", "vn", "v", "eng"))
    tags = sorted([t for t in tags if t.lower() not in stop][:2], key=text.find)
    return "".join(tags) or (_PUNCT.split(text)[0][:12] or text[:12])


def topic_of(
    title: str | None,
    subject_text: str | None,
    locale: str,
    stop: frozenset[str] = frozenset(),
) -> str:
    """A short name for what the conversation was about.

    A short forum title as it is; a long one, or the question or complaint
    itself when there is no title, by its keywords (jieba for Chinese) or its
    first words; greetings and asking words (``topic_stopwords``) are left out.
    """
    for text in (title, subject_text):
        text = (text or "").strip()
        if not text:
            continue
        if _cjk(text):
            joined = "".join(w for w in _PUNCT.split(text) if w)
            return joined if len(joined) <= 10 else _keywords(text, stop)
        words = [w for w in _PUNCT.split(text) if w and w.lower() not in stop]
        return " ".join(words[:6])
    return "那个问题" if locale == "zh-CN" else "that question"


def _pick(options: list[str] | str, key: str) -> str:
    if isinstance(options, str):
        return options
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def _when(at: datetime, today: datetime, bank: dict[str, str]) -> str:
    days = (today.date() - at.date()).days
    if 0 <= days < 7 and at.isocalendar()[1] == today.isocalendar()[1]:
        return bank["this_week"]
    if 0 <= days < 14:
        return bank["last_week"]
    return bank["date"].format(
        month=at.month, day=at.day, month_name=_MONTHS[at.month - 1], year=at.year
    )


def _did(acts: list[str], bank: dict[str, list[str]], key: str, locale: str) -> str:
    seen: list[str] = []
    for act in acts:
        if act in bank and act not in seen:
            seen.append(act)
    phrases = [_pick(bank[a], f"{key}:{a}") for a in seen[:2]]
    if not phrases:
        return ""
    if len(phrases) == 1:
        return phrases[0]
    return (
        f"{phrases[0]}，又{phrases[1]}" if locale == "zh-CN" else f"{phrases[0]} and {phrases[1]}"
    )


def _result(row: dict[str, Any], bank: dict[str, Any], key: str, locale: str) -> str:
    got = [o for o in OUTCOMES if row.get(o)]
    if not got:
        return _pick(bank["no_result"], f"{key}:none")
    phrases = [_pick(bank["results"][o], f"{key}:{o}") for o in got[:2] if o in bank["results"]]
    if len(phrases) == 2:
        return (
            f"{phrases[0]}，{phrases[1]}"
            if locale == "zh-CN"
            else f"{phrases[0]}, and {phrases[1]}"
        )
    return phrases[0] if phrases else _pick(bank["no_result"], f"{key}:none")


def compose(
    member: str,
    name: str,
    events: pl.DataFrame,
    *,
    today: datetime,
    tone: str = "warm",
    locale: str = "zh-CN",
    period: str = "",
    settings: dict[str, Any] | None = None,
) -> Draft:
    """One draft naming the member's best ``events_per_draft`` events.

    Raises :class:`NoEvidence` when ``events`` is empty: a thank-you without
    a concrete event is exactly what this product exists to avoid.
    """
    cfg = settings or care_settings()
    if locale not in cfg["drafts"]:
        raise ValueError(f"no drafts for locale {locale!r}; one of {', '.join(cfg['drafts'])}")
    if tone not in cfg["tones"]:
        raise ValueError(f"unknown tone {tone!r}; one of {', '.join(cfg['tones'])}")
    if events.height == 0:
        raise NoEvidence(member)
    bank = cfg["drafts"][locale]
    ranked = rank_events(events, {k: float(v) for k, v in cfg["event_weights"].items()})
    chosen = ranked.head(int(cfg["events_per_draft"])).to_dicts()
    key = f"{member}|{period}|{tone}|{locale}"
    stop = frozenset(w.lower() for w in cfg.get("topic_stopwords", ()))
    sentences: list[str] = []
    for i, row in enumerate(chosen):
        ekey = f"{key}|{row['episode']}"
        events_bank = bank["events"]
        templates = (row["stream"] and events_bank.get(f"{row['kind']}_chat")) or events_bank.get(
            row["kind"], events_bank["newcomer_question"]
        )
        did = _did(row["acts"] or [], bank["act_phrases"], ekey, locale)
        if not did:
            continue
        sentence = _pick(templates, ekey).format(
            when=_when(row["started_at"], today, bank["when"]),
            # A chat group's title is the group's name, not what was said.
            topic=topic_of(
                None if row["stream"] else row["title"], row["subject_text"], locale, stop
            ),
            did=did,
            result=_result(row, bank, ekey, locale),
        )
        if i and sentences:
            joiner = bank["joiner"]
            sentence = joiner + (
                sentence if locale == "zh-CN" else sentence[0].lower() + sentence[1:]
            )
        sentences.append(sentence)
    if not sentences:
        raise NoEvidence(member)
    tone_bank = bank["tones"][tone]
    opener = _pick(tone_bank["openers"], f"{key}:open").format(name=name)
    closing = _pick(tone_bank["closings"], f"{key}:close")
    body = ("" if locale == "zh-CN" else " ").join(sentences)
    text = f"{opener}\n{body}\n{closing}"
    return Draft(
        member=member,
        locale=locale,
        tone=tone,
        text=text,
        episodes=[r["episode"] for r in chosen],
        messages=[m for r in chosen for m in (r["messages"] or [])],
    )


def drafts(
    member: str,
    name: str,
    events: pl.DataFrame,
    *,
    today: datetime,
    period: str = "",
    tones: tuple[str, ...] | None = None,
    locales: tuple[str, ...] = LOCALES,
    settings: dict[str, Any] | None = None,
) -> list[Draft]:
    """A draft in every tone and locale asked for."""
    cfg = settings or care_settings()
    return [
        compose(
            member,
            name,
            events,
            today=today,
            tone=tone,
            locale=locale,
            period=period,
            settings=cfg,
        )
        for locale in locales
        for tone in (tones or tuple(cfg["tones"]))
    ]


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """UTC start and end of a ``YYYY-MM`` month or ``YYYY`` year."""
    if re.fullmatch(r"\d{4}-\d{2}", period):
        start = datetime.strptime(period, "%Y-%m")
        end = (start + timedelta(days=32)).replace(day=1)
        return start, end
    if re.fullmatch(r"\d{4}", period):
        year = int(period)
        return datetime(year, 1, 1), datetime(year + 1, 1, 1)
    raise ValueError(f"a period is YYYY-MM or YYYY, not {period!r}")
