"""What the HTML report shows, read through a query runner (DuckDB locally, Athena with --aws).

The numbers come from the project's saved queries (``athena_queries/saved``): daily_volume_pass_rate,
enforcement_readiness, top_failing_sources and reporters, with their ``days`` and ``domain`` parameters.
Three small statements below fill the gaps; they read the views (``record_details``,
``report_details``) in Athena's dialect, so they run unchanged on both runners.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from dmarc_store.query import QueryRunner, run_saved_query

__all__ = [
    "CATEGORIES",
    "DayCount",
    "DomainReport",
    "FailingSource",
    "FixSource",
    "Overview",
    "ReportData",
    "ReportOptions",
    "ReporterVolume",
    "SourceVolume",
    "StoredDomain",
    "load_report_data",
]

TOP_SOURCES = 15
TOP_FAILING = 15
TOP_REPORTERS = 15

CATEGORIES: dict[str, str] = {
    "pass": "DMARC pass",
    "forwarded": "forwarded",
    "mailing_list": "mailing list",
    "not_aligned": "DKIM and SPF pass, not aligned",
    "dkim_not_aligned": "DKIM pass, not aligned",
    "spf_not_aligned": "SPF pass, not aligned",
    "no_auth": "no authentication",
}
"""record_details.failure_category -> words for the page, in the order of the legend."""

_WINDOW = """
WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
  AND lower(policy_domain) LIKE lower(CAST(? AS varchar))"""

INVENTORY_SQL = """
SELECT policy_domain, count(*) AS reports, min(dt) AS first_dt, max(dt) AS last_dt
FROM report_details
GROUP BY policy_domain
ORDER BY reports DESC, policy_domain
"""
"""Every policy domain in the store, whatever the window: for the empty page and for --days all."""

OVERVIEW_SQL = (
    """
SELECT
  count(DISTINCT report_key) AS reports,
  count(DISTINCT source_ip) AS sources,
  count(DISTINCT org_name) AS reporters,
  coalesce(sum(message_count), 0) AS messages,
  coalesce(sum(CASE WHEN dmarc_pass THEN message_count ELSE 0 END), 0) AS passed
FROM record_details"""
    + _WINDOW
)
"""The headline numbers of the window."""

SOURCE_RESULTS_SQL = f"""
WITH recent AS (
  SELECT policy_domain, source_ip, failure_category, message_count, envelope_from
  FROM record_details{_WINDOW.replace(chr(10), chr(10) + "  ")}
),
top_sources AS (
  SELECT
    policy_domain,
    source_ip,
    sum(message_count) AS source_messages,
    array_join(array_sort(array_agg(DISTINCT lower(envelope_from))), ', ') AS envelope_from_domains
  FROM recent
  GROUP BY policy_domain, source_ip
  ORDER BY source_messages DESC, policy_domain, source_ip
  LIMIT {TOP_SOURCES}
)
SELECT
  t.policy_domain,
  t.source_ip,
  t.source_messages,
  t.envelope_from_domains,
  r.failure_category,
  sum(r.message_count) AS messages
