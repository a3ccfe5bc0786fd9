"""The care inbox, the thank-you composer, the venting channel from both
sides, the refusals, and the awards with their citation editor, in real
Chromium."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from .conftest import PASSWORD, Site, login, shot

SECRET = "最近真的好累，每天下班还要回答几十个同样的问题，<b>不想管了</b>"
ANSWER = "谢谢你愿意说出来。这周的新人问题我们先接手，你好好歇两天。"


def _api(site: Site, user: str, path: str) -> Any:
    from anchorwatch.store.users import create_token

    token = create_token(site.store, user)
    request = urllib.request.Request(site.url + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _audited(site: Site, action: str, user: str) -> bool:
    from anchorwatch.store.audit import audit_entries

    return any(e.action == action and e.user_name == user for e in audit_entries(site.store))


def test_a_care_user_composes_and_logs_a_thank_you(page: Any, site: Site) -> None:
    login(page, site, "care")
    page.goto(f"{site.url}/care")
    assert page.locator("h1").inner_text() == "关怀工作台"
    assert page.locator("#watch").is_visible() and page.locator("#channels").is_visible()
    assert _audited(site, "view_watchlist", "care")
    page.goto(f"{site.url}/care/thanks/u0001")
    draft = page.locator("#text").input_value()
    assert draft.startswith("S7车主·慢慢来") or "S7车主·慢慢来" in draft
    assert page.locator("#evidence a[href^='/episodes/']").count() >= 1
    page.click(".chips a:has-text('正式')")
    assert "tone=formal" in page.url
    formal = page.locator("#text").input_value()
    assert formal != draft and "S7车主·慢慢来" in formal
    page.click(".chips a:has-text('English')")
    assert "language=en" in page.url and "Thank" in page.locator("#text").input_value()
    page.click(".chips a:has-text('中文')")
    edited = formal + "\n——小林（澜舟车主关怀）"
    page.fill("#text", edited)
    page.click("#log-thanks")
    page.wait_for_selector("#logged")
    history = page.locator("#member-care-log").inner_text()
    assert "——小林（澜舟车主关怀）" in history and "感谢" in history
    page.select_option("#action", "call")
    page.fill("#note", "电话聊了半小时，最近工作很忙")
    page.click("#log-other")
    page.wait_for_selector("#logged")
    assert "电话聊了半小时" in page.locator("#member-care-log").inner_text()
    shot(page, "thanks")
    log = _api(site, "care", "/api/v1/care/log?member=u0001")
    thanks = [a for a in log if a["action"] == "thanks"]
    assert thanks[-1]["note"] == edited and thanks[-1]["staff"] == "care"
    assert any(e.startswith("ep_") for e in thanks[-1]["evidence"])
    page.goto(f"{site.url}/care")  # the inbox's recent care actions have it too
    recent = page.locator("#care-log tbody tr", has=page.locator(".badge.action-thanks"))
    assert recent.count() >= 1 and "S7车主·慢慢来" in recent.first.inner_text()
    assert not page.errors


def test_the_member_vents_and_the_care_user_answers(page: Any, browser: Any, site: Site) -> None:
    page.goto(site.url + site.vent_link)  # the member: no account, the link is the key
    page.fill("#text", SECRET)
    page.click("button[type=submit]")
    assert page.locator("p.ok").is_visible()
    assert "<b>不想管了</b>" in page.locator("section").inner_text()  # shown as text
    shot(page, "vent-member")

    staff = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    try:
        sp = staff.new_page()
        errors: list[str] = []
        sp.on("pageerror", lambda exc: errors.append(str(exc)))
        login(sp, site, "care")
        sp.goto(f"{site.url}/care")
        row = sp.locator("#channels tbody tr", has_text="u0002")
        assert row.locator(".badge.medium").inner_text() == "1"  # one message awaits a reply
        shot(sp, "care")
        row.locator("a.button").click()
        sp.wait_for_load_state("networkidle")
        assert "/care/vents/" in sp.url
        thread = sp.locator("#thread")
        assert SECRET in thread.inner_text() and sp.locator("#thread b").count() == 0
        sp.fill("#reply-text", ANSWER)
        sp.click("#send-reply")
        sp.wait_for_selector("#thread .bubble.care")
        assert ANSWER in sp.locator("#thread .bubble.care").inner_text()
        shot(sp, "vent-staff")
        assert not errors
    finally:
        staff.close()
    assert _audited(site, "view_vents", "care") and _audited(site, "reply_vent", "care")
    page.reload()
    assert ANSWER in page.locator("section").inner_text()  # the member reads the answer


def test_others_are_refused(page: Any, site: Site) -> None:
    from anchorwatch.store.users import add_user, get_user
    from anchorwatch.store.venting import care_channels

    channel = care_channels(site.store, get_user(site.store, "care"))[0]
    login(page, site, "operator")
    response = page.goto(f"{site.url}/care")
    assert response is not None and response.status == 403
    page.goto(f"{site.url}/awards")  # the operator's own pages do not offer it either
    hrefs = [a.get_attribute("href") for a in page.locator("header nav a").all()]
    assert "/awards" in hrefs and "/care" not in hrefs
    add_user(site.store, "小周", "care", PASSWORD)  # a care user, but not this member's
    for user in ("小周", "admin"):
        login(page, site, user)
        response = page.goto(f"{site.url}/care/vents/{channel.id}")
        assert response is not None and response.status == 403, user
        assert SECRET not in page.content()
        page.goto(f"{site.url}/care/vents")
        assert page.locator("#channels tbody tr td.muted").count() == 1  # none of theirs


def test_a_care_user_revokes_a_link(page: Any, site: Site) -> None:
    from anchorwatch.store.venting import invite

    token, channel = invite(site.store, "u0003", "care", days=7)
    login(page, site, "care")
    page.goto(f"{site.url}/care/vents/{channel.id}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#revoke")
    page.wait_for_selector(".badge.status-revoked")
    assert page.locator("#reply-text").count() == 0
    response = page.goto(f"{site.url}/vent/{token}")
    assert response is not None and response.status == 410


def test_awards_nominees_and_the_citation_editor(page: Any, site: Site) -> None:
    login(page, site, "operator")
    page.goto(f"{site.url}/awards")
    assert page.locator("h1").inner_text().startswith("2026")
    assert page.locator("section.category").count() == 4
    assert page.locator(".nominee").count() >= 4
    assert page.locator(".nominee .citation").first.inner_text().strip()
    assert page.locator(".nominee .badge.risk").count() == 0  # risk is for care roles
    page.locator(".nominee details summary").first.click()
    assert page.locator(".dossier a[href^='/episodes/']").first.is_visible()
    shot(page, "awards")
    exported = page.request.get(f"{site.url}/awards/2026.json")
    assert exported.status == 200 and "burnout_risk" not in exported.text()

    recipient = page.locator(".nominee.recipient").first
    awarded = recipient.get_attribute("data-member")
    assert awarded
    recipient.locator("a.button").click()
    page.wait_for_selector("#citation")
    edited = page.locator("#citation").input_value() + "\n——澜舟车主社群运营团队"
    page.fill("#citation", edited)
    page.select_option("#reward", "spa_day")
    page.click("#save")
    assert page.locator("#notice").is_visible()
    assert page.locator("#citation").input_value() == edited
    assert page.locator("#reward").input_value() == "spa_day"
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#give")
    page.wait_for_selector("#given")
    assert "——澜舟车主社群运营团队" in page.locator("#given .citation").inner_text()
    log = _api(site, "care", f"/api/v1/care/log?member={awarded}")
    [award] = [a for a in log if a["action"] == "award"]
    assert award["note"] == edited and award["evidence"] and award["staff"] == "operator"
    page.goto(f"{site.url}/awards")
    assert page.locator(f"#given a[href='/members/{awarded}']").count() == 1
    assert not page.errors
