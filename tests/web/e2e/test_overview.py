"""Log in and see the overview with its charts drawn, in real Chromium."""

from __future__ import annotations

from typing import Any

from .conftest import Site, login, shot


def test_login_and_the_dashboard_charts_render(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/")
    assert "/login" in page.url  # not signed in: sent to the login page
    login(page, site, "operator")
    assert page.url.rstrip("/") == site.url
    assert page.locator("h1").inner_text().startswith("社群概览")
    for chart in ("#chart-mood", "#chart-episodes"):
        page.wait_for_selector(f"{chart}[data-rendered='1']", timeout=10_000)
        box = page.locator(chart).bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100
    # The chart really drew: its canvas holds coloured pixels.
    drawn = page.evaluate(
        """() => {
            const c = document.querySelector('#chart-mood');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 0; i < d.length; i += 4) { if (d[i + 3] > 0) n++; }
            return n;
        }"""
    )
    assert drawn > 1000
    assert not page.errors
    shot(page, "overview")


def test_a_wrong_password_is_refused(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/login")
    page.fill("#name", "operator")
    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    assert "failed=1" in page.url and page.locator(".error").is_visible()


def test_english_is_one_click_away(page: Any, site: Site) -> None:
    login(page, site, "analyst")
    page.click("text=English")
    assert page.locator("h1").inner_text().startswith("Community overview")
