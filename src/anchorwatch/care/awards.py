"""Awards: who is nominated for what, why, and how the brand says thank you
(DESIGN 1.4, issue 6).

An award is recognition the community can see, and a reward costs money, so
both must be fair and hard to game.  The rules live in versioned
configuration (``config/awards.yaml``, ``config/rewards.yaml``), so last
year's nominations can be reproduced and a brand can change them without
code.  This module is the pure core, in the order the engine calls it:

1. :func:`award_fields`: each member's year, from the ledger and value index
   (``members``), plus what awards need beyond them: distinct thanks givers,
   thanks from newcomers, newcomers helped, months active, tenure, the share
   the anti-gaming rules discounted;
2. :func:`eligibility`: who may be nominated, and the reasons of each member
   who may not (staff, already awarded this year, flagged by an anti-gaming
   rule, too new, too little activity, thanks from too few people, too much
   discounted);
3. :func:`rank_category`: each category ranks its eligible members by a
   weighted sum of ledger fields and outcomes, scaled to 0-100, with its parts;
4. :func:`allocate`: one award per person: a member first in several
   categories keeps the one where they rank best (then where their lead is
   largest, then the category listed first), and the others move on;
5. :func:`best_episodes`, :func:`act_quotes`, :func:`thanks_quotes`: the
   evidence dossier;
6. :func:`suggest_rewards`: rewards from the catalogue, rest first for a
   nominee at risk of burnout;
7. :func:`citation`: the text that says what the reward thanks them for,
   naming their own numbers and their best episode, never a generic greeting.

Pure functions over frames; no I/O (the engine, ``anchorwatch.engines.awards``,
reads the store).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

import polars as pl

from anchorwatch.config import read_settings
from anchorwatch.i18n import LOCALES, catalogue, current_locale, t
from anchorwatch.members.ledger import ledger_columns
from anchorwatch.records import STAFF_ROLES
from anchorwatch.signals.labels import ACTS

#: ``people``: each member's role (``member``, ``koc``, ``official``,
#: ``operator``; null reads as ``member``) and when they joined (UTC, may be null).
PEOPLE_SCHEMA: dict[str, pl.DataType] = {
    "member": pl.String(),
    "role": pl.String(),
    "joined_at": pl.Datetime("us"),
}

TRANSFORMS = ("log1p", "linear")
EPISODE_KINDS = ("newcomer_question", "conflict", "complaint", "arrival")
REWARD_KINDS = ("rest", "experience", "product")
DEESCALATIONS = ("deescalate_humor", "deescalate_summary", "deescalate_redirect")

#: Fields :func:`award_fields` adds to the ledger, rankable like its columns.
AWARD_FIELDS = (
    "acts",
    "deescalations",
    "newcomers_helped",
    "thanks_givers",
    "thanks_from_newcomers",
    "active_months",
    "tenure_days",
)

#: Fields a citation may name (each has an ``awards.fact.<field>`` phrase).
CITABLE = (
    *(f"acts_{a}" for a in ACTS),
    "acts",
    "episodes_served",
    "conflicts_calmed",
    "deescalations",
    "complaints_converted",
    "newcomers_helped",
    "newcomers_stayed",
    "repeated_answered",
    "thanks_received",
    "thanks_givers",
    "thanks_from_newcomers",
    "active_months",
)

#: Why a member may not be nominated, in the order they are reported.
REASONS = (
    "role",
    "awarded",
    "gaming",
    "tenure",
    "active_months",
    "acts",
    "episodes",
    "thanks_givers",
    "discounted_share",
)

#: The outcome flags a citation may name for an episode, best first.
OUTCOME_FLAGS: dict[str, tuple[str, ...]] = {
    "conflict": ("agreement", "attacks_stopped", "cooled"),
    "complaint": ("moved_to_channel", "details_given", "contained"),
    "newcomer_question": ("returned_30d", "thanked", "replied"),
    "arrival": ("returned_30d", "first_post"),
}

#: Between the sentences of a citation: Chinese sentences end in full-width
#: punctuation and need no space.
_SENTENCE_SEP = {"zh-CN": "", "en": " "}

#: The acts-frame column that says an episode went well, per kind.
_SUCCESS = {
    "conflict": "attacks_stopped",
    "complaint": "converted",
    "newcomer_question": "returned_30d",
    "arrival": "returned_30d",
}


def rankable_fields() -> tuple[str, ...]:
    """Every field a category may rank by, require or cite.

    The ledger's counts (not ``first_response_s``: lower is better there, and
    a fast answer is not by itself labour), the two indices and the award
    fields.
    """
    ledger = [c for c in ledger_columns() if c not in ("member", "period", "first_response_s")]
    return (*ledger, "value_index", "content_index", *AWARD_FIELDS)


# --------------------------------------------------------------------------- config


def _texts(raw: Any, what: str) -> dict[str, str]:
    if not isinstance(raw, Mapping) or any(loc not in raw for loc in LOCALES):
        raise ValueError(f"{what} needs a text for each of {', '.join(LOCALES)}")
    return {loc: str(raw[loc]) for loc in LOCALES}


def _known(names: Sequence[str], allowed: Sequence[str], what: str) -> None:
    unknown = sorted(set(names) - set(allowed))
    if unknown:
        raise ValueError(f"{what}: unknown {unknown}; choose from {sorted(allowed)}")


@dataclass(frozen=True)
class Eligibility:
    """Who may be nominated at all (``eligibility`` in ``awards.yaml``)."""

    min_tenure_days: int = 90
    min_active_months: int = 3
    min_acts: int = 5
    min_episodes: int = 3
    excluded_roles: tuple[str, ...] = STAFF_ROLES

    @classmethod
    def from_config(cls, raw: Mapping[str, Any], base: Eligibility | None = None) -> Eligibility:
        """Parse ``raw``; keys it leaves out come from ``base`` (the global rules)."""
        names = {f.name for f in fields(cls)}
        _known(list(raw), sorted(names), "eligibility")
        out = base or cls()
        updates: dict[str, Any] = {}
        for key, value in raw.items():
            updates[key] = tuple(str(v) for v in value) if key == "excluded_roles" else int(value)
        return replace(out, **updates)


@dataclass(frozen=True)
class AntiGaming:
    """What the awards add to the ledger's discounts (``anti_gaming``)."""

    exclude_rules: tuple[str, ...] = ("thanks_ring", "thanking_account")
    min_thanks_givers: int = 2
    max_discounted_share: float = 0.25

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> AntiGaming:
        return cls(
            exclude_rules=tuple(str(r) for r in raw["exclude_rules"]),
            min_thanks_givers=int(raw["min_thanks_givers"]),
            max_discounted_share=float(raw["max_discounted_share"]),
        )


