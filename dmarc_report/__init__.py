"""The HTML report: a self-contained page of charts and tables about the reports in a store.

    data = load_report_data(runner, ReportOptions(days=30), where="./dmarc-data")
    html = render_html(data)

``runner`` is a ``dmarc_store.query`` runner (DuckDB over a local store, or Athena), so the page shows
what the saved queries answer. ``render_html`` is pure: data in, text out.
"""

from __future__ import annotations

from dmarc_report.data import ReportData, ReportOptions, load_report_data
from dmarc_report.page import render_html

__all__ = ["ReportData", "ReportOptions", "load_report_data", "render_html"]
