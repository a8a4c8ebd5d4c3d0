"""The report page: one self-contained HTML document (inline CSS and SVG, no script, nothing fetched).

A Content-Security-Policy forbids scripts and every network fetch, so the page opens offline and a
report field that slipped past escaping still could not run. Each chart sits next to a table of its
key numbers; the print stylesheet keeps colours, drops the navigation and keeps charts whole on a page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from itertools import count as counter

from dmarc_report import svg
from dmarc_report.data import CATEGORIES, DomainReport, ReportData
from dmarc_report.text import DASH, count, day, day_short, esc, month, percent, plural, shorten

__all__ = ["render_html"]

GREEN = "#009E73"
VERMILLION = "#D55E00"
ORANGE = "#E69F00"
CATEGORY_COLOURS = {
    "pass": GREEN,
    "forwarded": "#56B4E9",
    "mailing_list": "#0072B2",
    "not_aligned": ORANGE,
    "dkim_not_aligned": "#CC79A7",
    "spf_not_aligned": "#CCBB44",
    "no_auth": VERMILLION,
}
OTHER = "#9AA5B1"
READINESS = {
    "ready": ("ready", "Ready for p=reject"),
    "almost": ("almost", "Almost: fix the sources below first"),
    "not ready": ("not-ready", "Not ready: legitimate mail would be lost"),
}
READINESS_INK = {"ready": "#00583f", "almost": "#7a4d00", "not ready": "#8f3300"}
NARROW = 600
"""Chart widths in the SVG's units, near their width on screen, so that text keeps its size."""
WIDE = 1000
DAILY_DOMAINS = 8
READINESS_ROWS = 25
FIX_DOMAINS = 6
FIX_ROWS = 8

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