@dataclass(frozen=True)
class RankField:
    """One term of a category's score: ``weight × transform(field)``."""

    field: str
    weight: float
    transform: str = "log1p"


@dataclass(frozen=True)
class AwardCategory:
    """One award (``categories.<key>`` in ``awards.yaml``)."""

    key: str
    names: dict[str, str]
    thanks_for: dict[str, str]
    winners: int
    rank_by: tuple[RankField, ...]
    requires: dict[str, float]
    episode_kinds: tuple[str, ...]
    citation_facts: tuple[str, ...]
    eligibility: Eligibility

    def name(self, locale: str | None = None) -> str:
        """The category's name in ``locale`` (default: the current one)."""
        return self.names[current_locale(locale)]

    @classmethod
    def from_config(cls, key: str, raw: Mapping[str, Any], base: Eligibility) -> AwardCategory:
        allowed = rankable_fields()
        rank_by = []
        for name, spec in (raw.get("rank_by") or {}).items():
            spec = spec if isinstance(spec, Mapping) else {"weight": spec}
            term = RankField(str(name), float(spec["weight"]), str(spec.get("transform", "log1p")))
            if term.transform not in TRANSFORMS:
                raise ValueError(f"{key}.rank_by.{name}: transform must be one of {TRANSFORMS}")
            if term.weight <= 0:
                raise ValueError(f"{key}.rank_by.{name}: the weight must be above 0")
            rank_by.append(term)
        if not rank_by:
            raise ValueError(f"{key}: rank_by names no field")
        requires = {str(k): float(v) for k, v in (raw.get("requires") or {}).items()}
        facts = tuple(str(f) for f in raw.get("citation_facts") or ())
        _known([f.field for f in rank_by], allowed, f"{key}.rank_by")
        _known(list(requires), allowed, f"{key}.requires")
        _known(facts, CITABLE, f"{key}.citation_facts")
        kinds = tuple(str(k) for k in raw.get("episode_kinds") or EPISODE_KINDS)
        _known(kinds, EPISODE_KINDS, f"{key}.episode_kinds")
        winners = int(raw.get("winners", 1))
        if winners < 1:
            raise ValueError(f"{key}.winners must be at least 1")
        return cls(
            key=key,
            names=_texts(raw.get("name"), f"{key}.name"),
            thanks_for=_texts(raw.get("thanks_for"), f"{key}.thanks_for"),
            winners=winners,
            rank_by=tuple(rank_by),
            requires=requires,
            episode_kinds=kinds,
            citation_facts=facts,
            eligibility=Eligibility.from_config(raw.get("eligibility") or {}, base),
        )


@dataclass(frozen=True)
class DossierSizes:
    """How much evidence each nominee's dossier shows (``dossier``)."""

    episodes: int = 3
    quotes: int = 3
    thanks: int = 3
    quote_chars: int = 120
    citation_facts: int = 4


@dataclass(frozen=True)
class AwardsConfig:
    """The parsed ``awards.yaml``."""

    version: str
    categories: tuple[AwardCategory, ...]
    eligibility: Eligibility
    anti_gaming: AntiGaming
    one_award_per_person: bool
    newcomer_days: int
    dossier: DossierSizes

    def category(self, key: str) -> AwardCategory:
        for cat in self.categories:
            if cat.key == key:
                return cat
        raise KeyError(key)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.categories)

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> AwardsConfig:
        base = Eligibility.from_config(raw.get("eligibility") or {})
        cats = tuple(
            AwardCategory.from_config(str(k), v, base) for k, v in raw["categories"].items()
        )
        if not cats:
            raise ValueError("awards.yaml names no category")
        sizes = raw.get("dossier") or {}
        _known(list(sizes), [f.name for f in fields(DossierSizes)], "dossier")
        return cls(
            version=str(raw["version"]),
            categories=cats,
            eligibility=base,
            anti_gaming=AntiGaming.from_config(raw["anti_gaming"]),
            one_award_per_person=bool(raw.get("one_award_per_person", True)),
            newcomer_days=int(raw.get("newcomer_days", 90)),
            dossier=DossierSizes(**{k: int(v) for k, v in sizes.items()}),
        )


