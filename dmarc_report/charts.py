"""The page's charts: from ``ReportData`` to the ``svg.Chart`` of each section, with its legend.

``figures(data)`` builds them all, in the order they appear on the page (chart ids are counters in
that order, never report text). Colours are the Okabe-Ito palette, safe for colour-blind readers;
``Limits`` says how many domains, sources and reporters the charts and lists show.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from itertools import count as counter

from dmarc_report import svg
from dmarc_report.model import DomainReport, ReportData
from dmarc_report.periods import bucket_label, bucket_name, buckets, pair_totals
from dmarc_report.text import DASH, count, percent, plural, shorten
from dmarc_report.words import CATEGORIES, categories, reporter_name, single_category

__all__ = ["LIMITS", "PALETTE", "DailyFigures", "DomainFigures", "Figure", "Figures", "Limits", "figures"]


@dataclass(frozen=True)
class Palette:
    green: str = "#009E73"
    vermillion: str = "#D55E00"
    orange: str = "#E69F00"
    other: str = "#9AA5B1"


PALETTE = Palette()
CATEGORY_COLOURS = {
    "pass": PALETTE.green,
    "forwarded": "#56B4E9",
    "mailing_list": "#0072B2",
    "not_aligned": PALETTE.orange,
    "dkim_not_aligned": "#CC79A7",
    "spf_not_aligned": "#CCBB44",
    "no_auth": PALETTE.vermillion,
}
READINESS_INK = {"ready": "#00583f", "almost": "#7a4d00", "not ready": "#8f3300"}
NARROW = 600
"""Chart widths in the SVG's units, near their width on screen, so that text keeps its size."""
WIDE = 1000
TITLE_LIMIT = 80
"""How much of a domain a chart's title and description quote (the heading above has it all)."""
PASS_FAIL = ((PALETTE.green, "passes DMARC"), (PALETTE.vermillion, "fails DMARC"))


@dataclass(frozen=True)
class Limits:
    daily_domains: int = 8
    readiness_rows: int = 25
    fix_domains: int = 6
    fix_rows: int = 8
    reporter_rows: int = 15
    sender_rows: int = 20
    tls_domains: int = 8
    tls_failure_rows: int = 10


LIMITS = Limits()

Legend = tuple[tuple[str, str], ...]
"""(colour, words) pairs."""


@dataclass(frozen=True)
class Figure:
    chart: svg.Chart
    legend: Legend = ()


@dataclass(frozen=True)
class DomainFigures:
    domain: DomainReport
    volume: svg.Chart
    rate: svg.Chart


@dataclass(frozen=True)
class DailyFigures:
    unit: str
    """'day', 'week', 'month' or 'year': one column of the charts."""
    legend: Legend
    domains: tuple[DomainFigures, ...]


@dataclass(frozen=True)
class Figures:
    readiness: Figure
    daily: DailyFigures
    sources: Figure
    failing: Figure | None
    """None when no mail failed."""
    reporters: Figure


class _Ids:
    """Chart ids: counters, never report text."""

    def __init__(self) -> None:
        self._next = counter(1)

    def __call__(self, kind: str) -> str:
        return f"{kind}-{next(self._next)}"


def figures(data: ReportData) -> Figures:
    """Every chart of a page that has reports, in page order."""
    ids = _Ids()
    return Figures(
        readiness=_readiness(data, ids),
        daily=_daily(data, ids),
        sources=_sources(data, ids),
        failing=_failing(data, ids) if data.failing else None,
        reporters=_reporters(data, ids),
    )


def _readiness(data: ReportData, ids: _Ids) -> Figure:
    rows = [
        svg.Row(
            label=domain.domain,
            segments=(
                svg.Segment(
                    PALETTE.green, domain.pass_rate or 0.0, f"{percent(domain.pass_rate)} pass DMARC"
                ),
                svg.Segment(
                    PALETTE.orange,
                    domain.legitimate_fail_share,
                    f"{percent(domain.legitimate_fail_share)} fail but authenticate elsewhere: fix first",
                ),
                svg.Segment(
                    PALETTE.vermillion,
                    domain.unauthenticated_fail_share,
                    f"{percent(domain.unauthenticated_fail_share)} fail with no authentication",
                ),
            ),
            note=domain.readiness,
            note_colour=READINESS_INK.get(domain.readiness, svg.MUTED),
            hint=f"{domain.domain}: {count(domain.messages)} messages",
        )
        for domain in data.domains[: LIMITS.readiness_rows]
    ]
    chart = svg.bar_chart(
        ids("readiness"),
        "Enforcement readiness per domain",
        "For each domain, the share of its mail that passes DMARC, that fails but authenticates for "
        "another domain (to fix before enforcing), and that fails with no authentication at all "
        "(what p=reject is meant to block).",
        rows,
        width=WIDE,
        label_width=220,
        label_limit=32,
        maximum=1.0,
        axis=lambda share: f"{share:.0%}",
        note_width=80,
    )
    legend = (
        (PALETTE.green, "passes DMARC"),
        (PALETTE.orange, "fails, authenticates elsewhere: fix first"),
        (PALETTE.vermillion, "fails, no authentication: blocked by reject"),
    )
    return Figure(chart, legend)


def _daily(data: ReportData, ids: _Ids) -> DailyFigures:
    unit, starts, key = buckets(data.first_day, data.last_day)
    shown = tuple(
        _domain_daily(domain, unit, starts, key, ids) for domain in data.domains[: LIMITS.daily_domains]
    )
    return DailyFigures(unit, PASS_FAIL, shown)


