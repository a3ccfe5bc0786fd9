"""The import and settings pages in real Chromium: an upload with a malformed
row, its progress, summary and rejects report, then the analysis; settings
for admins only, a weight saved as a new version and a bad value refused."""

from __future__ import annotations

import os
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
import pytest

from anchorwatch.config import site as site_settings
from anchorwatch.records import record_to_dict
from anchorwatch.store.reader import iter_records

from .conftest import Site, login, shot


@pytest.fixture
def settings_env() -> Iterator[None]:
    """The app runs in this process: undo where saving pointed the loaders."""
    saved = {spec.env: os.environ.get(spec.env) for spec in site_settings.EDITABLE.values()}
    yield
    for env, value in saved.items():
        os.environ.pop(env, None)
        if value is not None:
            os.environ[env] = value
    site_settings.clear_loader_caches()


def _export_with_a_bad_row(site: Site, path: Path) -> None:
    """Rows already in the store (the import changes nothing) and, on line 4,
    a row that is not JSON."""
    rows = [orjson.dumps(record_to_dict(r)) for r in islice(iter_records(site.store), 6)]
    rows.insert(
        3, b'{"type": "message", "id": "broken", "text": "\xe6\xb2\xa1\xe9\x97\xad\xe5\x90\x88'
    )
    path.write_bytes(b"\n".join(rows) + b"\n")


def test_an_admin_imports_a_file_and_reads_the_rejects(
    page: Any, site: Site, tmp_path: Path
) -> None:
    upload = tmp_path / "车主群导出.jsonl"
    _export_with_a_bad_row(site, upload)
    login(page, site, "admin")
    page.goto(f"{site.url}/import")
    assert page.locator("h1").inner_text() == "导入数据"
    page.set_input_files("#file", str(upload))
    page.click("#upload-form button[type=submit]")
    # The page follows the job (import.js polls its status) and shows the
    # summary when it is done.
    page.wait_for_selector("#job[data-state='done']", timeout=60_000)
    page.wait_for_selector("#import-summary", timeout=10_000)
    assert page.locator("#job-phase").inner_text() == "已完成"
    assert page.locator("#job-bar").get_attribute("value") == "100.0"
    assert page.locator("#rejected-count").inner_text() == "1"
    row = page.locator("#rejects tbody tr").first
    assert row.locator("td").first.inner_text() == "4"
    assert "JSON" in row.locator("td").nth(1).inner_text()
    href = page.locator("a[href$='rejects.csv']").get_attribute("href")
    assert href and href.startswith("/import/jobs/")
    csv_text = page.request.get(site.url + href).text()
    assert csv_text.lstrip("\ufeff").splitlines()[1].startswith("4,")
    assert "车主群导出.jsonl" in page.locator("#job h2").inner_text()
    shot(page, "import")

    # Nothing new to analyse: the analysis runs and ends quickly.
    page.click("#analyze-form button[type=submit]")
    page.wait_for_selector("#analyze-summary", timeout=120_000)
    assert page.locator("#job-phase").inner_text() == "已完成"
    assert not page.errors


def test_an_operator_is_refused_settings(page: Any, site: Site) -> None:
    login(page, site, "operator")
    assert page.locator("header nav a[href='/settings']").count() == 0
    assert page.locator("header nav a[href='/import']").count() == 1
    response = page.goto(f"{site.url}/settings")
    assert response.status == 403


def _weight(page: Any) -> Any:
    return page.locator('[id="f-value_weights.thanks_received"]')


def test_an_admin_changes_a_weight(page: Any, site: Site, settings_env: None) -> None:
    login(page, site, "admin")
    page.goto(f"{site.url}/settings")
    before = page.locator("#members-version").inner_text()
    original = _weight(page).input_value()
    _weight(page).fill("2.5")
    page.click("#value button[type=submit]")
    page.wait_for_selector("#value-notice")
    version = page.locator("#members-version").inner_text()
    assert version.startswith("members.v1+site.") and version != before
    assert version in page.locator("#value-notice").inner_text()
    assert _weight(page).input_value() == "2.5"
    assert "value_weights.thanks_received" in page.locator("#history").inner_text()
    shot(page, "settings")

    _weight(page).fill("-3")
    page.click("#value button[type=submit]")
    error = page.locator("#value-error")
    assert error.is_visible() and "value_weights.thanks_received" in error.inner_text()
    assert page.locator("#members-version").inner_text() == version  # nothing saved
    assert _weight(page).input_value() == "-3"  # what was typed stays

    _weight(page).fill(original)  # leave the shared site as it was
    page.click("#value button[type=submit]")
    page.wait_for_selector("#value-notice")
    assert not page.errors