@dataclass(frozen=True)
class RewardItem:
    """One reward in the catalogue."""

    key: str
    kind: str
    names: dict[str, str]
    value: float

    def name(self, locale: str | None = None) -> str:
        return self.names[current_locale(locale)]


@dataclass(frozen=True)
class RewardsConfig:
    """The parsed ``rewards.yaml``: the catalogue and the suggestion rules."""

    version: str
    currency: str
    catalogue: tuple[RewardItem, ...]
    per_nominee: int
    rest_first_levels: tuple[str, ...]
    rest_kinds: tuple[str, ...]
    kind_order: tuple[str, ...]
    category_hints: dict[str, tuple[str, ...]]
    runner_up_max_value: float

    def item(self, key: str) -> RewardItem:
        for item in self.catalogue:
            if item.key == key:
                return item
        raise KeyError(key)

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> RewardsConfig:
        items = []
        for key, spec in raw["catalogue"].items():
            kind = str(spec["kind"])
            _known([kind], REWARD_KINDS, f"catalogue.{key}.kind")
            names = _texts(spec.get("name"), f"{key}.name")
            items.append(RewardItem(str(key), kind, names, float(spec["value"])))
        rules = raw["suggestions"]
        hints = {str(c): tuple(str(i) for i in v) for c, v in rules["category_hints"].items()}
        keys = [i.key for i in items]
        for cat, wanted in hints.items():
            _known(wanted, keys, f"suggestions.category_hints.{cat}")
        rest_kinds = tuple(str(k) for k in rules["rest_kinds"])
        kind_order = tuple(str(k) for k in rules["kind_order"])
        _known(rest_kinds, REWARD_KINDS, "suggestions.rest_kinds")
        _known(kind_order, REWARD_KINDS, "suggestions.kind_order")
        return cls(
            version=str(raw["version"]),
            currency=str(raw.get("currency", "")),
            catalogue=tuple(items),
            per_nominee=int(rules["per_nominee"]),
            rest_first_levels=tuple(str(v) for v in rules["rest_first_levels"]),
            rest_kinds=rest_kinds,
            kind_order=kind_order,
            category_hints=hints,
            runner_up_max_value=float(rules["runner_up_max_value"]),
        )


@cache
def awards_settings() -> dict[str, Any]:
    """The packaged ``awards.yaml``, or the file named by ``ANCHORWATCH_AWARDS_CONFIG``."""
    return read_settings("awards.yaml", "ANCHORWATCH_AWARDS_CONFIG")


@cache
def rewards_settings() -> dict[str, Any]:
    """The packaged ``rewards.yaml``, or the file named by ``ANCHORWATCH_REWARDS_CONFIG``."""
    return read_settings("rewards.yaml", "ANCHORWATCH_REWARDS_CONFIG")


def awards_config() -> AwardsConfig:
    """The award rules in use.

    >>> awards_config().version
    'awards.v1'
    """
    return AwardsConfig.from_config(awards_settings())


def rewards_config() -> RewardsConfig:
    """The reward catalogue in use.

    >>> rewards_config().item("spa_day").kind
    'rest'
    """
    return RewardsConfig.from_config(rewards_settings())


# --------------------------------------------------------------------------- the year


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The year as UTC ``[start, end)``, the same calendar as the ledger's periods."""
    return datetime(year, 1, 1), datetime(year + 1, 1, 1)


def _in_year(col: str, year: int) -> pl.Expr:
    start, end = year_bounds(year)
    return (pl.col(col) >= start) & (pl.col(col) < end)


def _counted(frame: pl.DataFrame) -> pl.Expr:
    """Rows the anti-gaming rules left standing (all, when they were not applied)."""
    if "discounted" in frame.columns:
        return ~pl.col("discounted").fill_null(False)
    return pl.lit(True)


def _next_day(at: datetime) -> datetime:
    return datetime(at.year, at.month, at.day) + timedelta(days=1)


def _first_seen(messages: pl.DataFrame, people: pl.DataFrame) -> pl.DataFrame:
    """``member``, ``first_seen``: joined, or first message, whichever is earlier.

    A history imported from a later date still knows when an old member
    joined; a member without a join date is known from their first message.
    """
    first = messages.group_by("member").agg(pl.col("at").min().alias("_first"))
    return (
        people.select("member", "joined_at")
        .join(first, on="member", how="full", coalesce=True)
        .select("member", pl.min_horizontal("joined_at", "_first").alias("first_seen"))
    )


