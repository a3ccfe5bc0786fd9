"""Report tables written to files: CSV or XLSX by the file's suffix.

The I/O edge of every tabular report (questions, buffer, members,
watchlist).  Nested columns (lists, structs) are written as JSON text so a
spreadsheet shows them whole.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import polars as pl

TABLE_SUFFIXES = (".csv", ".xlsx")


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    nested = [c for c, dt in frame.schema.items() if isinstance(dt, (pl.List, pl.Struct, pl.Array))]
    if not nested:
        return frame
    return frame.with_columns(
        pl.col(c).map_elements(
            lambda v: orjson.dumps(v.to_list() if isinstance(v, pl.Series) else v).decode(),
            return_dtype=pl.String,
        )
        for c in nested
    )


def inert(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells that a spreadsheet would run as a formula (``= + - @``, tab,
    carriage return) get a leading ``'``: member names and messages are
    untrusted, and an export must not become a CSV/XLSX injection."""
    text = [c for c, dt in frame.schema.items() if dt == pl.String]
    risky = r"^[=+\-@\t\r]"
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(risky))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text
    )


def write_table(frame: pl.DataFrame, path: Path, sheet: str = "anchorwatch") -> None:
    """Write ``frame`` to ``path`` (``.csv`` or ``.xlsx``), formulas neutralised."""
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ValueError(f"unsupported table file {path.name}: use {' or '.join(TABLE_SUFFIXES)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = inert(_flat(frame))
    if suffix == ".csv":
        flat.write_csv(path)
        return
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet[:31])
    ws.append(list(flat.columns))
    for row in flat.iter_rows():
        ws.append(list(row))
    book.save(path)
