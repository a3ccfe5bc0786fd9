"""What the care and awards pages show, built once for a page and for its
JSON twin under ``/api/v1``: the members who need care, the thank-you
composer, the award nominations, and the care-log writes they end in.

The pure work is elsewhere (``care.thanks``, ``engines.awards``,
``engines.members``); this module only gathers it for one request, and keeps
what a role may see (burnout risk is for care roles only) in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from anchorwatch.care.thanks import Draft, NoEvidence, care_settings, compose, period_bounds
from anchorwatch.engines.awards import AwardReport, Nomination
from anchorwatch.i18n import catalogue, t
from anchorwatch.store import Store
from anchorwatch.store.audit import audit
from anchorwatch.store.care import log_care_action
from anchorwatch.web.queries_care import labour_months, last_care
from anchorwatch.web.views import Views

#: The longest note (a thank-you, a citation) the pages accept.
MAX_NOTE = 4000

#: Care actions logged by hand from the composer; ``thanks`` has its own form
#: and ``award`` is given from the awards pages.
OTHER_ACTIONS = ("call", "rest", "rotate", "gift", "other")

#: The draft languages (``care.yaml`` has drafts in both).
LANGUAGES = ("zh-CN", "en")


class Refused(ValueError):
    """A care write that was refused; ``code`` is an i18n key."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    def text(self, locale: str) -> str:
        return t(self.code, locale, **self.params)


# -- labels -------------------------------------------------------------------------------


def field_label(key: str, locale: str) -> str:
    """A ledger or award field in words (``ledger.*``, then ``awards.field.*``)."""
    for prefix in ("ledger.", "awards.field."):
        if prefix + key in catalogue("zh-CN"):
            return t(prefix + key, locale)
    return key


def outcome_badges(outcome: dict[str, Any]) -> list[str]:
    """The outcomes an episode achieved (``True`` and with a label), in order."""
    known = catalogue("zh-CN")
    return [k for k, v in outcome.items() if v is True and f"report.outcome.{k}" in known]


def text_of(form: dict[str, Any], name: str) -> str:
    """A posted text field, with the browser's CRLF line ends made LF."""
    return str(form.get(name) or "").replace("\r\n", "\n").strip()


def checked_note(text: str) -> str:
    if not text:
        raise Refused("web.care.error.empty")
    if len(text) > MAX_NOTE:
        raise Refused("web.care.error.too_long", limit=MAX_NOTE)
    return text


# -- who needs care -----------------------------------------------------------------------


def watch_rows(views: Views, drivers: int = 3) -> list[dict[str, Any]]:
    """The watchlist's members (medium and high risk, riskiest first) with
    their suggested care action, strongest drivers and latest care action."""
    from anchorwatch.members.burnout import watchlist_records

    risk, evidence = views.watchlist()
    rows = watchlist_records(risk, evidence, views.frames().names, drivers)
    cared = last_care(views.store, [r["member"] for r in rows])
    for row in rows:
        last = cared.get(row["member"])
        row["last_care"] = (
            None
            if last is None
            else {"action": last.action, "at": last.at.isoformat(timespec="seconds") + "Z"}
        )
    return rows


# -- the thank-you composer ---------------------------------------------------------------


@dataclass
class Composer:
    """One member's thank-you draft in a tone and language, and its evidence.

    ``draft`` is ``None`` when the period holds nothing concrete to thank for
    (``error`` says why): no generic thank-you is ever offered instead.
    """

    member: str
    name: str
    period: str | None
    periods: list[str]
    tone: str
    language: str
    tones: tuple[str, ...]
    draft: Draft | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    error: Refused | None = None


def _periods(months: list[str]) -> list[str]:
    years = sorted({m[:4] for m in months}, reverse=True)
    return [*months, *years]


def composer(
    store: Store,
    member: str,
    name: str,
    *,
    period: str | None = None,
    tone: str | None = None,
    language: str | None = None,
) -> Composer:
    """The draft for ``member`` of ``period`` (default: the latest month they
    laboured in) in ``tone`` and ``language`` (defaults: the first tone,
    Chinese), with the episodes it names."""
    from anchorwatch.store.analysis import thanks_events

    cfg = care_settings()
    tones = tuple(str(x) for x in cfg["tones"])
    months = labour_months(store, member)
    view = Composer(
        member,
        name,
        period or (months[0] if months else None),
        _periods(months),
        tone if tone is not None and tone in tones else tones[0],
        language if language is not None and language in LANGUAGES else LANGUAGES[0],
        tones,
    )
    if view.period is None:
        view.error = Refused("error.no_labour", member=name, period="–")
        return view
    try:
        start, end = period_bounds(view.period)
    except ValueError:
        view.error = Refused("error.bad_period", value=view.period)
        return view
    events = thanks_events(store, member, start, end)
    try:
        view.draft = compose(
            member,
            name,
            events,
            today=min(end, datetime.now()),
            tone=view.tone,
            locale=view.language,
            period=view.period,
            settings=cfg,
        )
    except NoEvidence:
        view.error = Refused("error.no_labour", member=name, period=view.period)
        return view
    by_id = {row["episode"]: row for row in events.iter_rows(named=True)}
    view.events = [
        {**by_id[e], "outcomes": [o for o in OUTCOME_KEYS if by_id[e].get(o)]}
        for e in view.draft.episodes
        if e in by_id
    ]
    return view