def award_fields(
    year_ledger: pl.DataFrame,
    acts: pl.DataFrame,
    aimed: pl.DataFrame,
    messages: pl.DataFrame,
    people: pl.DataFrame,
    year: int,
    cfg: AwardsConfig,
) -> pl.DataFrame:
    """One row per member who did labour in ``year``: the ledger row and more.

    ``year_ledger`` is the ledger of the year (``members.ledger`` with
    ``period="year"``, usually with the value index); ``acts``, ``aimed`` and
    ``messages`` are the ledger frames after the anti-gaming rules
    (``members.gaming.discount``); ``people`` has :data:`PEOPLE_SCHEMA`.
    Adds :data:`AWARD_FIELDS`, ``role``, ``first_seen`` and
    ``discounted_share``.  Tenure runs to the end of the year, or to the end
    of the history while the year is still running (no one earns tenure from
    days that have not happened; the history runs through the day of its
    last message).
    """
    end = year_bounds(year)[1]
    last = messages["at"].max() if messages.height else None
    as_of = min(end, _next_day(last)) if isinstance(last, datetime) else end
    seen = _first_seen(messages, people)
    active = (
        messages.filter(_in_year("at", year))
        .group_by("member")
        .agg(pl.col("at").dt.month().n_unique().cast(pl.Int64).alias("active_months"))
    )
    newcomer_window = pl.duration(days=cfg.newcomer_days)
    thanks = (
        aimed.filter(pl.col("gratitude") & _counted(aimed) & _in_year("at", year))
        .join(seen.rename({"member": "giver", "first_seen": "_giver_seen"}), on="giver", how="left")
        .group_by("target")
        .agg(
            pl.col("giver").n_unique().cast(pl.Int64).alias("thanks_givers"),
            ((pl.col("at") - pl.col("_giver_seen")) <= newcomer_window)
            .fill_null(False)
            .sum()
            .cast(pl.Int64)
            .alias("thanks_from_newcomers"),
        )
        .rename({"target": "member"})
    )
    helped = (
        acts.filter(
            _counted(acts)
            & _in_year("at", year)
            & pl.col("kind").is_in(["newcomer_question", "arrival"])
        )
        .group_by("member")
        .agg(pl.col("episode").n_unique().cast(pl.Int64).alias("newcomers_helped"))
    )
    total_acts = pl.sum_horizontal([pl.col(f"acts_{a}") for a in ACTS])
    base = year_ledger.with_columns(
        total_acts.cast(pl.Int64).alias("acts"),
        pl.sum_horizontal([pl.col(f"acts_{a}") for a in DEESCALATIONS])
        .cast(pl.Int64)
        .alias("deescalations"),
    ).filter((pl.col("acts") + pl.col("acts_discounted")) > 0)
    if "value_index" not in base.columns:
        base = base.with_columns(pl.lit(0.0).alias("value_index"))
    if "content_index" not in base.columns:
        base = base.with_columns(pl.lit(0.0).alias("content_index"))
    out = (
        base.join(active, on="member", how="left")
        .join(thanks, on="member", how="left")
        .join(helped, on="member", how="left")
        .join(seen, on="member", how="left")
        .join(people.select("member", "role"), on="member", how="left")
    )
    given = pl.col("acts") + pl.col("acts_discounted") + pl.col("thanks_received")
    given = given + pl.col("thanks_discounted")
    return out.with_columns(
        pl.col("active_months", "thanks_givers", "thanks_from_newcomers", "newcomers_helped")
        .fill_null(0)
        .cast(pl.Int64),
        pl.col("role").fill_null("member"),
        (pl.lit(as_of) - pl.col("first_seen"))
        .dt.total_days()
        .fill_null(0)
        .clip(lower_bound=0)
        .cast(pl.Int64)
        .alias("tenure_days"),
        pl.when(given > 0)
        .then((pl.col("acts_discounted") + pl.col("thanks_discounted")) / given)
        .otherwise(0.0)
        .alias("discounted_share"),
    ).sort("member")


def awarded_in(care: pl.DataFrame, year: int) -> pl.DataFrame:
    """``member``, ``awarded_at``: members the care log shows awarded for ``year``
    (``care``: ``members.burnout.CARE_SCHEMA``; action ``award``).  An award
    counts for the year it honours (``award_year``, set when it is given
    from the awards page) or, without one, the year it was logged: the
    2025 awards handed out in January 2026 do not block anyone for 2026."""
    honoured = pl.coalesce(
        pl.col("award_year") if "award_year" in care.columns else pl.lit(None, pl.Int32),
        pl.col("at").dt.year().cast(pl.Int32),
    )
    return (
        care.filter((pl.col("action") == "award") & (honoured == year))
        .group_by("member")
        .agg(pl.col("at").min().alias("awarded_at"))
        .sort("member")
    )


def eligibility(
    candidates: pl.DataFrame,
    findings: pl.DataFrame,
    awarded: pl.DataFrame,
    rules: Eligibility,
    anti: AntiGaming,
    one_award_per_person: bool = True,
) -> pl.DataFrame:
    """``candidates`` (:func:`award_fields`) with ``gaming`` (the anti-gaming
    rules that flagged the member), ``awarded`` (already awarded this year),
    ``reasons`` (codes of :data:`REASONS` that keep them out, in that order)
    and ``eligible`` (no reason).

    ``findings`` is ``members.gaming.FINDING_SCHEMA`` (over the whole history:
    a member caught gaming last spring is not a role model this winter);
    ``awarded`` is :func:`awarded_in`, which counts only when
    ``one_award_per_person`` is on.
    """
    flagged = (
        findings.filter(pl.col("rule").is_in(list(anti.exclude_rules)))
        .group_by("member")
        .agg(pl.col("rule").unique().sort().alias("gaming"))
    )
    out = (
        candidates.join(flagged, on="member", how="left")
        .join(awarded.select("member", pl.lit(True).alias("awarded")), on="member", how="left")
        .with_columns(
            pl.col("gaming").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.col("awarded").fill_null(False),
        )
    )
    fails: dict[str, pl.Expr] = {
        "role": pl.col("role").is_in(list(rules.excluded_roles)),
        "awarded": pl.col("awarded") & pl.lit(one_award_per_person),
        "gaming": pl.col("gaming").list.len() > 0,
        "tenure": pl.col("tenure_days") < rules.min_tenure_days,
        "active_months": pl.col("active_months") < rules.min_active_months,
        "acts": pl.col("acts") < rules.min_acts,
        "episodes": pl.col("episodes_served") < rules.min_episodes,
        "thanks_givers": pl.col("thanks_givers") < anti.min_thanks_givers,
        "discounted_share": pl.col("discounted_share") > anti.max_discounted_share,
    }
    reasons = pl.concat_list(
        [pl.when(fails[code]).then(pl.lit(code)).otherwise(pl.lit(None)) for code in REASONS]
    ).list.drop_nulls()
    return out.with_columns(reasons.alias("reasons")).with_columns(
        (pl.col("reasons").list.len() == 0).alias("eligible")
    )


