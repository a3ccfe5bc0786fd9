"""Anchors, a member's profile, an evidence item, the watchlist and XSS, in
real Chromium."""

from __future__ import annotations

from typing import Any

from .conftest import Site, login, shot


def _busiest_anchor(page: Any) -> str:
    first = page.locator("#ranking tbody tr a").first
    href = first.get_attribute("href")
    assert href and href.startswith("/members/")
    return href


def test_anchors_profile_and_evidence(page: Any, site: Site) -> None:
    login(page, site, "care")
    page.goto(f"{site.url}/anchors")
    page.wait_for_selector("#chart-quadrant[data-rendered='1']", timeout=10_000)
    assert page.locator("#ranking tbody tr").count() > 3
    shot(page, "anchors")
    page.goto(site.url + _busiest_anchor(page))
    assert page.locator("#ledger").is_visible() and page.locator("#value").is_visible()
    assert page.locator("#risk").is_visible()  # a care role sees the risk
    shot(page, "member")
    item = page.locator("#timeline .evidence-item a").first
    item.click()
    page.wait_for_load_state("networkidle")
    assert "/episodes/" in page.url
    marked = page.locator("mark.span")
    assert marked.count() >= 1 and marked.first.inner_text().strip()
    shot(page, "episode")
    assert not page.errors


def test_risk_is_for_care_roles_only(page: Any, site: Site) -> None:
    login(page, site, "operator")
    page.goto(f"{site.url}/anchors")
    page.goto(site.url + _busiest_anchor(page))
    assert page.locator("#ledger").is_visible()
    assert page.locator("#risk").count() == 0
    response = page.goto(f"{site.url}/watchlist")
    assert response is not None and response.status == 403
    assert "/watchlist" not in [a.get_attribute("href") for a in page.locator("nav a").all()]


def test_the_watchlist_for_care(page: Any, site: Site) -> None:
    login(page, site, "care")
    page.goto(f"{site.url}/watchlist")
    assert page.locator("#watchlist").is_visible()
    shot(page, "watchlist")
    from anchorwatch.store.audit import audit_entries

    assert any(
        e.action == "view_watchlist" and e.user_name == "care" for e in audit_entries(site.store)
    )


def test_a_script_in_a_message_shows_as_text(page: Any, site: Site) -> None:
    from sqlalchemy import select, update

    from anchorwatch.store import schema

    evil = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
    with site.store.engine.begin() as conn:
        mid = conn.execute(select(schema.messages.c.id).limit(1)).scalar_one()
        conn.execute(update(schema.messages).where(schema.messages.c.id == mid).values(text=evil))
    login(page, site, "analyst")
    page.goto(f"{site.url}/messages/{mid}")
    focus = page.locator(".msg.focus .text")
    assert "<script>" in focus.inner_text() and "onerror" in focus.inner_text()
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".msg.focus img").count() == 0


def test_the_audit_log_is_for_admins(page: Any, site: Site) -> None:
    login(page, site, "care")
    page.goto(f"{site.url}/watchlist")
    response = page.goto(f"{site.url}/audit")
    assert response is not None and response.status == 403
    login(page, site, "admin")
    page.goto(f"{site.url}/audit")
    rows = page.locator("#audit tbody tr")
    assert rows.count() >= 2
    assert "care" in page.locator("#audit").inner_text()


def test_an_admin_erases_a_member_after_confirming(page: Any, site: Site, tmp_path: Any) -> None:
    import json

    from sqlalchemy import select

    from anchorwatch.ingest.loader import import_source
    from anchorwatch.ingest.registry import open_source
    from anchorwatch.store import schema
    from anchorwatch.store.audit import audit_entries

    marker = "ZZ-ERASE-ME-7f3a"
    rows = [
        {"type": "member", "id": "u_leaving", "name": "要离开的人", "role": "member"},
        {"type": "conversation", "id": "c_leaving", "channel": "论坛", "title": "告别帖"},
        {
            "type": "message",
            "id": "m_leaving",
            "conversation": "c_leaving",
            "author": "u_leaving",
            "sent_at": "2026-12-20T10:00:00+08:00",
            "text": f"请删除我的所有数据 {marker}",
        },
    ]
    path = tmp_path / "leaving.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    assert (
        import_source(site.store, open_source(path), rejects_path=tmp_path / "r.jsonl").exit_code
        == 0
    )

    login(page, site, "operator")
    response = page.goto(f"{site.url}/members/u_leaving/erase")
    assert response is not None and response.status == 403  # admins only
    login(page, site, "admin")
    page.goto(f"{site.url}/members/u_leaving")
    page.click("#erase-link")
    assert page.locator("#erase-counts").is_visible()
    shot(page, "erase")
    page.fill("#confirm", "u_wrong")
    page.click("button.danger")
    assert page.locator(".error").is_visible()
    page.fill("#confirm", "u_leaving")
    page.click("button.danger")
    page.wait_for_load_state("networkidle")
    assert "/erased/" in page.url
    with site.store.engine.connect() as conn:
        assert (
            conn.execute(select(schema.members).where(schema.members.c.id == "u_leaving")).first()
            is None
        )
        assert (
            conn.execute(select(schema.messages).where(schema.messages.c.id == "m_leaving")).first()
            is None
        )
    entry = audit_entries(site.store, limit=5)[0]
    assert entry.action == "erase_member" and entry.user_name == "admin"
    assert "u_leaving" not in json.dumps(entry.detail) and entry.member != "u_leaving"
