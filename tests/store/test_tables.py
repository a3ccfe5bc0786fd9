"""Report tables: CSV and XLSX, nested columns as JSON, no formula injection."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from anchorwatch.store.tables import write_table

FRAME = pl.DataFrame(
    {
        "name": ['=HYPERLINK("http://x")', "老王", "+1 同问", "@all"],
        "n": [1, 2, 3, 4],
        "ids": [["m1"], [], ["m2", "m3"], None],
    }
)


def test_csv_is_inert_and_flat(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    write_table(FRAME, path)
    back = pl.read_csv(path)
    assert back["name"].to_list() == ['\'=HYPERLINK("http://x")', "老王", "'+1 同问", "'@all"]
    assert back["ids"][2] == '["m2","m3"]'


def test_xlsx_is_inert(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    write_table(FRAME, path, "members")
    sheet = load_workbook(path)["members"]
    values = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert values[0].startswith("'=") and values[1] == "老王"


def test_other_suffixes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_table(FRAME, tmp_path / "t.pdf")