# --------------------------------------------------------------------------- ranking

#: ``parts``: the score's terms, each in score points (they add up to it).
PART_DTYPE = pl.List(pl.Struct({"field": pl.String(), "points": pl.Float64()}))

#: What :func:`rank_category` returns and :func:`allocate` takes (concatenated).
RANKING_SCHEMA: dict[str, pl.DataType] = {
    "category": pl.String(),
    "member": pl.String(),
    "place": pl.Int64(),
    "score": pl.Float64(),
    "lead": pl.Float64(),
    "parts": PART_DTYPE,
}


def _term(f: RankField) -> pl.Expr:
    x = pl.col(f.field).cast(pl.Float64).fill_null(0.0).clip(lower_bound=0.0)
    return (x.log1p() if f.transform == "log1p" else x) * f.weight


def rank_category(eligible: pl.DataFrame, category: AwardCategory) -> pl.DataFrame:
    """The category's ranking of ``eligible`` members (:data:`RANKING_SCHEMA`).

    A member is ranked when they meet the category's ``requires`` and score
    above 0.  ``score``: the weighted sum of ``rank_by``, scaled so that the
    strongest member scores 100 (comparable within a category, not across);
    ``parts``: each term in the same points; ``place``: 1 for the strongest
    (ties: the member id, so the order never depends on the input's);
    ``lead``: points ahead of the next member (the last one leads by their
    score).
    """
    req = [pl.col(k).cast(pl.Float64).fill_null(0.0) >= v for k, v in category.requires.items()]
    frame = eligible.filter(pl.all_horizontal(req)) if req else eligible
    names = [f"_p{i}" for i in range(len(category.rank_by))]
    terms = [_term(f).alias(n) for f, n in zip(category.rank_by, names, strict=True)]
    frame = (
        frame.select("member", *terms)
        .with_columns(pl.sum_horizontal(names).alias("_raw"))
        .filter(pl.col("_raw") > 0)
    )
    if frame.height == 0:
        return pl.DataFrame(schema=RANKING_SCHEMA)
    scale = 100.0 / float(frame["_raw"].max())  # type: ignore[arg-type]
    frame = frame.sort(["_raw", "member"], descending=[True, False]).with_columns(
        (pl.col("_raw") * scale).alias("score")
    )
    parts = pl.concat_list(
        [
            pl.struct(pl.lit(f.field).alias("field"), (pl.col(n) * scale).round(2).alias("points"))
            for f, n in zip(category.rank_by, names, strict=True)
        ]
    )
    return frame.select(
        pl.lit(category.key).alias("category"),
        "member",
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("place"),
        pl.col("score").round(2),
        (pl.col("score") - pl.col("score").shift(-1))
        .fill_null(pl.col("score"))
        .round(2)
        .alias("lead"),
        parts.alias("parts"),
    ).cast(RANKING_SCHEMA)  # type: ignore[arg-type]


def allocate(
    rankings: pl.DataFrame,
    categories: Sequence[AwardCategory],
    top: int = 3,
    one_award_per_person: bool = True,
) -> pl.DataFrame:
    """The nominees of each category, ``top`` at most, and who receives it.

    ``rankings``: the :func:`rank_category` frames concatenated.  Returns
    ``category``, ``rank`` (1 = first nominee), ``member``, ``score``,
    ``parts``, ``place`` (their place in the category's ranking, before
    allocation) and ``recipient`` (the first ``winners`` nominees).

    With ``one_award_per_person``, every (category, member) pair is taken in
    the order: the member's place in the category (best first); their lead
    over the next member (largest first: the award they most clearly earned);
    the category's position in the configuration; the member id.  A pair is
    granted when the category has a place left and the member holds no award
    yet.  So a member first in several categories keeps the one where they
    rank best, and each other category goes to its next eligible member.  A
    member granted one award is not listed as a nominee of another.
    """
    order = {c.key: i for i, c in enumerate(categories)}
    winners = {c.key: c.winners for c in categories}
    ranked = rankings.filter(pl.col("category").is_in(list(order))).with_columns(
        pl.col("category").replace_strict(order, return_dtype=pl.Int64).alias("_order")
    )
    if not one_award_per_person:
        out = ranked.with_columns(
            pl.col("place").alias("rank"),
            (
                pl.col("place") <= pl.col("category").replace_strict(winners, return_dtype=pl.Int64)
            ).alias("recipient"),
        )
    else:
        # A category's winners can be pushed down by at most the other
        # categories' places, so pairs beyond all the places together never win.
        slots = sum(winners.values())
        pairs = ranked.filter(pl.col("place") <= slots).sort(
            ["place", "lead", "_order", "member"], descending=[False, True, False, False]
        )
        left = dict(winners)
        won: dict[str, str] = {}
        # A handful of pairs (places × categories): the walk is sequential by nature.
        for category, member in pairs.select("category", "member").iter_rows():
            if left[category] > 0 and member not in won:
                won[member] = category
                left[category] -= 1
        held = pl.DataFrame(
            {"member": list(won), "_won": list(won.values())},
            schema={"member": pl.String(), "_won": pl.String()},
        )
        out = (
            ranked.join(held, on="member", how="left")
            .filter(pl.col("_won").is_null() | (pl.col("_won") == pl.col("category")))
            .with_columns(
                (pl.col("_won") == pl.col("category")).fill_null(False).alias("recipient")
            )
            .sort(["_order", "recipient", "place"], descending=[False, True, False])
            .with_columns(
                pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("category").alias("rank")
            )
        )
    return (
        out.filter(pl.col("rank") <= top)
        .sort("_order", "rank")
        .select("category", "rank", "member", "score", "parts", "place", "recipient")
    )


