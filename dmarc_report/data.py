"""What the HTML report shows, read through a query runner (DuckDB locally, Athena with --aws).

The numbers come from the project's saved queries (``athena_queries/saved``): daily_volume_pass_rate,
enforcement_readiness, top_failing_sources and reporters, with their ``days`` and ``domain`` parameters,
and each domain's policy plan (``dmarc_store.plan.load_plan``: policy_plan and test_mode_evidence);
the report's own statements (``dmarc_report.sql``) fill the gaps. Rows become the dataclasses of
``dmarc_report.model``. The SMTP TLS section has its own loader (``dmarc_report.tls_data``): it is
there whenever the store holds TLS reports in the window, also on a page without DMARC reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dmarc_model.alerts import Incident
from dmarc_model.plan import Plan, PlanThresholds
from dmarc_report.cells import as_date as _date
from dmarc_report.cells import as_float as _float
from dmarc_report.cells import as_int as _int
from dmarc_report.cells import as_text as _text
from dmarc_report.cells import rows_of as _rows
from dmarc_report.model import (
    DayCount,
    DomainReport,
    FailingSource,
    FixSource,
    Overview,
    ReportData,
    ReporterVolume,
    ReportOptions,
    SenderVolume,
    SourceVolume,
    StoredDomain,
)
from dmarc_report.sql import INVENTORY_SQL, OVERVIEW_SQL, SOURCE_RESULTS_SQL, TOP_FAILING
from dmarc_report.tls_data import load_tls, tls_first_day
from dmarc_store.query import QueryRunner, run_saved_query

__all__ = ["load_report_data"]


def load_report_data(
    runner: QueryRunner,
    options: ReportOptions,
    *,
    where: str,
    now: datetime | None = None,
    incidents: Iterable[Incident] = (),
    plan_thresholds: PlanThresholds | None = None,
) -> ReportData:
    """Run the report's queries and gather their results.

    `incidents`: the alerts' incident state (`IncidentState.load().incidents`), for the plans' stability
    gate; without them it counts none open.
    """
    now = now or datetime.now(UTC)
    today = now.date()
    stored = tuple(_stored(row) for row in _rows(runner.run_sql(INVENTORY_SQL)))
    days = _all_days(runner, stored, today) if options.days is None else options.days
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
        tls=load_tls(runner, values, first_day=today - timedelta(days=days), last_day=today),
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
        senders=tuple(_sender(row) for row in _rows(run_saved_query(runner, "senders", values))),
        plans=_plans(runner, [domain.domain for domain in readiness], days, incidents, plan_thresholds),
        tls=data.tls,
    )


def _all_days(runner: QueryRunner, stored: tuple[StoredDomain, ...], today: date) -> int:
    """The window of --days all: from the first day with a DMARC or an SMTP TLS report to today."""
    firsts = [domain.first_day for domain in stored]
    tls = tls_first_day(runner)
    first = min([*firsts, tls] if tls is not None else firsts, default=today)
    return max((today - first).days, 0) + 1


def _plans(
    runner: QueryRunner,
    domains: list[str],
    days: int,
    incidents: Iterable[Incident],
    thresholds: PlanThresholds | None,
) -> tuple[Plan, ...]:
    """The policy plan of each domain, with the rule ids of its open incidents."""
    from dmarc_store.plan import load_plan

    active = [incident for incident in incidents if incident.active]
    plans = []
    for domain in domains:
        rules = sorted({i.rule for i in active if i.domain.lower() == domain.lower()})
        plans.append(load_plan(runner, domain, days=days, open_incident_rules=rules, thresholds=thresholds))
    return tuple(plans)


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


def _sender(row: dict[str, Any]) -> SenderVolume:
    url = _text(row["setup_url"])
    return SenderVolume(
        sender=_text(row["sender"]),
        name=_text(row["sender_name"]),
        category=_text(row["category"]),
        confidence=_text(row["confidence"]),
        messages=_int(row["messages"]),
        dmarc_pass_share=_float(row["dmarc_pass_share"]),
        source_ips=_int(row["source_ips"]),
        dkim_selectors=_text(row["dkim_selectors"]),
        failing=_int(row["failing_messages"]),
        fix=_text(row["fix"]),
        setup_url=url if url.startswith(("https://", "http://")) else "",
        failure_samples=_int(row.get("recent_failure_samples") or 0),
    )
