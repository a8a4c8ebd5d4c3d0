"""The weekly digest: what the week's reports say per domain, the open incidents and the week's changes,
and the policy plan; sent even on a quiet week, since its absence is the alarm.

    digest = build_digest(runner, state, now)
    html, text, subject = render_digest_html(digest), render_digest_text(digest), digest_subject(digest)

``runner`` is a ``dmarc_store.query`` runner (DuckDB over a local store, Athena on AWS), ``state`` an
``IncidentState`` (``dmarc_store.alerts.state``: the local store's alerts/ folder or DynamoDB). The
period is the 7 whole UTC days before ``now``'s day (its reports have not all arrived), compared with
the 7 days before it; the SMTP TLS part (``Digest.tls``) is there when TLS reports fall in either week.
The renderers are pure: a digest in, text out (``dmarc_report.digest_render``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from dmarc_model.alerts import Incident
from dmarc_model.plan import Plan, PlanThresholds
from dmarc_report.cells import as_int as _int
from dmarc_report.cells import rows_of as _rows
from dmarc_report.digest_model import (
    NOTIFIED_CHANGES,
    PIPELINE,
    ChangeLine,
    Digest,
    DomainDigest,
    SenderLine,
    TlsFailureCount,
    TlsLine,
    TlsWeek,
    Week,
)
from dmarc_report.digest_render import digest_subject, render_digest_html, render_digest_text
from dmarc_report.digest_sql import (
    REPORTS_SQL,
    SENDERS_SQL,
    TLS_FAILURES_SQL,
    TLS_WEEKS_SQL,
    TOP_SENDERS,
    TOP_TLS_FAILURES,
    WEEKS_SQL,
)

if TYPE_CHECKING:
    from dmarc_store.alerts.state import IncidentState
    from dmarc_store.query import QueryRunner

__all__ = [
    "Digest",
    "DomainDigest",
    "build_digest",
    "digest_subject",
    "render_digest_html",
    "render_digest_text",
]

PLAN_DAYS = 30
"""The plan's window (the saved query policy_plan's default)."""


def build_digest(
    runner: QueryRunner,
    state: IncidentState,
    now: datetime,
    *,
    domains: Sequence[str] | None = None,
    plan_thresholds: PlanThresholds | None = None,
    days: int = 7,
    plan_days: int = PLAN_DAYS,
) -> Digest:
    """The digest of the `days` whole UTC days before `now`'s day.

    `domains`: only these (each gets a section, a loud one when nothing reported on it); None: every
    domain with reports in the period or the one before, or with an open incident.
    """
    if days < 1:
        raise ValueError(f"days must be 1 or more, got {days}")
    now = now.astimezone(UTC)
    end = now.date()
    first, before = end - timedelta(days=days), end - timedelta(days=2 * days)
    bounds = (first.isoformat(), before.isoformat(), end.isoformat())
    weeks = _weeks(_rows(runner.run_sql(WEEKS_SQL, bounds)), _rows(runner.run_sql(REPORTS_SQL, bounds)))
    senders = _senders(_rows(runner.run_sql(SENDERS_SQL, (first.isoformat(), end.isoformat()))))
    incidents = [incident for incident in state.load().incidents if incident.active]
    since = datetime.combine(first, datetime.min.time(), UTC)
    changes = [ChangeLine.from_logged(row) for row in state.changes_since(since)]
    changes = [change for change in changes if change.kind in NOTIFIED_CHANGES and change.at <= now]
    wanted = _domains(domains, weeks, incidents)
    lookback = plan_days + max((datetime.now(UTC).date() - end).days, 0)
    sections = tuple(
        DomainDigest(
            domain=domain,
            this_week=weeks.get((domain, "this"), (Week(), ()))[0],
            week_before=weeks.get((domain, "before"), (Week(), ()))[0],
            reporter_names=weeks.get((domain, "this"), (Week(), ()))[1],
            senders=tuple(senders.get(domain, ())[:TOP_SENDERS]),
            incidents=_of(domain, incidents),
            changes=tuple(change for change in changes if change.incident.domain == domain),
            plan=_plan(runner, domain, lookback, incidents, plan_thresholds),
        )
        for domain in wanted
    )
    return Digest(
        first_day=first,
        last_day=end - timedelta(days=1),
        generated_at=now,
        domains=sections,
        pipeline_incidents=_of(PIPELINE, incidents),
        pipeline_changes=tuple(change for change in changes if change.incident.domain == PIPELINE),
        plan_days=plan_days,
        tls=_tls(runner, bounds, None if domains is None else [_normal(d) for d in domains if d.strip()]),
    )


def _weeks(
    volume: Iterable[dict[str, Any]], reports: Iterable[dict[str, Any]]
) -> dict[tuple[str, str], tuple[Week, tuple[str, ...]]]:
    """(domain, 'this' | 'before') -> the week's numbers and its reporters' names."""
    found: dict[tuple[str, str], tuple[Week, tuple[str, ...]]] = {}
    for row in volume:
        week = Week(messages=_int(row["messages"]), passed=_int(row["passed"]))
        found[(str(row["policy_domain"]), str(row["week"]))] = (week, ())
    for row in reports:
        key = (str(row["policy_domain"]), str(row["week"]))
        week = found.get(key, (Week(), ()))[0]
        names = tuple(name for name in str(row["reporter_names"] or "").split(", ") if name)
        counted = Week(week.messages, week.passed, _int(row["reports"]), _int(row["reporters"]))
        found[key] = (counted, names)
    return found


def _senders(rows: Iterable[dict[str, Any]]) -> dict[str, list[SenderLine]]:
    found: dict[str, list[SenderLine]] = {}
    for row in rows:
        line = SenderLine(
            sender=str(row["sender"]),
            name=str(row["sender_name"]),
            category=str(row["category"]),
            messages=_int(row["messages"]),
            passed=_int(row["passed"]),
        )
        found.setdefault(str(row["policy_domain"]), []).append(line)
    return found


def _tls(runner: QueryRunner, bounds: tuple[str, str, str], asked: list[str] | None) -> tuple[TlsLine, ...]:
    """Per policy domain (those asked, or all), the TLS sessions of both weeks; busiest this week first."""
    weeks: dict[tuple[str, str], TlsWeek] = {}
    for row in _rows(runner.run_sql(TLS_WEEKS_SQL, bounds)):
        week = TlsWeek(_int(row["successful_sessions"]), _int(row["failed_sessions"]), _int(row["reports"]))
        weeks[(str(row["policy_domain"]), str(row["week"]))] = week
    failures: dict[str, list[TlsFailureCount]] = {}
    for row in _rows(runner.run_sql(TLS_FAILURES_SQL, (bounds[0], bounds[2]))):
        failure = TlsFailureCount(str(row["result_type"] or ""), _int(row["failed_sessions"]))
        failures.setdefault(str(row["policy_domain"]), []).append(failure)
    seen = {domain for domain, _ in weeks if asked is None or domain in asked}
    lines = [
        TlsLine(
            domain=domain,
            this_week=weeks.get((domain, "this"), TlsWeek()),
            week_before=weeks.get((domain, "before"), TlsWeek()),
            failure_types=tuple(failures.get(domain, ())[:TOP_TLS_FAILURES]),
        )
        for domain in seen
    ]
    return tuple(sorted(lines, key=lambda line: (-line.this_week.sessions, line.domain)))


def _normal(domain: str) -> str:
    return domain.strip().lower().rstrip(".")


def _domains(
    asked: Sequence[str] | None,
    weeks: dict[tuple[str, str], tuple[Week, tuple[str, ...]]],
    incidents: Iterable[Incident],
) -> list[str]:
    """The digest's domains: those asked for, else the reported and the alerted; busiest first."""
    if asked is not None:
        chosen = list(dict.fromkeys(_normal(domain) for domain in asked if domain.strip()))
    else:
        seen = {domain for domain, _ in weeks} | {i.domain for i in incidents if i.domain != PIPELINE}
        chosen = sorted(_normal(domain) for domain in seen)

    def volume(domain: str) -> int:
        return weeks.get((domain, "this"), (Week(), ()))[0].messages

    return sorted(chosen, key=lambda domain: (-volume(domain), domain))


def _of(domain: str, incidents: Iterable[Incident]) -> tuple[Incident, ...]:
    mine = [incident for incident in incidents if _normal(incident.domain) == domain]
    return tuple(sorted(mine, key=lambda incident: (incident.opened, incident.key)))


def _plan(
    runner: QueryRunner,
    domain: str,
    days: int,
    incidents: Iterable[Incident],
    thresholds: PlanThresholds | None,
) -> Plan:
    from dmarc_store.plan import load_plan

    rules = {incident.rule for incident in incidents if _normal(incident.domain) == domain}
    return load_plan(runner, domain, days=days, open_incident_rules=sorted(rules), thresholds=thresholds)