def held_elsewhere(rankings: pl.DataFrame, nominees: pl.DataFrame, top: int = 3) -> pl.DataFrame:
    """Members in the first ``top`` places of a category who receive another
    award instead (so the operator sees why the strongest member is missing).

    ``rankings``: the :func:`rank_category` frames; ``nominees``:
    :func:`allocate`.  Returns ``category``, ``member``, ``place``, ``held``
    (the category they receive), by category and place.
    """
    held = nominees.filter(pl.col("recipient")).select("member", pl.col("category").alias("held"))
    return (
        rankings.join(held, on="member")
        .filter((pl.col("held") != pl.col("category")) & (pl.col("place") <= top))
        .select("category", "member", "place", "held")
        .sort("category", "place")
    )


# --------------------------------------------------------------------------- dossier


def _order_within(*keys: str) -> pl.Expr:
    """``order``: 1, 2, ... within each group of ``keys``, in the frame's order."""
    return pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over(*keys).alias("order")


def _kind_preferences(categories: Sequence[AwardCategory]) -> pl.DataFrame:
    rows = [(c.key, k, i) for c in categories for i, k in enumerate(c.episode_kinds)]
    return pl.DataFrame(
        rows, schema={"category": pl.String, "kind": pl.String, "_pref": pl.Int64}, orient="row"
    )


def best_episodes(
    acts: pl.DataFrame,
    nominees: pl.DataFrame,
    year: int,
    categories: Sequence[AwardCategory],
    n: int,
) -> pl.DataFrame:
    """Each nominee's best episodes of the year for their category.

    ``nominees``: ``category``, ``member``.  Episodes of the kinds the
    category names come first (in its order), then those that went well
    (the conflict's attacks stopped, the complaint was converted, the
    newcomer came back), then those where the member did more, then the
    earliest.  Discounted acts do not count.  Returns ``category``,
    ``member``, ``order`` (1 = best), ``episode``, ``kind``, ``success``,
    ``acts`` (the act kinds, sorted), ``messages`` (their act messages in time
    order) and ``at`` (their first act in it).
    """
    success = pl.lit(False)
    for kind, col in _SUCCESS.items():
        success = (
            pl.when(pl.col("kind") == kind).then(pl.col(col).fill_null(False)).otherwise(success)
        )
    mine = acts.filter(_counted(acts) & _in_year("at", year)).join(
        nominees.select("category", "member").unique(), on="member"
    )
    per = (
        mine.with_columns(success.alias("_ok"))
        .sort("at", "message")
        .group_by("category", "member", "episode")
        .agg(
            pl.col("kind").first(),
            pl.col("_ok").any().alias("success"),
            pl.col("act").unique().sort().alias("acts"),
            pl.col("message").unique(maintain_order=True).alias("messages"),
            pl.col("at").min(),
            pl.len().alias("_n"),
        )
        .join(_kind_preferences(categories), on=["category", "kind"], how="left")
        .with_columns(pl.col("_pref").fill_null(len(EPISODE_KINDS)))
    )
    return (
        per.sort(
            ["category", "member", "_pref", "success", "_n", "at", "episode"],
            descending=[False, False, False, True, True, False, False],
        )
        .with_columns(_order_within("category", "member"))
        .filter(pl.col("order") <= n)
        .select(
            "category", "member", "order", "episode", "kind", "success", "acts", "messages", "at"
        )
    )


def clip_text(text: pl.Expr, chars: int) -> pl.Expr:
    """``text`` cut to ``chars`` characters with "…" when longer."""
    return (
        pl.when(text.str.len_chars() > chars)
        .then(pl.concat_str(text.str.slice(0, max(chars - 1, 1)), pl.lit("…")))
        .otherwise(text)
    )


