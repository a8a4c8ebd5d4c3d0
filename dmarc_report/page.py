"""The report page: ``render_html`` fills the Jinja2 templates of ``dmarc_report/templates``.

One self-contained document (inline CSS and SVG, no script, nothing fetched): ``page.html.j2`` is the
layout (head, Content-Security-Policy, the stylesheet ``page.css`` inlined at render time) and each
section has a template of its own. Report fields are attacker-controlled, so:

- ``render_html`` first cleans every string of the data (``text.clean_all``: control, bidi and
  zero-width characters become U+FFFD, whitespace runs a space), and the environment's ``finalize``
  cleans whatever else a template prints;
- autoescape is on for every template, so every value is HTML-escaped unless it is ``Markup``, and the
  only ``Markup`` comes from the templates themselves, from the filters below (which escape what they
  wrap) and from the stylesheet, which is ours;
- long values are cut short (``clip``) with the full text in a ``title``, so that no table overflows.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from dmarc_report import words
from dmarc_report.charts import LIMITS, PALETTE, figures
from dmarc_report.digest_text import gate_threshold, gate_value, safe_link
from dmarc_report.model import ReportData
from dmarc_report.text import clean, clean_all, count, day, percent, plural, shorten
from dmarc_report.tls_charts import TLS_LEGEND, tls_figures

__all__ = ["render_html"]

IP_LIMIT = 45
"""Long enough for any IPv6 address: only a value that is no address is cut."""
LONG_RUN = 32
_LONG_RUN = re.compile(rf"\S{{{LONG_RUN + 1},}}")


def render_html(data: ReportData) -> str:
    """The whole page: data in, text out."""
    data = clean_all(data)
    template = _environment().get_template("page.html.j2")
    return template.render(
        data=data,
        figures=None if data.empty else figures(data),
        tls_figures=None if data.tls is None else tls_figures(data.tls, LIMITS.tls_domains),
        style=_stylesheet(),
    )


def template_environment() -> Environment:
    """A new Jinja2 environment over templates/ as every page of the package renders: autoescaped,
    strict about undefined names, every printed value cleaned (``_finalize``); the caller adds its
    filters."""
    return Environment(
        loader=PackageLoader("dmarc_report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@cache
def _environment() -> Environment:
    environment = template_environment()
    environment.filters.update(
        categories=words.categories,
        clip=clip,
        count=count,
        day=day,
        gate_threshold=gate_threshold,
        gate_value=gate_value,
        ip=ip,
        link=safe_link,
        main_category=words.main_category,
        num=num,
        percent=percent,
        plural=plural,
        policy=words.policy,
        reporter_name=words.reporter_name,
        sender_kind=words.sender_kind,
        shorten=shorten,
    )
    environment.globals.update(
        limits=LIMITS,
        palette=PALETTE,
        verdicts=words.VERDICTS,
        tls_legend=TLS_LEGEND,
        tls_verdicts=words.TLS_VERDICTS,
    )
    return environment


def _stylesheet() -> Markup:
    """templates/page.css, read now, as markup for the ``<style>`` element (it cannot close it)."""
    css = files("dmarc_report").joinpath("templates", "page.css").read_text(encoding="utf-8")
    if "<" in css:
        raise ValueError("templates/page.css must not hold '<': it is inlined in a <style> element")
    return Markup(css)  # noqa: S704 - our own file, checked above


def _finalize(value: object) -> object:
    """What ``{{ ... }}`` prints: markup as it is, anything else as cleaned text (then escaped)."""
    return value if isinstance(value, Markup) else clean(value)


def clip(text: object, limit: int) -> Markup:
    """The text, escaped; longer than ``limit``: shortened, in a span whose ``title`` has it all.

    Text with a run of more than ``LONG_RUN`` characters and no space may break anywhere (``.long``):
    a table cell is at least as wide as its longest unbreakable word.
    """
    full = clean(text)
    short = shorten(full, limit)
    if short == full and not _LONG_RUN.search(full):
        return escape(full)
    css = Markup(' class="long"') if _LONG_RUN.search(short) else ""
    title = Markup(' title="{}"').format(full) if short != full else ""
    return Markup("<span{}{}>{}</span>").format(css, title, short)


def ip(address: object) -> Markup:
    """An IP address for a table cell: a long IPv6 address may break after a colon."""
    full = clean(address)
    short = shorten(full, IP_LIMIT)
    shown = Markup(":<wbr>").join(escape(part) for part in short.split(":"))
    if short == full:
        return shown
    return Markup('<span title="{}">{}</span>').format(full, shown)


def num(value: float, digits: int = 1) -> str:
    """An SVG coordinate: a float with ``digits`` decimals, an int as it is."""
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)
