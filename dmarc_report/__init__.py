"""The HTML report: a self-contained page of charts and tables about the reports in a store.

    data = load_report_data(runner, ReportOptions(days=30), where="./dmarc-data")
    html = render_html(data)

``runner`` is a ``dmarc_store.query`` runner (DuckDB over a local store, or Athena), so the page shows
what the saved queries answer. ``render_html`` is pure: data in, text out.

Modules: ``model`` (the dataclasses), ``sql`` and ``data`` (the queries and their rows), ``text`` and
``words`` (cleaning, shortening, number formats, words for values), ``svg`` and ``charts`` (chart
geometry and each section's charts), ``page`` (the Jinja2 environment over ``templates/``).
"""

from __future__ import annotations

from dmarc_report.data import load_report_data
from dmarc_report.model import ReportData, ReportOptions
from dmarc_report.page import render_html

__all__ = ["ReportData", "ReportOptions", "load_report_data", "render_html"]