def _domain_columns(
    domain: DomainReport, unit: str, starts: list[date], key: Callable[[date], date]
) -> list[svg.Column]:
    totals = pair_totals(domain.days, starts, key, lambda entry: (entry.day, entry.messages, entry.passed))
    columns = []
    for start in starts:
        messages, passed = totals[start]
        rate = passed / messages if messages else None
        columns.append(
            svg.Column(
                label=bucket_label(unit, start),
                hint=f"{bucket_name(unit, start)}: {count(messages)} messages, {percent(rate)} pass",
                segments=(
                    svg.Segment(PALETTE.green, passed, f"{count(passed)} pass"),
                    svg.Segment(PALETTE.vermillion, messages - passed, f"{count(messages - passed)} fail"),
                ),
                rate=rate,
            )
        )
    return columns


def _domain_daily(
    domain: DomainReport, unit: str, starts: list[date], key: Callable[[date], date], ids: _Ids
) -> DomainFigures:
    columns = _domain_columns(domain, unit, starts, key)
    name = shorten(domain.domain, TITLE_LIMIT)
    volume = svg.column_chart(
        ids("volume"),
        f"Messages per {unit} for {name}",
        f"Stacked columns: messages that pass and fail DMARC per {unit}, {count(domain.messages)} in all.",
        columns,
        width=NARROW,
    )
    rate = svg.rate_chart(
        ids("passrate"),
        f"DMARC pass rate per {unit} for {name}",
        f"The share of messages passing DMARC per {unit}; {percent(domain.pass_rate)} over the period.",
        columns,
        colour=PALETTE.green,
        width=NARROW,
    )
    return DomainFigures(domain, volume, rate)


def _sources(data: ReportData, ids: _Ids) -> Figure:
    rows = [
        svg.Row(
            label=source.source_ip,
            segments=tuple(
                svg.Segment(
                    CATEGORY_COLOURS.get(category, PALETTE.other),
                    source.by_category.get(category, 0),
                    f"{CATEGORIES.get(category, category)}: {count(source.by_category.get(category, 0))}",
                )
                for category in _ordered_categories(source.by_category)
            ),
            note=count(source.messages),
            hint=f"{source.source_ip} ({source.domain}), envelope from {source.envelope_from or DASH}",
        )
        for source in data.sources
    ]
    shown = sum(source.messages for source in data.sources)
    share = shown / data.overview.messages if data.overview.messages else None
    chart = svg.bar_chart(
        ids("sources"),
        "Volume by source and DMARC result",
        f"The {len(rows)} sending IP addresses with the most mail, each bar split by DMARC result. "
        f"They carry {percent(share)} of all messages.",
        rows,
        width=WIDE,
        label_width=250,
        label_limit=34,
    )
    present = {category for source in data.sources for category in source.by_category}
    legend = tuple(
        (CATEGORY_COLOURS.get(c, PALETTE.other), CATEGORIES.get(c, c)) for c in _ordered_categories(present)
    )
    return Figure(chart, legend)


def _failing(data: ReportData, ids: _Ids) -> Figure:
    rows = [
        svg.Row(
            label=source.source_ip,
            segments=(
                svg.Segment(
                    CATEGORY_COLOURS.get(single_category(source.categories), PALETTE.other),
                    source.failed,
                    f"{count(source.failed)} of {count(source.messages)} messages fail: "
                    f"{categories(source.categories)}",
                ),
            ),
            note=f"{count(source.failed)} · {percent(source.fail_rate)} of its mail",
            hint=f"{source.source_ip} ({source.domain}): {categories(source.categories)}",
        )
        for source in data.failing
    ]
    chart = svg.bar_chart(
        ids("failing"),
        "Sources with the most mail failing DMARC",
        f"The {len(rows)} sources with the most failing messages, coloured by why they fail, with the "
        "share of their mail that fails.",
        rows,
        width=WIDE,
        label_width=250,
        label_limit=34,
        note_width=170,
    )
    reasons = {single_category(source.categories) for source in data.failing}
    legend = tuple((CATEGORY_COLOURS[c], CATEGORIES[c]) for c in CATEGORIES if c in reasons) + (
        ((PALETTE.other, "several reasons"),) if "" in reasons else ()
    )
    return Figure(chart, legend)


def _reporters(data: ReportData, ids: _Ids) -> Figure:
    multi = len(data.domains) > 1
    rows = []
    for reporter in data.reporters[: LIMITS.reporter_rows]:
        name = reporter_name(reporter.reporter, reporter.emails)
        label = f"{name} · {reporter.domain}" if multi else name
        passed = reporter.messages * (reporter.pass_rate or 0.0)
        rows.append(
            svg.Row(
                label=label,
                segments=(
                    svg.Segment(PALETTE.green, passed, f"{percent(reporter.pass_rate)} pass"),
                    svg.Segment(PALETTE.vermillion, reporter.messages - passed, "fail"),
                ),
                note=count(reporter.messages),
                hint=f"{label}: {plural(reporter.reports, 'report')}",
            )
        )
    chart = svg.bar_chart(
        ids("reporters"),
        "Messages per reporter",
        f"The {len(rows)} receivers reporting the most mail, each bar split into passing and failing mail.",
        rows,
        width=NARROW,
        label_width=190,
        label_limit=28,
    )
    return Figure(chart, PASS_FAIL)


def _ordered_categories(present: Iterable[str]) -> list[str]:
    present = set(present)
    known = [category for category in CATEGORIES if category in present]
    return known + sorted(present - set(CATEGORIES))
