"""Reports: the monthly community emotional-health report (DESIGN 2, issue 6).

:func:`monthly_report` assembles a :class:`MonthlyReport` for a month and an
edition from an analysed store; :func:`render_html`, :func:`render_pdf` and
:func:`render_xlsx` (or :func:`write_report`, by the file's suffix) turn it
into a file; :mod:`anchorwatch.reports.charts` draws its charts.  See
docs/reports.md.

>>> from pathlib import Path                                  # doctest: +SKIP
>>> from anchorwatch.store import open_store                    # doctest: +SKIP
>>> report = monthly_report(open_store("sqlite:///aw.db"), "2026-06", "care")  # doctest: +SKIP
>>> write_report(report, Path("2026-06.pdf"))                   # doctest: +SKIP
"""

from anchorwatch.reports.monthly import (
    EDITIONS,
    SECTIONS,
    MonthlyReport,
    ReportError,
    ReportOptions,
    assemble_report,
    load_report_frames,
    monthly_report,
    parse_month,
)
from anchorwatch.reports.render import (
    REPORT_SUFFIXES,
    SHEETS,
    render_html,
    render_pdf,
    render_xlsx,
    write_report,
)

__all__ = [
    "EDITIONS",
    "REPORT_SUFFIXES",
    "SECTIONS",
    "SHEETS",
    "MonthlyReport",
    "ReportError",
    "ReportOptions",
    "assemble_report",
    "load_report_frames",
    "monthly_report",
    "parse_month",
    "render_html",
    "render_pdf",
    "render_xlsx",
    "write_report",
]