FROM top_sources AS t
JOIN recent AS r ON r.policy_domain = t.policy_domain AND r.source_ip = t.source_ip
GROUP BY t.policy_domain, t.source_ip, t.source_messages, t.envelope_from_domains, r.failure_category
ORDER BY t.source_messages DESC, t.policy_domain, t.source_ip, r.failure_category
"""  # noqa: S608 - constants only; values go in as parameters
"""The biggest sources, their volume split by DMARC result (failure_category)."""


@dataclass(frozen=True)
class ReportOptions:
    days: int | None = 30
    """How many days back from today (UTC), as in the saved queries; None: everything in the store."""
    domain: str | None = None
    """Policy domain, a LIKE pattern (``%.example.com``); None: every domain."""

    def __post_init__(self) -> None:
        if self.days is not None and self.days < 1:
            raise ValueError(f"days must be 1 or more, got {self.days}")


@dataclass(frozen=True)
class StoredDomain:
    domain: str
    reports: int
    first_day: date
    last_day: date


@dataclass(frozen=True)
class DayCount:
    day: date
    messages: int
    passed: int
    quarantined: int
    rejected: int


@dataclass(frozen=True)
class FixSource:
    """A failing source of a domain, in the order enforcement_readiness says to look at them."""

    source_ip: str
    failing_messages: int
    share_of_failures: float | None
    failure_categories: str
    action: str

    @property
    def fix_first(self) -> bool:
        """It authenticates (for some other domain): probably yours or a service of yours."""
        return self.action.startswith("fix first")


@dataclass(frozen=True)
class DomainReport:
    domain: str
    current_policy: str
    messages: int
    failing: int
    would_fail_share: float
    legitimate_fail_share: float
    readiness: str
    fix_sources: tuple[FixSource, ...]
    days: tuple[DayCount, ...] = ()

    @property
    def passed(self) -> int:
        return self.messages - self.failing

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.messages if self.messages else None

    @property
    def unauthenticated_fail_share(self) -> float:
        return max(self.would_fail_share - self.legitimate_fail_share, 0.0)

    @property
    def quarantined(self) -> int:
        return sum(d.quarantined for d in self.days)

    @property
    def rejected(self) -> int:
        return sum(d.rejected for d in self.days)


@dataclass(frozen=True)
class SourceVolume:
    domain: str
    source_ip: str
    messages: int
    envelope_from: str
    by_category: Mapping[str, int]


@dataclass(frozen=True)
class FailingSource:
    domain: str
    source_ip: str
    failed: int
    messages: int
    fail_rate: float | None
    categories: str
    envelope_from: str
    reporters: str


@dataclass(frozen=True)
class ReporterVolume:
    reporter: str | None
    domain: str
    reports: int
    messages: int
    pass_rate: float | None
    emails: str


@dataclass(frozen=True)
class Overview:
    reports: int = 0
    sources: int = 0
    reporters: int = 0
    messages: int = 0
    passed: int = 0

    @property
    def failing(self) -> int:
        return self.messages - self.passed

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.messages if self.messages else None


@dataclass(frozen=True)
class ReportData:
    options: ReportOptions
    where: str
    """The store the numbers come from, in words (a folder, or Athena's database)."""
    generated_at: datetime
    first_day: date
    """The first day of the window (for --days all: the first day with a report)."""
    last_day: date
    stored: tuple[StoredDomain, ...]
    overview: Overview = field(default_factory=Overview)
    domains: tuple[DomainReport, ...] = ()
    sources: tuple[SourceVolume, ...] = ()
    failing: tuple[FailingSource, ...] = ()
    reporters: tuple[ReporterVolume, ...] = ()

    @property
    def empty(self) -> bool:
        return self.overview.messages == 0 and not self.domains

    @property
    def stored_reports(self) -> int:
        return sum(domain.reports for domain in self.stored)


def load_report_data(
    runner: QueryRunner, options: ReportOptions, *, where: str, now: datetime | None = None
) -> ReportData:
    """Run the report's queries and gather their results."""
    now = now or datetime.now(UTC)
    today = now.date()
    stored = tuple(_stored(row) for row in _rows(runner.run_sql(INVENTORY_SQL)))
    days = options.days
    if days is None:
        first = min((s.first_day for s in stored), default=today)
        days = max((today - first).days, 0) + 1
    values: dict[str, int | str] = {"days": days, "domain": options.domain or "%"}
    parameters = (days, options.domain or "%")
    daily = _rows(run_saved_query(runner, "daily_volume_pass_rate", values))
    data = ReportData(
        options=options,
        where=where,
        generated_at=now,
        first_day=today - timedelta(days=days),
        last_day=today,
        stored=stored,
    )
    if not daily:
        return data
    by_domain: dict[str, list[DayCount]] = {}
    for row in daily:
        by_domain.setdefault(row["policy_domain"], []).append(_day(row))
    days_seen = [d.day for counts in by_domain.values() for d in counts]
    first_day = min(days_seen) if options.days is None else data.first_day
    readiness = _readiness(_rows(run_saved_query(runner, "enforcement_readiness", values)), by_domain)
    overview_rows = _rows(runner.run_sql(OVERVIEW_SQL, parameters))
    reporters = [_reporter(row) for row in _rows(run_saved_query(runner, "reporters", values))]
    return ReportData(
        options=options,
        where=where,
        generated_at=now,
        first_day=first_day,
        last_day=max(today, *days_seen),
        stored=stored,
        overview=_overview(overview_rows[0], reporters) if overview_rows else Overview(),
        domains=readiness,
        sources=_sources(_rows(runner.run_sql(SOURCE_RESULTS_SQL, parameters))),
        failing=tuple(_failing(row) for row in _rows(run_saved_query(runner, "top_failing_sources", values)))[
            :TOP_FAILING
        ],
        reporters=tuple(sorted(reporters, key=lambda r: (-r.messages, r.reporter or "", r.domain))),
    )


def _rows(table: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float | Decimal) else None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _stored(row: dict[str, Any]) -> StoredDomain:
    return StoredDomain(
        domain=_text(row["policy_domain"]),
        reports=_int(row["reports"]),
        first_day=_date(row["first_dt"]),
        last_day=_date(row["last_dt"]),
    )


def _day(row: dict[str, Any]) -> DayCount:
    return DayCount(
        day=_date(row["day"]),
        messages=_int(row["messages"]),
        passed=_int(row["dmarc_pass_messages"]),
        quarantined=_int(row["disposition_quarantine"]),
        rejected=_int(row["disposition_reject"]),
    )


def _readiness(rows: list[dict[str, Any]], days: dict[str, list[DayCount]]) -> tuple[DomainReport, ...]:
    """One DomainReport per domain, from enforcement_readiness (one row per domain and failing source)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(_text(row["policy_domain"]), []).append(row)
    domains = []
    for domain, domain_rows in grouped.items():
        first = domain_rows[0]
        domains.append(
            DomainReport(
                domain=domain,
                current_policy=_text(first["current_policy"]),
                messages=_int(first["domain_messages"]),
                failing=_int(first["domain_failing_messages"]),
                would_fail_share=_float(first["would_fail_share"]) or 0.0,
                legitimate_fail_share=_float(first["legitimate_fail_share"]) or 0.0,
                readiness=_text(first["readiness"]),
                fix_sources=tuple(
                    FixSource(
                        source_ip=_text(row["source_ip"]),
                        failing_messages=_int(row["failing_messages"]),
                        share_of_failures=_float(row["share_of_failures"]),
                        failure_categories=_text(row["failure_categories"]),
                        action=_text(row["action"]),
                    )
                    for row in domain_rows
                    if row["source_ip"] is not None
                ),
                days=tuple(sorted(days.get(domain, ()), key=lambda d: d.day)),
            )
        )
    return tuple(sorted(domains, key=lambda d: (-d.messages, d.domain)))


def _overview(row: dict[str, Any], reporters: list[ReporterVolume]) -> Overview:
    return Overview(
        reports=sum(r.reports for r in reporters) or _int(row["reports"]),
        sources=_int(row["sources"]),
        reporters=_int(row["reporters"]),
        messages=_int(row["messages"]),
        passed=_int(row["passed"]),
    )


def _sources(rows: list[dict[str, Any]]) -> tuple[SourceVolume, ...]:
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault((_text(row["policy_domain"]), _text(row["source_ip"])), []).append(row)
    return tuple(
        SourceVolume(
            domain=domain,
            source_ip=source_ip,
            messages=_int(source_rows[0]["source_messages"]),
            envelope_from=_text(source_rows[0]["envelope_from_domains"]),
            by_category={_text(row["failure_category"]): _int(row["messages"]) for row in source_rows},
        )
        for (domain, source_ip), source_rows in grouped.items()
    )


def _failing(row: dict[str, Any]) -> FailingSource:
    return FailingSource(
        domain=_text(row["policy_domain"]),
        source_ip=_text(row["source_ip"]),
        failed=_int(row["failed_messages"]),
        messages=_int(row["messages"]),
        fail_rate=_float(row["fail_rate"]),
        categories=_text(row["failure_categories"]),
        envelope_from=_text(row["envelope_from_domains"]),
        reporters=_text(row["reporters"]),
    )


def _reporter(row: dict[str, Any]) -> ReporterVolume:
    return ReporterVolume(
        reporter=row["reporter"],
        domain=_text(row["policy_domain"]),
        reports=_int(row["reports"]),
        messages=_int(row["messages"]),
        pass_rate=_float(row["pass_rate"]),
        emails=_text(row["report_emails"]),
    )