def act_quotes(
    acts: pl.DataFrame,
    nominees: pl.DataFrame,
    best: pl.DataFrame,
    year: int,
    n: int,
    chars: int,
) -> pl.DataFrame:
    """Each nominee's own words: up to ``n`` act messages of the year.

    First one from each best episode (:func:`best_episodes`, in its order),
    then their longest other acts (a long answer says more than "+1"); the
    same text once.  Returns ``category``, ``member``, ``order``, ``message``,
    ``act``, ``at``, ``text`` (cut to ``chars``).
    """
    firsts = best.select(
        "category",
        "member",
        pl.col("messages").list.first().alias("message"),
        pl.col("order").alias("_best"),
    )
    mine = acts.filter(_counted(acts) & _in_year("at", year)).join(
        nominees.select("category", "member").unique(), on="member"
    )
    return (
        mine.join(firsts, on=["category", "member", "message"], how="left")
        .with_columns(pl.col("text").str.strip_chars())
        .filter(pl.col("text").str.len_chars() > 0)
        .with_columns(pl.col("text").str.len_chars().alias("_len"))
        .sort(
            ["category", "member", "_best", "_len", "message"],
            descending=[False, False, False, True, False],
            nulls_last=True,
        )
        .unique(["category", "member", "text"], keep="first", maintain_order=True)
        .with_columns(_order_within("category", "member"))
        .filter(pl.col("order") <= n)
        .select(
            "category",
            "member",
            "order",
            "message",
            "act",
            "at",
            clip_text(pl.col("text"), chars).alias("text"),
        )
    )


def thanks_quotes(
    aimed: pl.DataFrame, members: pl.Series | Sequence[str], year: int, n: int
) -> pl.DataFrame:
    """Up to ``n`` counted thank-you messages aimed at each member in ``year``.

    One per giver first (their latest), most recent first, so the dossier
    shows the breadth of people who said thanks rather than one enthusiast.
    Returns ``member``, ``order``, ``message``, ``giver``, ``at``.
    """
    wanted = pl.Series("member", list(members), dtype=pl.String)
    return (
        aimed.filter(
            pl.col("gratitude")
            & _counted(aimed)
            & _in_year("at", year)
            & pl.col("target").is_in(wanted.implode())
        )
        .sort(["at", "message"], descending=[True, False])
        .with_columns(pl.int_range(pl.len()).over("target", "giver").alias("_nth"))
        .sort(["target", "_nth", "at", "message"], descending=[False, False, True, False])
        .with_columns(_order_within("target"))
        .filter(pl.col("order") <= n)
        .select(pl.col("target").alias("member"), "order", "message", "giver", "at")
    )


# --------------------------------------------------------------------------- rewards


def suggest_rewards(nominees: pl.DataFrame, rewards: RewardsConfig) -> pl.DataFrame:
    """``rewards.per_nominee`` catalogue items for each nominee, best first.

    ``nominees``: ``category``, ``member``, ``recipient`` and ``level`` (the
    burnout level at the end of the year; null when unknown).  A nominee at a
    level of ``rest_first_levels`` gets rest first, whatever the category: the
    reward should not add to the load that is wearing them down.  Everyone
    else gets the category's hints first, then the kinds in ``kind_order``.
    Nominees who do not receive the award are offered items up to
    ``runner_up_max_value``.  Returns ``category``, ``member``, ``order``,
    ``item``, ``kind``, ``value`` and ``reason`` (``rest_first``,
    ``category`` or ``kind``).
    """
    catalogue = pl.DataFrame(
        [(i.key, i.kind, i.value, n) for n, i in enumerate(rewards.catalogue)],
        schema={"item": pl.String, "kind": pl.String, "value": pl.Float64, "_cat": pl.Int64},
        orient="row",
    )
    hints = pl.DataFrame(
        [
            (c, item, n)
            for c, items in rewards.category_hints.items()
            for n, item in enumerate(items)
        ],
        schema={"category": pl.String, "item": pl.String, "_hint": pl.Int64},
        orient="row",
    )
    kind_rank = {k: i for i, k in enumerate(rewards.kind_order)}
    at_risk = pl.col("level").is_in(list(rewards.rest_first_levels)).fill_null(False)
    is_rest = pl.col("kind").is_in(list(rewards.rest_kinds))
    hinted = pl.col("_hint").is_not_null()
    pairs = (
        nominees.select("category", "member", "recipient", "level")
        .join(catalogue, how="cross")
        .join(hints, on=["category", "item"], how="left")
        .filter(pl.col("recipient") | (pl.col("value") <= rewards.runner_up_max_value))
        .with_columns(
            (at_risk & ~is_rest).alias("_k0"),
            (~hinted).alias("_k1"),
            pl.col("_hint").fill_null(len(rewards.catalogue)).alias("_k2"),
            pl.col("kind")
            .replace_strict(kind_rank, default=len(kind_rank), return_dtype=pl.Int64)
            .alias("_k3"),
            pl.when(at_risk & is_rest)
            .then(pl.lit("rest_first"))
            .when(hinted)
            .then(pl.lit("category"))
            .otherwise(pl.lit("kind"))
            .alias("reason"),
        )
    )
    return (
        pairs.sort(["category", "member", "_k0", "_k1", "_k2", "_k3", "_cat"])
        .with_columns(_order_within("category", "member"))
        .filter(pl.col("order") <= rewards.per_nominee)
        .select("category", "member", "order", "item", "kind", "value", "reason")
    )


# --------------------------------------------------------------------------- citation