STYLE = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --paper:#fff; --page:#f4f6f8; --accent:#0b4f6c; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; background: var(--page); color: var(--ink); font-size: 15px; line-height: 1.45;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", Arial, sans-serif; }
header.top { background: var(--accent); color: #fff; padding: 28px 0 22px; }
header.top h1 { margin: 0 0 4px; font-size: 28px; font-weight: 650; letter-spacing: -.01em; }
header.top p { margin: 0; opacity: .9; }
.wrap { max-width: 1120px; margin: 0 auto; padding: 0 24px; }
nav.toc { background: var(--paper); border-bottom: 1px solid var(--line); }
nav.toc ul { display: flex; flex-wrap: wrap; gap: 4px 20px; list-style: none; margin: 0; padding: 10px 0; }
nav.toc a { color: var(--accent); text-decoration: none; font-weight: 600; font-size: 14px; }
main { padding: 20px 0 40px; }
section.card { background: var(--paper); border: 1px solid var(--line); border-radius: 10px;
  padding: 20px 24px 24px; margin: 0 0 20px; }
section.card > h2 { margin: 0 0 4px; font-size: 21px; }
p.lead { margin: 0 0 16px; color: var(--muted); max-width: 75ch; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px;
  margin: 0 0 16px; }
.kpi { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.kpi .value { display: block; font-size: 26px; font-weight: 650; font-variant-numeric: tabular-nums; }
.kpi .label { color: var(--muted); font-size: 13px; }
.kpi.good .value { color: #00694d; } .kpi.bad .value { color: #a13c00; }
.pair { display: grid; grid-template-columns: minmax(0, 3fr) minmax(260px, 2fr); gap: 20px;
  align-items: start; }
.pair.wide { grid-template-columns: minmax(0, 1fr); }
figure { margin: 0; }
figcaption { font-weight: 600; margin: 0 0 6px; }
svg.chart { display: block; width: 100%; height: auto; max-width: 100%; overflow: visible;
  font-family: inherit; }
svg.chart rect:hover, svg.chart circle:hover { opacity: .8; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 0 0 6px; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: baseline; }
th { color: var(--muted); font-weight: 600; font-size: 12.5px; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.ip { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px;
  overflow-wrap: break-word; }
td.text { overflow-wrap: break-word; }
td.nowrap { white-space: nowrap; }
.pill { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12.5px; font-weight: 650;
  white-space: nowrap; }
.pill.ready { background: #dcf3ea; color: #00583f; } .pill.almost { background: #fdefd2; color: #7a4d00; }
.pill.not-ready { background: #fbe1d3; color: #8f3300; }
.chip { display: inline-block; padding: 0 7px; border: 1px solid var(--line); border-radius: 5px;
  font-size: 12.5px; color: var(--muted); }
ul.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 16px; padding: 0; margin: 6px 0 10px;
  font-size: 13px; color: var(--muted); }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 6px;
  vertical-align: -1px; }
.pair:not(.wide) td.text { overflow-wrap: anywhere; }
td .sub { display: block; color: var(--muted); font-size: 12.5px; }
.domain { border-top: 1px solid var(--line); padding-top: 16px; margin-top: 16px; }
.domain:first-of-type { border-top: 0; margin-top: 4px; padding-top: 0; }
.domain h3 { margin: 0 0 8px; font-size: 17px; overflow-wrap: anywhere; }
.domain h3 .chip, .domain h3 .pill { margin-left: 8px; vertical-align: 2px; }
.fixes { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 16px 28px;
  margin-top: 18px; }
.note { color: var(--muted); font-size: 13px; margin: 8px 0 0; }
.empty { text-align: center; padding: 48px 24px; }
.empty h2 { font-size: 24px; margin: 0 0 8px; }
code { background: #eef1f4; padding: 1px 5px; border-radius: 4px; white-space: nowrap; font-size: .92em; }
details { margin-top: 8px; } summary { cursor: pointer; color: var(--accent); font-size: 13.5px; }
footer { color: var(--muted); font-size: 13px; padding: 0 0 40px; }
footer dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; }
footer dt { font-weight: 600; color: var(--ink); }
footer dd { margin: 0; }
@media (max-width: 860px) { .pair { grid-template-columns: minmax(0, 1fr); } }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { background: #fff; font-size: 10pt; }
  table { font-size: 8.5pt; }
  th, td { padding: 3px 5px; }
  td.text { overflow-wrap: anywhere; }
  .kpis { grid-template-columns: repeat(6, minmax(0, 1fr)); gap: 6px; }
  .kpi { padding: 6px 8px; }
  .kpi .value { font-size: 15pt; }
  .pill { padding: 0 5px; font-size: 8pt; }
  header.top { background: #fff; color: var(--ink); padding: 0 0 8px; border-bottom: 2px solid var(--ink); }
  .wrap { max-width: none; padding: 0; }
  nav.toc, details, svg.chart rect:hover { display: none; }
  main { padding: 10px 0 0; }
  section.card { border: 0; border-radius: 0; padding: 0; margin: 0 0 14pt; }
  section.card > h2 { break-after: avoid; }
  .pair { display: block; }
  .pair > * + * { margin-top: 8pt; }
  figure, table, .kpis, .domain { break-inside: avoid; }
  tr { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


class _Ids:
    """Chart ids: counters, never report text."""

    def __init__(self) -> None:
        self._next = counter(1)

    def __call__(self, kind: str) -> str:
        return f"{kind}-{next(self._next)}"


def render_html(data: ReportData) -> str:
    """The whole page."""
    ids = _Ids()
    scope = _scope_text(data)
    if data.empty:
        body = _empty(data)
        sections = ""
    else:
        body = "".join(
            [
                _overview(data),
                _readiness(data, ids),
                _daily(data, ids),
                _sources(data, ids),
                _failing(data, ids),
                _reporters(data, ids),
            ]
        )
        sections = _toc()
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light">'
        f"<title>DMARC report {esc(DASH)} {esc(scope)}</title>"
        f"<style>{STYLE}</style></head><body>"
        '<header class="top"><div class="wrap"><h1>DMARC report</h1>'
        f"<p>{esc(scope)}</p></div></header>"
        f"{sections}"
        f'<main class="wrap">{body}</main>'
        f"{_footer(data)}"
        "</body></html>\n"
    )


def _scope_text(data: ReportData) -> str:
    domains = f"domain {data.options.domain}" if data.options.domain else "all domains"
    if data.options.days is None:
        period = f"all reports, {day(data.first_day)} {DASH} {day(data.last_day)}"
    else:
        period = f"last {plural(data.options.days, 'day')}, {day(data.first_day)} {DASH} {day(data.last_day)}"
    return f"{domains} · {period} (UTC)"


def _toc() -> str:
    links = [
        ("overview", "Overview"),
        ("readiness", "Enforcement readiness"),
        ("daily", "Daily volume"),
        ("sources", "Sources"),
        ("failing", "Failing sources"),
        ("reporters", "Reporters"),
    ]
    items = "".join(f'<li><a href="#{anchor}">{esc(words)}</a></li>' for anchor, words in links)
    return f'<nav class="toc" aria-label="Sections"><div class="wrap"><ul>{items}</ul></div></nav>'


# --- sections ----------------------------------------------------------------------------------------------


def _empty(data: ReportData) -> str:
    if not data.stored:
        title = "No reports yet"
        text = (
            f"The store at {esc(data.where)} holds no DMARC aggregate reports. Ingest some with "
            "<code>dmarc ingest PATH</code> (a folder, mbox or Maildir of report mail), then run "
            "<code>dmarc report --html FILE</code> again."
        )
    else:
        first = min(s.first_day for s in data.stored)
        last = max(s.last_day for s in data.stored)
        names = ", ".join(esc(s.domain) for s in data.stored[:12])
        more = f" and {len(data.stored) - 12} more" if len(data.stored) > 12 else ""
        title = "No reports in this period"
        text = (
            f"The store holds {esc(plural(data.stored_reports, 'report'))} from {esc(day(first))} to "
            f"{esc(day(last))}, for {names}{esc(more)}, but none for the domain and days asked. "
            "Widen the period with <code>--days all</code> or another <code>--domain</code>."
        )
    return (
        f'<section class="card empty" id="overview"><h2>{esc(title)}</h2>'
        f'<p class="lead" style="margin:0 auto">{text}</p></section>'
    )


def _overview(data: ReportData) -> str:
    total = data.overview
    ready = sum(1 for d in data.domains if d.readiness == "ready")
    rate = total.pass_rate or 0.0
    tiles = [
        ("", count(total.messages), "messages reported"),
        ("good" if rate >= 0.98 else "bad" if rate < 0.9 else "", percent(total.pass_rate), "pass DMARC"),
        ("bad" if total.failing else "", count(total.failing), "fail DMARC"),
        ("", count(len(data.domains)), "domains"),
        ("", count(total.sources), "sending sources"),
        ("", count(total.reports), f"reports from {plural(total.reporters, 'reporter')}"),
    ]
    kpis = "".join(
        f'<div class="kpi {kind}"><span class="value">{esc(value)}</span>'
        f'<span class="label">{esc(label)}</span></div>'
        for kind, value, label in tiles
    )
    lead = (
        f"Receivers reported {esc(count(total.messages))} messages sent as "
        f"{esc(plural(len(data.domains), 'domain'))}; {esc(percent(total.pass_rate))} passed DMARC. "
        f"{esc(count(ready))} of {esc(count(len(data.domains)))} "
        f"{'domain is' if len(data.domains) == 1 else 'domains are'} ready for p=reject."
    )
    return (
        '<section class="card" id="overview"><h2>Overview</h2>'
        f'<p class="lead">{lead}</p><div class="kpis" id="kpis">{kpis}</div></section>'
    )


def _readiness(data: ReportData, ids: _Ids) -> str:
    shown = data.domains[:READINESS_ROWS]
    rows = [
        svg.Row(
            label=domain.domain,
            segments=(
                svg.Segment(GREEN, domain.pass_rate or 0.0, f"{percent(domain.pass_rate)} pass DMARC"),
                svg.Segment(
                    ORANGE,
                    domain.legitimate_fail_share,
                    f"{percent(domain.legitimate_fail_share)} fail but authenticate elsewhere: fix first",
                ),
                svg.Segment(
                    VERMILLION,
                    domain.unauthenticated_fail_share,
                    f"{percent(domain.unauthenticated_fail_share)} fail with no authentication",
                ),
            ),
            note=domain.readiness,
            note_colour=READINESS_INK.get(domain.readiness, svg.MUTED),
            hint=f"{domain.domain}: {count(domain.messages)} messages",
        )
        for domain in shown
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
    more = (
        f'<p class="note">The chart shows the {len(shown)} busiest domains; the table lists all '
        f"{len(data.domains)}.</p>"
        if len(data.domains) > len(shown)
        else ""
    )
    legend = svg.legend(
        [
            (GREEN, "passes DMARC"),
            (ORANGE, "fails, authenticates elsewhere: fix first"),
            (VERMILLION, "fails, no authentication: blocked by reject"),
        ]
    )
    table = _table(
        "readiness-table",
        "What would fail at p=quarantine or p=reject",
        ["Domain", "Policy", "Messages", "Pass", "Would fail", "Fix first", "Verdict"],
        [
            [
                ("text", esc(domain.domain)),
                ("", esc(_policy(domain.current_policy))),
                ("num", esc(count(domain.messages))),
                ("num", esc(percent(domain.pass_rate))),
                ("num", f"{esc(count(domain.failing))} ({esc(percent(domain.would_fail_share))})"),
                ("num", esc(percent(domain.legitimate_fail_share))),
                ("", _pill(domain.readiness)),
            ]
            for domain in data.domains
        ],
    )
    fixes = [_fix_list(domain) for domain in data.domains if domain.fix_sources][:FIX_DOMAINS]
    fix_block = f'<div class="fixes">{"".join(fixes)}</div>' if fixes else ""
    return (
        '<section class="card" id="readiness"><h2>Enforcement readiness</h2>'
        '<p class="lead">At <code>p=quarantine</code> the failing mail goes to spam, at '
        "<code>p=reject</code> it is refused. Mail that fails but authenticates for another domain "
        "usually comes from your own servers or services you use: align them (DKIM signing with your "
        "domain, or an SPF-covered return path) before you enforce. Mail with no authentication at all "
        "is what enforcement is for.</p>"
        f'<div class="pair wide"><figure><figcaption>Share of each domain\'s mail</figcaption>{legend}{chart}'
        f"{more}</figure>{table}</div>{fix_block}</section>"
    )


def _fix_list(domain: DomainReport) -> str:
    rows = [
        [
            ("ip", _ip(source.source_ip)),
            ("num", esc(count(source.failing_messages))),
            ("num", esc(percent(source.share_of_failures))),
            ("text", esc(_categories(source.failure_categories))),
            ("nowrap", _action(source.fix_first)),
        ]
        for source in domain.fix_sources[:FIX_ROWS]
    ]
    extra = len(domain.fix_sources) - FIX_ROWS
    caption = f"{domain.domain}: sources to look at, in order"
    table = _table(
        None, caption, ["Source IP", "Failing", "Of failures", "Why it fails", "Action"], rows, css="fix"
    )
    note = (
        f'<p class="note">{esc(plural(extra, "more source"))} in '
        "<code>dmarc query enforcement_readiness</code>.</p>"
    )
    return f"<div>{table}{note if extra > 0 else ''}</div>"


def _daily(data: ReportData, ids: _Ids) -> str:
    unit, starts, key = _buckets(data.first_day, data.last_day)
    cards = [_domain_daily(domain, unit, starts, key, ids) for domain in data.domains[:DAILY_DOMAINS]]
    more = (
        f'<p class="note">Showing the {DAILY_DOMAINS} busiest of {len(data.domains)} domains; '
        "see one with <code>--domain</code>.</p>"
        if len(data.domains) > DAILY_DOMAINS
        else ""
    )
    per = {"day": "per day", "week": "per week", "month": "per month", "year": "per year"}[unit]
    legend = svg.legend([(GREEN, "passes DMARC"), (VERMILLION, "fails DMARC")])
    return (
        f'<section class="card" id="daily"><h2>Volume and pass rate {per}</h2>'
        f'<p class="lead">Messages reported {per} (by the day a report\'s period begins) and the share '
        f"that passed DMARC. A drop in the pass rate often means a new sender or a broken DKIM key.</p>"
        f"{legend}{''.join(cards)}{more}</section>"
    )


def _domain_daily(
    domain: DomainReport, unit: str, starts: list[date], key: Callable[[date], date], ids: _Ids
) -> str:
    totals: dict[date, list[int]] = {start: [0, 0] for start in starts}
    for entry in domain.days:
        bucket = totals.setdefault(key(entry.day), [0, 0])
        bucket[0] += entry.messages
        bucket[1] += entry.passed
    columns = []
    for start in starts:
        messages, passed = totals[start]
        name = _bucket_name(unit, start)
        rate = passed / messages if messages else None
        columns.append(
            svg.Column(
                label=_bucket_label(unit, start),
                hint=f"{name}: {count(messages)} messages, {percent(rate)} pass",
                segments=(
                    svg.Segment(GREEN, passed, f"{count(passed)} pass"),
                    svg.Segment(VERMILLION, messages - passed, f"{count(messages - passed)} fail"),
                ),
                rate=rate,
            )
        )
    volume = svg.column_chart(
        ids("volume"),
        f"Messages per {unit} for {domain.domain}",
        f"Stacked columns: messages that pass and fail DMARC per {unit}, {count(domain.messages)} in all.",
        columns,
        width=NARROW,
    )
    rate_chart = svg.rate_chart(
        ids("passrate"),
        f"DMARC pass rate per {unit} for {domain.domain}",
        f"The share of messages passing DMARC per {unit}; {percent(domain.pass_rate)} over the period.",
        columns,
        colour=GREEN,
        width=NARROW,
    )
    days_with_mail = sum(1 for d in domain.days if d.messages)
    table = _table(
        None,
        "Key numbers",
        ["", ""],
        [
            [("", "Messages"), ("num", esc(count(domain.messages)))],
            [("", "Pass DMARC"), ("num", f"{esc(count(domain.passed))} ({esc(percent(domain.pass_rate))})")],
            [("", "Fail DMARC"), ("num", esc(count(domain.failing)))],
            [("", "Quarantined by receivers"), ("num", esc(count(domain.quarantined)))],
            [("", "Rejected by receivers"), ("num", esc(count(domain.rejected)))],
            [("", "Days with reports"), ("num", esc(count(days_with_mail)))],
        ],
        css="keys",
        header=False,
    )
    daily_rows = [
        [
            ("", esc(day(entry.day))),
            ("num", esc(count(entry.messages))),
            ("num", esc(count(entry.passed))),
            ("num", esc(percent(entry.passed / entry.messages if entry.messages else None))),
        ]
        for entry in domain.days
    ]
    details = (
        f"<details><summary>Numbers per day ({len(daily_rows)})</summary>"
        f"{_table(None, None, ['Day', 'Messages', 'Pass', 'Pass rate'], daily_rows)}</details>"
    )
    return (
        f'<div class="domain"><h3>{esc(domain.domain)}'
        f'<span class="chip" title="published policy in the period">p={esc(_policy(domain.current_policy))}'
        f"</span>{_pill(domain.readiness)}</h3>"
        f'<div class="pair"><figure><figcaption>Messages and pass rate</figcaption>{volume}{rate_chart}'
        f"</figure><div>{table}{details}</div></div></div>"
    )


def _sources(data: ReportData, ids: _Ids) -> str:
    multi = len(data.domains) > 1
    rows = [
        svg.Row(
            label=source.source_ip,
            segments=tuple(
                svg.Segment(
                    CATEGORY_COLOURS.get(category, OTHER),
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
    rest = data.overview.messages - shown
    chart = svg.bar_chart(
        ids("sources"),
        "Volume by source and DMARC result",
        f"The {len(rows)} sending IP addresses with the most mail, each bar split by DMARC result. "
        f"They carry {percent(shown / data.overview.messages if data.overview.messages else None)} "
        "of all messages.",
        rows,
        width=WIDE,
        label_width=250,
        label_limit=34,
    )
    present = {category for source in data.sources for category in source.by_category}
    legend = svg.legend(
        [(CATEGORY_COLOURS.get(c, OTHER), CATEGORIES.get(c, c)) for c in _ordered_categories(present)]
    )
    headers = [
        "Source IP",
        *(["Domain"] if multi else []),
        "Messages",
        "Pass",
        "Main result",
        "Envelope from",
    ]
    table_rows = []
    for source in data.sources:
        passed = source.by_category.get("pass", 0)
        main = max(source.by_category.items(), key=lambda item: item[1])[0] if source.by_category else ""
        table_rows.append(
            [
                ("ip", _ip(source.source_ip)),
                *([("text", esc(source.domain))] if multi else []),
                ("num", esc(count(source.messages))),
                ("num", esc(percent(passed / source.messages if source.messages else None))),
                ("", esc(CATEGORIES.get(main, main))),
                ("text", esc(shorten(source.envelope_from, 60) or DASH)),
            ]
        )
    note = (
        f'<p class="note">Other sources: {esc(count(rest))} messages.</p>'
        if rest > 0 and data.sources
        else ""
    )
    return (
        '<section class="card" id="sources"><h2>Volume by source and result</h2>'
        '<p class="lead">Who sends mail as your domains, and whether it passes. Green is aligned '
        "and passing; the other colours say why the rest fails.</p>"
        f'<div class="pair wide"><figure><figcaption>Top sources by messages</figcaption>{legend}{chart}'
        f"{note}</figure>"
        f"{_table('sources-table', 'Top sources', headers, table_rows)}</div></section>"
    )


def _failing(data: ReportData, ids: _Ids) -> str:
    multi = len(data.domains) > 1
    if not data.failing:
        return (
            '<section class="card" id="failing"><h2>Failing sources</h2>'
            '<p class="lead">No mail failed DMARC in this period.</p></section>'
        )
    rows = [
        svg.Row(
            label=source.source_ip,
            segments=(
                svg.Segment(
                    _reason_colour(source.categories),
                    source.failed,
                    f"{count(source.failed)} of {count(source.messages)} messages fail: "
                    f"{_categories(source.categories)}",
                ),
            ),
            note=f"{count(source.failed)} · {percent(source.fail_rate)} of its mail",
            hint=f"{source.source_ip} ({source.domain}): {_categories(source.categories)}",
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
    reasons = {_reason(source.categories) for source in data.failing}
    legend = svg.legend(
        [(CATEGORY_COLOURS[c], CATEGORIES[c]) for c in CATEGORIES if c in reasons]
        + ([(OTHER, "several reasons")] if "" in reasons else [])
    )
    headers = [
        "Source IP",
        *(["Domain"] if multi else []),
        "Failing",
        "Fail rate",
        "Why",
        "Envelope from",
        "Reported by",
    ]
    table_rows = [
        [
            ("ip", _ip(source.source_ip)),
            *([("text", esc(source.domain))] if multi else []),
            ("num", esc(count(source.failed))),
            ("num", esc(percent(source.fail_rate))),
            ("text", esc(_categories(source.categories))),
            ("text", esc(shorten(source.envelope_from, 60) or DASH)),
            ("text", esc(shorten(source.reporters, 60) or DASH)),
        ]
        for source in data.failing
    ]
    return (
        '<section class="card" id="failing"><h2>Failing sources</h2>'
        '<p class="lead">Where failing mail comes from. A source that fails with "no authentication" and '
        "an envelope sender you do not know is likely spoofing; a known service that fails "
        '"not aligned" needs DKIM set up with your domain.</p>'
        f'<div class="pair wide"><figure><figcaption>Failing messages per source</figcaption>{legend}{chart}'
        "</figure>"
        f"{_table('failing-table', 'Failing sources', headers, table_rows)}</div></section>"
    )


def _reporters(data: ReportData, ids: _Ids) -> str:
    multi = len(data.domains) > 1
    shown = data.reporters[:15]
    rows = []
    for reporter in shown:
        name = _reporter_name(reporter.reporter, reporter.emails)
        label = f"{name} · {reporter.domain}" if multi else name
        passed = reporter.messages * (reporter.pass_rate or 0.0)
        rows.append(
            svg.Row(
                label=label,
                segments=(
                    svg.Segment(GREEN, passed, f"{percent(reporter.pass_rate)} pass"),
                    svg.Segment(VERMILLION, reporter.messages - passed, "fail"),
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
    headers = ["Reporter · domain" if multi else "Reporter", "Reports", "Messages", "Pass rate"]
    table_rows = [
        [
            (
                "text",
                esc(_reporter_name(reporter.reporter, reporter.emails))
                + (f' <span class="sub">{esc(reporter.domain)}</span>' if multi else ""),
            ),
            ("num", esc(count(reporter.reports))),
            ("num", esc(count(reporter.messages))),
            ("num", esc(percent(reporter.pass_rate))),
        ]
        for reporter in data.reporters
    ]
    more = (
        f'<p class="note">The chart shows {len(shown)} of {len(data.reporters)}; the table lists all.</p>'
        if len(data.reporters) > len(shown)
        else ""
    )
    return (
        '<section class="card" id="reporters"><h2>Reporters</h2>'
        '<p class="lead">The receivers that send you aggregate reports, and the mail each one saw. '
        "A large receiver that stops reporting leaves a gap in the charts above.</p>"
        f'<div class="pair"><figure><figcaption>Messages per reporter</figcaption>'
        f"{svg.legend([(GREEN, 'passes DMARC'), (VERMILLION, 'fails DMARC')])}{chart}{more}</figure>"
        f"{_table('reporters-table', 'Reporters', headers, table_rows)}</div></section>"
    )


def _footer(data: ReportData) -> str:
    generated = data.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<footer class="wrap"><dl>'
        "<dt>Pass DMARC</dt><dd>DKIM or SPF passed and aligned with the domain in the From header.</dd>"
        "<dt>Not aligned</dt><dd>DKIM or SPF passed, but for another domain than yours.</dd>"
        "<dt>No authentication</dt><dd>Neither DKIM nor SPF passed for any domain.</dd>"
        "<dt>Verdict</dt><dd>ready: at most 0.1 % of the mail fails while authenticating elsewhere; "
        "almost: at most 2 %; else not ready.</dd>"
        "</dl>"
        f"<p>Generated {esc(generated)} from {esc(data.where)} by <code>dmarc report</code>. "
        "Same numbers: <code>dmarc query enforcement_readiness</code>, <code>top_failing_sources</code>, "
        "<code>reporters</code>, <code>daily_volume_pass_rate</code>.</p></footer>"
    )


# --- pieces ------------------------------------------------------------------------------------------------


def _table(
    table_id: str | None,
    caption: str | None,
    headers: Sequence[str],
    rows: Iterable[Sequence[tuple[str, str]]],
    *,
    css: str = "",
    header: bool = True,
) -> str:
    """A table from cells already escaped: (class, html) pairs. Numeric columns align right."""
    rows = list(rows)
    numeric = [bool(rows) and all(row[i][0] == "num" for row in rows) for i in range(len(headers))]
    head = (
        "<thead><tr>"
        + "".join(
            f'<th scope="col"{" class=num" if numeric[i] else ""}>{esc(text)}</th>'
            for i, text in enumerate(headers)
        )
        + "</tr></thead>"
        if header
        else ""
    )
    body = "".join(
        "<tr>" + "".join(f'<td class="{kind}">{html}</td>' for kind, html in row) + "</tr>" for row in rows
    )
    attributes = (f' id="{table_id}"' if table_id else "") + (f' class="{css}"' if css else "")
    caption_html = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table{attributes}>{caption_html}{head}<tbody>{body}</tbody></table>"


def _policy(policies: str) -> str:
    """'none, quarantine' (every p= published in the period) as 'none / quarantine'."""
    return " / ".join(part.strip() for part in policies.split(",") if part.strip()) or DASH


def _reason(categories: str) -> str:
    """The failure category of a source when it has exactly one (known) category, else ''."""
    parts = [part.strip() for part in categories.split(",") if part.strip()]
    return parts[0] if len(parts) == 1 and parts[0] in CATEGORY_COLOURS else ""


def _reason_colour(categories: str) -> str:
    return CATEGORY_COLOURS.get(_reason(categories), OTHER)


def _action(fix_first: bool) -> str:
    colour, words, why = (
        (ORANGE, "fix first", "authenticates for another domain: align it before you enforce")
        if fix_first
        else (VERMILLION, "blocked", "no authentication at all: p=reject blocks it")
    )
    swatch = f'<span class="swatch" style="background:{colour}"></span>'
    return f'<span title="{esc(why)}">{swatch}{esc(words)}</span>'


def _ip(address: str) -> str:
    """An IP address for a table cell: long IPv6 addresses may break after a colon."""
    return esc(address).replace(":", ":<wbr>")


def _pill(readiness: str) -> str:
    css, words = READINESS.get(readiness, ("", readiness))
    return f'<span class="pill {css}" title="{esc(words)}">{esc(readiness or DASH)}</span>'


def _categories(text: str) -> str:
    return ", ".join(CATEGORIES.get(part.strip(), part.strip()) for part in text.split(",") if part.strip())


def _ordered_categories(present: Iterable[str]) -> list[str]:
    present = set(present)
    known = [category for category in CATEGORIES if category in present]
    return known + sorted(present - set(CATEGORIES))


def _reporter_name(name: str | None, emails: str) -> str:
    if name and name.strip():
        return name
    return f"(no name) {emails}".strip()


def _buckets(first: date, last: date) -> tuple[str, list[date], Callable[[date], date]]:
    """The time unit for the span (at most about 120 columns) and the start of every bucket."""
    span = (last - first).days + 1
    key: Callable[[date], date]
    if span <= 120:
        unit, key = "day", lambda d: d
    elif span <= 7 * 120:
        unit, key = "week", lambda d: d - timedelta(days=d.weekday())
    elif span <= 366 * 10:
        unit, key = "month", lambda d: d.replace(day=1)
    else:
        unit, key = "year", lambda d: d.replace(month=1, day=1)
    starts: list[date] = []
    current = key(first)
    while current <= last:
        starts.append(current)
        current = key(_after(unit, current))
    return unit, starts, key


def _after(unit: str, start: date) -> date:
    if unit == "day":
        return start + timedelta(days=1)
    if unit == "week":
        return start + timedelta(days=7)
    if unit == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start.replace(year=start.year + 1)


def _bucket_label(unit: str, start: date) -> str:
    if unit in ("day", "week"):
        return day_short(start)
    if unit == "month":
        return month(start)
    return str(start.year)


def _bucket_name(unit: str, start: date) -> str:
    if unit == "day":
        return day(start)
    if unit == "week":
        return f"week of {day(start)}"
    if unit == "month":
        return month(start)
    return str(start.year)