#: The outcome columns of ``care.thanks.EVENT_SCHEMA`` that a page names.
OUTCOME_KEYS = (
    "attacks_stopped",
    "agreement",
    "details_given",
    "moved_to_channel",
    "thanked",
    "returned_30d",
    "welcomed",
    "first_post",
)


def log_thanks(store: Store, staff: str, draft: Draft, text: str) -> int:
    """Log ``text`` (the draft as edited and sent) as a thank-you, with the
    episodes and messages the draft names as evidence; audited."""
    note = checked_note(text)
    cid = log_care_action(
        store,
        draft.member,
        "thanks",
        staff=staff,
        episode=draft.episodes[0] if draft.episodes else None,
        note=note,
        evidence=[*draft.episodes, *draft.messages],
    )
    audit(store, staff, "log_care", draft.member, {"action": "thanks", "id": cid})
    return cid


def log_other(store: Store, staff: str, member: str, action: str, note: str) -> int:
    """Log a call, a rest, a rotation, a gift or another care action; audited."""
    if action not in OTHER_ACTIONS:
        raise Refused("web.care.error.action")
    if len(note) > MAX_NOTE:
        raise Refused("web.care.error.too_long", limit=MAX_NOTE)
    cid = log_care_action(store, member, action, staff=staff, note=note or None)
    audit(store, staff, "log_care", member, {"action": action, "id": cid})
    return cid


# -- awards -------------------------------------------------------------------------------


def award_report_for(views: Views, year: int, locale: str) -> AwardReport:
    """The year's nominations in ``locale``, computed once per state of the store."""
    from anchorwatch.engines.awards import award_report

    return views.cache.get(
        f"awards:{year}:{locale}",
        lambda: award_report(views.store, year, locale=locale, frames=views.frames()),
    )


def find_nomination(report: AwardReport, category: str, member: str) -> Nomination | None:
    for n in report.nominations:
        if n.category == category and n.member == member:
            return n
    return None


def nomination_dict(n: Nomination, *, with_risk: bool) -> dict[str, Any]:
    """The JSON form of a nomination; without ``with_risk`` (roles other than
    care) the burnout risk, its level and the rest-first reasons are left out."""
    data = n.as_dict()
    if not with_risk:
        data.pop("burnout_risk", None)
        data.pop("level", None)
        for reward in data["rewards"]:
            reward.pop("reason", None)
    return data


def report_dict(report: AwardReport, *, with_risk: bool) -> dict[str, Any]:
    """What ``anchorwatch awards --json`` prints, for one role."""
    from anchorwatch.care.awards import rewards_config

    return {
        "version": report.version,
        "rewards_version": rewards_config().version,
        "year": report.year,
        "nominations": [nomination_dict(n, with_risk=with_risk) for n in report.nominations],
        "elsewhere": report.elsewhere,
        "excluded": [e.as_dict() for e in report.excluded],
    }


def give_award(store: Store, staff: str, n: Nomination, citation: str, reward: str | None) -> int:
    """Give ``n``'s award: the citation (as edited) goes into the care log as
    an ``award`` action, with the dossier's episodes as evidence and the
    year, category and reward beside it; audited.  From then on the member is
    not nominated again that year."""
    from anchorwatch.care.awards import rewards_config

    note = checked_note(citation)
    if reward is not None:
        try:
            rewards_config().item(reward)
        except KeyError:
            raise Refused("web.awards.error.reward") from None
    episodes = [e.id for e in n.dossier.episodes]
    cid = log_care_action(
        store,
        n.member,
        "award",
        staff=staff,
        episode=episodes[0] if episodes else None,
        note=note,
        evidence=episodes,
        extra={
            "award": {
                "year": n.year,
                "category": n.category,
                "version": n.version,
                "reward": reward,
            }
        },
    )
    audit(
        store,
        staff,
        "log_care",
        n.member,
        {"action": "award", "id": cid, "year": n.year, "category": n.category},
    )
    return cid