@dataclass(frozen=True)
class CitedEpisode:
    """What a citation says of the nominee's best episode."""

    kind: str
    day: date
    place: str
    outcome: Mapping[str, Any]


def outcome_flags(kind: str, outcome: Mapping[str, Any]) -> list[str]:
    """The good outcomes of an episode a citation may name, best first
    (:data:`OUTCOME_FLAGS`): the recorded booleans, plus ``cooled`` (a
    conflict's heat fell) and ``contained`` (a complaint did not spread)."""
    flags = {k for k, v in outcome.items() if v is True}
    before, after = outcome.get("heat_before"), outcome.get("heat_after")
    if isinstance(before, (int, float)) and isinstance(after, (int, float)) and after < before:
        flags.add("cooled")
    if kind == "complaint" and outcome.get("spread") == 0:
        flags.add("contained")
    return [f for f in OUTCOME_FLAGS.get(kind, ()) if f in flags]


def _fact_value(facts: Mapping[str, Any], name: str) -> int:
    value = facts.get(name)
    return int(value) if isinstance(value, (int, float)) else 0


def _listing(items: Sequence[str], loc: str) -> str:
    """``items`` as one phrase: "a, b, and c" / 「a，b，c」."""
    if len(items) <= 1:
        return "".join(items)
    head = t("awards.citation.join", loc).join(items[:-1])
    return head + t("awards.citation.join_last", loc) + items[-1]


def fact_phrase(name: str, n: int, locale: str | None = None) -> str:
    """``awards.fact.<name>`` for ``n`` (its ``.one`` form when ``n`` is 1:
    "calmed one quarrel", not "calmed 1 quarrels")."""
    loc = current_locale(locale)
    key = f"awards.fact.{name}"
    if n == 1 and f"{key}.one" in catalogue(loc):
        key = f"{key}.one"
    return t(key, loc, n=n)


def citation(
    *,
    name: str,
    year: int,
    category: AwardCategory,
    facts: Mapping[str, Any],
    episode: CitedEpisode | None = None,
    thanks_quote: str | None = None,
    reward: RewardItem | None = None,
    max_facts: int = 4,
    locale: str | None = None,
) -> str:
    """The citation: what the award and its reward thank this member for.

    Names the category, the member's own numbers (``facts``: the ledger and
    award fields of the year; the category's ``citation_facts`` above zero, at
    most ``max_facts``), their best episode (when, where, what came of it),
    one thank-you in a member's own words, and the reward, ending in the
    spirit of 「这是为了感谢您在过去一年中，为维护社群和谐、帮助他人所付出的辛勤劳动，
    希望您能好好休息一下」.  A draft for a person to read and sign, never a
    template with blanks.

    >>> cat = awards_config().category("peacemaker")
    >>> text = citation(name="老王", year=2026, category=cat,
    ...                 facts={"conflicts_calmed": 5}, locale="zh-CN")
    >>> "平息了 5 场争吵" in text
    True
    """
    loc = current_locale(locale)
    parts = [t("awards.citation.opening", loc, name=name, year=year, category=category.name(loc))]
    shown = [
        fact_phrase(f, _fact_value(facts, f), loc)
        for f in category.citation_facts
        if _fact_value(facts, f) > 0
    ][:max_facts]
    if shown:
        parts.append(t("awards.citation.facts", loc, facts=_listing(shown, loc)))
    if episode is not None:
        flags = outcome_flags(episode.kind, episode.outcome)[:2]
        said = [t(f"awards.outcome.{episode.kind}.{f}", loc) for f in flags]
        outcome = _listing(said, loc) or t("awards.outcome.none", loc)
        day = t(
            "awards.citation.date",
            loc,
            month=t(f"awards.month.{episode.day.month}", loc),
            day=episode.day.day,
        )
        parts.append(
            t(
                "awards.citation.episode",
                loc,
                date=day,
                place=episode.place,
                kind=t(f"awards.episode.{episode.kind}", loc),
                outcome=outcome,
            )
        )
    if thanks_quote:
        parts.append(t("awards.citation.quote", loc, quote=thanks_quote))
    closing = t(f"awards.citation.closing_{reward.kind if reward else 'none'}", loc)
    if reward is not None:
        parts.append(
            t(
                "awards.citation.reward",
                loc,
                reward=reward.name(loc),
                thanks_for=category.thanks_for[loc],
                closing=closing,
            )
        )
    else:
        parts.append(
            t(
                "awards.citation.no_reward",
                loc,
                thanks_for=category.thanks_for[loc],
                closing=closing,
            )
        )
    return _SENTENCE_SEP.get(loc, " ").join(parts)


__all__ = [
    "AWARD_FIELDS",
    "CITABLE",
    "PEOPLE_SCHEMA",
    "RANKING_SCHEMA",
    "REASONS",
    "AntiGaming",
    "AwardCategory",
    "AwardsConfig",
    "CitedEpisode",
    "DossierSizes",
    "Eligibility",
    "RankField",
    "RewardItem",
    "RewardsConfig",
    "act_quotes",
    "allocate",
    "award_fields",
    "awarded_in",
    "awards_config",
    "best_episodes",
    "citation",
    "eligibility",
    "fact_phrase",
    "held_elsewhere",
    "outcome_flags",
    "rank_category",
    "rankable_fields",
    "rewards_config",
    "suggest_rewards",
    "thanks_quotes",
    "year_bounds",
]
