"""Rules over who reports and what the reports say: 4 (a reporter silent, no reports: the heartbeat) and 6
(the published policy changed)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from itertools import pairwise

from dmarc_model.alerts.conditions import Condition, JsonValue, Severity, Window, utc
from dmarc_model.alerts.facts import AlertFacts, PublishedPolicy, ReporterDay
from dmarc_model.alerts.thresholds import AlertThresholds

__all__ = ["no_reports", "policy_changed", "reporter_silent"]

_STRENGTH = {"none": 0, "quarantine": 1, "reject": 2}


def _json_list(names: Iterable[str]) -> list[JsonValue]:
    found: list[JsonValue] = []
    found.extend(names)
    return found


def _by_domain(rows: Iterable[ReporterDay]) -> dict[str, list[ReporterDay]]:
    grouped: dict[str, list[ReporterDay]] = defaultdict(list)
    for row in rows:
        grouped[row.domain].append(row)
    return dict(sorted(grouped.items()))


def reporter_silent(facts: AlertFacts, thresholds: AlertThresholds, now: datetime) -> list[Condition]:
    """Rule 4: a reporter that reported on ``reporter_usual_share`` of the ``baseline_days`` before its
    last report has sent none for ``reporter_silent_days``. A domain nobody reports for is left to the
    heartbeat (``no_reports``)."""
    window = Window.of(now, thresholds)
    quiet_since = window.days_back(thresholds.reporter_silent_days)
    found: list[Condition] = []
    for domain, rows in _by_domain(facts.reporters).items():
        if not any(row.day >= quiet_since for row in rows):
            continue  # nobody reports: no-reports says so once
        days: dict[str, set[date]] = defaultdict(set)
        for row in rows:
            days[row.reporter].add(row.day)
        for reporter, seen in sorted(days.items()):
            last_seen = max(seen)
            usual_from = last_seen - timedelta(days=thresholds.baseline_days - 1)
            active = len([day for day in seen if day >= usual_from])
            needed = max(
                thresholds.min_baseline_days, thresholds.reporter_usual_share * thresholds.baseline_days
            )
            if last_seen >= quiet_since or active < needed:
                continue
            found.append(_silent(domain, reporter, last_seen, active, window, thresholds))
    return found


def _silent(
    domain: str, reporter: str, last_seen: date, active: int, window: Window, thresholds: AlertThresholds
) -> Condition:
    silent_days = (window.today - last_seen).days - 1
    return Condition(
        rule="reporter-silent",
        domain=domain,
        subject=reporter,
        severity="warning",
        summary=(
            f"{reporter} has sent no report for {domain} after its report of {last_seen} ({silent_days}"
            f" days), having reported on {active} of the {thresholds.baseline_days} days before."
        ),
        next_step=(
            "Other reporters still report, so the rua= address works: the receiver may have paused reporting"
            f" or dropped {domain}; if it stays silent, check whether its mail to you bounces (size, TLS)."
        ),
        evidence={
            "reporter": reporter,
            "last_seen": last_seen.isoformat(),
            "silent_days": silent_days,
            "active_days": active,
            "of_days": thresholds.baseline_days,
        },
    )


def no_reports(facts: AlertFacts, thresholds: AlertThresholds, now: datetime) -> list[Condition]:
    """Rule 4 (heartbeat): no report of a domain has ended within ``heartbeat_hours`` of the clock."""
    clock = utc(now)
    newest: dict[str, datetime] = {}
    reporters: dict[str, set[str]] = defaultdict(set)
    for row in facts.reporters:
        end = min(row.last_period_end, clock)
        newest[row.domain] = max(newest.get(row.domain, end), end)
        reporters[row.domain].add(row.reporter)
    found: list[Condition] = []
    for domain in sorted(set(newest) | set(facts.domains)):
        last = newest.get(domain)
        hours = None if last is None else int((clock - last).total_seconds() // 3600)
        if hours is not None and hours < thresholds.heartbeat_hours:
            continue
        since = "in the facts read" if last is None else f"since {last:%Y-%m-%d %H:%M} UTC ({hours} hours)"
        found.append(
            Condition(
                rule="no-reports",
                domain=domain,
                subject="all reporters",
                severity="critical",
                summary=f"No DMARC report for {domain} has arrived {since}.",
                next_step=(
                    f"Check the rua= address of {domain}'s DMARC record (dig TXT _dmarc.{domain}), the mail"
                    " route to the pipeline (MX, SES receipt rule) and the ingest dead-letter queue."
                ),
                evidence={
                    "last_period_end": None if last is None else f"{last:%Y-%m-%dT%H:%M:%SZ}",
                    "hours_since": hours,
                    "heartbeat_hours": thresholds.heartbeat_hours,
                    "reporters_before": _json_list(sorted(reporters[domain])),
                },
            )
        )
    return found


def _daily_policy(rows: Iterable[ReporterDay]) -> list[tuple[date, PublishedPolicy, list[str]]]:
    """Per day, the normalised policy most reports saw (ties: the first in text order), and who saw it."""
    counts: dict[date, Counter[PublishedPolicy]] = defaultdict(Counter)
    seen_by: dict[tuple[date, PublishedPolicy], set[str]] = defaultdict(set)
    for row in rows:
        policy = row.policy.normalized()
        counts[row.day][policy] += row.reports
        seen_by[(row.day, policy)].add(row.reporter)
    days = []
    for day in sorted(counts):
        policy = min(counts[day], key=lambda found: (-counts[day][found], found.record()))
        days.append((day, policy, sorted(seen_by[(day, policy)])))
    return days


def _weakened(before: PublishedPolicy, after: PublishedPolicy) -> bool:
    def strength(policy: PublishedPolicy) -> list[int]:
        return [_STRENGTH.get(tag or "none", 0) for tag in (policy.p, policy.sp, policy.np)]

    lowered = any(a < b for a, b in zip(strength(after), strength(before), strict=True))
    return lowered or (after.t == "y" and before.t != "y") or (after.pct or 0) < (before.pct or 0)


def policy_changed(facts: AlertFacts, thresholds: AlertThresholds, now: datetime) -> list[Condition]:
    """Rule 6: the policy the reports say is published (p, sp, np, t, adkim, aspf, pct) differs from the day
    before, within the last ``policy_change_days``; a weakened policy is critical."""
    window = Window.of(now, thresholds)
    found: list[Condition] = []
    for domain, rows in _by_domain(facts.reporters).items():
        daily = _daily_policy(rows)
        changes = [(old, new) for old, new in pairwise(daily) if old[1] != new[1]]
        if not changes or changes[-1][1][0] < window.days_back(thresholds.policy_change_days):
            continue
        (_, before, _), (changed_on, after, reporters) = changes[-1]
        found.append(_policy_condition(domain, before, after, changed_on, reporters))
    return found


def _policy_condition(
    domain: str, before: PublishedPolicy, after: PublishedPolicy, changed_on: date, reporters: list[str]
) -> Condition:
    old, new = before.as_dict(), after.as_dict()
    fields = [tag for tag in old if old[tag] != new[tag]]
    weakened = _weakened(before, after)
    severity: Severity = "critical" if weakened else "info"
    evidence: dict[str, JsonValue] = {
        "changed_on": changed_on.isoformat(),
        "fields": list(fields),
        "before": dict(old),
        "after": dict(new),
        "weakened": weakened,
        "reporters": list(reporters),
    }
    if weakened:
        step = f"If you did not mean to weaken it, restore the _dmarc.{domain} TXT record: {before.record()}."
    else:
        step = "Watch the legitimate-blocked and pass-rate alerts over the next days: receivers now apply it."
    return Condition(
        rule="policy-changed",
        domain=domain,
        subject="published policy",
        severity=severity,
        summary=(
            f"The DMARC policy of {domain} in the reports changed on {changed_on}"
            f" ({', '.join(fields)}): from {before.record()} to {after.record()}."
        ),
        next_step=step,
        evidence=evidence,
    )
