"""``/awards``: the year's award nominees per category, with the score and
its parts, the evidence dossier, reward suggestions and the citation draft
(admins, operators and care users); the citation editor; and the exports
``/awards/{year}.csv``, ``.xlsx`` and ``.json``.

Nothing is recorded until someone gives an award.  The editor carries the
edited citation and the chosen reward in its form (``Update draft`` shows
them back, checked, without storing anything), so no copy of a member's
words lives outside the tables a member's erasure knows; ``Give award``
writes the citation into the care log as an ``award`` action with the
dossier's episodes as evidence, and from then on the member is not
nominated again that year.  Burnout risk, and the rewards suggested because
of it, are shown to care roles only.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from anchorwatch.care.awards import awards_config, rewards_config
from anchorwatch.engines.awards import AwardReport, Nomination, latest_year
from anchorwatch.store.users import CARE_ROLES
from anchorwatch.web.care_views import (
    MAX_NOTE,
    Refused,
    award_report_for,
    checked_note,
    field_label,
    find_nomination,
    give_award,
    outcome_badges,
    report_dict,
    text_of,
)
from anchorwatch.web.pages import SECURITY_HEADERS, Page, page_roles
from anchorwatch.web.queries_care import GivenAward, given_awards, member_names, message_years
from anchorwatch.web.views import Views, views_of

router = APIRouter(include_in_schema=False)

AWARD_ROLES = ("admin", "operator", "care")
AwardsPageDep = Annotated[Page, Depends(page_roles(*AWARD_ROLES))]

#: Media types of the exports.
EXPORTS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


def _year(views: Views, asked: str | None) -> int | None:
    if asked and asked.isdigit():
        return int(asked)
    return latest_year(views.frames())


def _helpers(page: Page) -> dict[str, Any]:
    """What the templates need to put the report into words."""
    rewards = rewards_config()
    return {
        "label": lambda key: field_label(key, page.locale),
        "badges": outcome_badges,
        "care": page.user.role in CARE_ROLES,
        "currency": rewards.currency,
        "reward_name": lambda key: rewards.item(key).name(page.locale) if key else "–",
    }


def _given_by_category(given: list[GivenAward]) -> dict[str | None, list[GivenAward]]:
    out: dict[str | None, list[GivenAward]] = {}
    for g in given:
        out.setdefault(g.category, []).append(g)
    return out


@router.get("/awards", response_class=HTMLResponse)
def awards_page(page: AwardsPageDep) -> HTMLResponse:
    views = views_of(page.request)
    year = _year(views, page.request.query_params.get("year"))
    if year is None:
        return page.render("pages/empty.html")
    years: list[int] = views.cache.get("years", lambda: message_years(views.store))
    if year not in years:
        return page.render("pages/not_found.html", status_code=404)

    def context() -> dict[str, Any]:
        report = award_report_for(views, year, page.locale)
        cfg = awards_config()
        given = given_awards(views.store, year)
        categories = [
            {
                "key": cat.key,
                "name": cat.name(page.locale),
                "thanks_for": cat.thanks_for.get(page.locale, ""),
                "nominees": [n for n in report.nominations if n.category == cat.key],
                "elsewhere": [e for e in report.elsewhere if e["category"] == cat.key],
            }
            for cat in cfg.categories
        ]
        givers = {g for n in report.nominations for q in n.dossier.thanks if (g := q.giver)}
        return {
            "year": year,
            "years": years,
            "report": report,
            "categories": categories,
            "category_names": {cat.key: cat.name(page.locale) for cat in cfg.categories},
            "given": given,
            "given_by": _given_by_category(given),
            "names": member_names(views.store, {*givers, *(g.member for g in given)}),
            "rewards_version": rewards_config().version,
            **_helpers(page),
        }

    # What the page shows depends on the year and on whether the role may
    # see burnout risk; the rendering is kept until the store changes.
    care = page.user.role in CARE_ROLES
    return page.render_cached("pages/awards.html", f"awards:{year}:{care}", context)


def _table(report: AwardReport, with_risk: bool) -> Any:
    """One row per nomination (the CLI's table), without the risk for roles
    other than care (``write_table`` neutralises formulas)."""
    from anchorwatch.cli.awards import _flat

    frame = _flat(report)
    if not with_risk and frame.width:
        frame = frame.drop("burnout_risk", "level", strict=False)
    return frame


@router.get("/awards/{year}.{fmt}", response_model=None)
def awards_export(year: int, fmt: Literal["csv", "xlsx", "json"], page: AwardsPageDep) -> Response:
    views = views_of(page.request)
    if year not in message_years(views.store):
        return page.render("pages/not_found.html", status_code=404)
    report = award_report_for(views, year, page.locale)
    with_risk = page.user.role in CARE_ROLES
    if fmt == "json":
        body = orjson.dumps(report_dict(report, with_risk=with_risk), option=orjson.OPT_INDENT_2)
    else:
        from anchorwatch.store.tables import write_table

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"awards-{year}.{fmt}"
            write_table(_table(report, with_risk), path, "awards")
            body = path.read_bytes()
        if fmt == "csv":
            body = b"\xef\xbb\xbf" + body  # so that spreadsheet apps read it as UTF-8
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="awards-{year}.{fmt}"',
    }
    return Response(body, media_type=EXPORTS[fmt], headers=headers)


# -- the citation editor ------------------------------------------------------------------


def _editor(
    page: Page,
    year: int,
    category: str,
    member: str,
    *,
    citation: str | None = None,
    reward: str | None = None,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    views = views_of(page.request)
    cfg = awards_config()
    if category not in cfg.keys or year not in message_years(views.store):
        return page.render("pages/not_found.html", status_code=404)
    report = award_report_for(views, year, page.locale)
    nomination = find_nomination(report, category, member)
    mine = [g for g in given_awards(views.store, year) if g.member == member]
    if nomination is None and not mine:
        return page.render("pages/not_found.html", status_code=404)
    suggested = [r.item for r in nomination.rewards] if nomination else []
    thanked = nomination.dossier.thanks if nomination else []
    catalogue = rewards_config().catalogue
    given_id = page.request.query_params.get("given")
    return page.render(
        "pages/award_edit.html",
        status_code=status_code,
        year=year,
        category=category,
        category_name=cfg.category(category).name(page.locale),
        member=member,
        who=member_names(views.store, [member]).get(member, member),
        names=member_names(views.store, [q.giver for q in thanked if q.giver]),
        n=nomination,
        given=mine,
        given_id=given_id if given_id and given_id.isdigit() else None,
        citation=citation if citation is not None else (nomination.citation if nomination else ""),
        reward=reward if reward is not None else (suggested[0] if suggested else ""),
        suggested=[i for key in suggested for i in catalogue if i.key == key],
        others=[i for i in catalogue if i.key not in suggested],
        category_names={cat.key: cat.name(page.locale) for cat in cfg.categories},
        notice=notice,
        error=error,
        max_chars=MAX_NOTE,
        **_helpers(page),
    )


@router.get("/awards/{year}/{category}/{member}", response_class=HTMLResponse)
def citation_editor(year: int, category: str, member: str, page: AwardsPageDep) -> HTMLResponse:
    return _editor(page, year, category, member)


def _nomination(page: Page, year: int, category: str, member: str) -> Nomination | None:
    return find_nomination(
        award_report_for(views_of(page.request), year, page.locale), category, member
    )


@router.post("/awards/{year}/{category}/{member}", response_model=None)
async def save_or_give(year: int, category: str, member: str, page: AwardsPageDep) -> Response:
    form = await page.form()
    if year not in message_years(views_of(page.request).store):
        return page.render("pages/not_found.html", status_code=404)
    here = f"/awards/{year}/{quote(category, safe='')}/{quote(member, safe='')}"
    citation = text_of(form, "citation")
    reward = str(form.get("reward") or "") or None
    nomination = _nomination(page, year, category, member)
    if nomination is None:  # given meanwhile, or never nominated
        return RedirectResponse(here, status_code=303)
    if form.get("do") != "give":
        try:
            checked_note(citation)
        except Refused as exc:
            error = exc.text(page.locale)
            return _editor(
                page,
                year,
                category,
                member,
                citation=citation,
                reward=reward,
                error=error,
                status_code=400,
            )
        notice = page.t("web.awards.edit.saved")
        return _editor(
            page, year, category, member, citation=citation, reward=reward, notice=notice
        )
    views = views_of(page.request)
    try:
        cid = give_award(views.store, page.user.name, nomination, citation, reward)
    except Refused as exc:
        return _editor(
            page,
            year,
            category,
            member,
            citation=citation,
            reward=reward,
            error=exc.text(page.locale),
            status_code=400,
        )
    views.cache.clear()  # the member leaves the nominations; the next one moves up
    return RedirectResponse(f"{here}?given={cid}", status_code=303)
