"""Rule 8: SMTP TLS sessions to a policy domain failing (RFC 8460 reports), above a floor and a share.

A day of the current window is failing when at least ``tls_failed_sessions_floor`` sessions failed and
they are at least ``tls_failure_share`` of the day's sessions. The condition holds while a day of the
current window is failing, and counts over the whole window: the failed sessions, their share, the result
types and receiving MX hosts that failed most, with what to fix for the first. It is critical when the
failures were under a policy senders enforce (MTA-STS ``enforce``, DANE): that mail was held back.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from dmarc_model.alerts.conditions import Condition, JsonValue, Severity, Window, percent, share
from dmarc_model.alerts.facts import AlertFacts, TlsDay
from dmarc_model.alerts.thresholds import AlertThresholds

__all__ = ["FIXES", "TOP", "tls_failures"]

TOP = 3
"""Result types and MX hosts named in the evidence (most failed sessions first)."""

_MTA_STS = "https://mta-sts.{domain}/.well-known/mta-sts.txt"
FIXES = {
    "certificate-expired": "renew the certificate of {mx} (and automate its renewal)",
    "certificate-host-mismatch": "serve a certificate on {mx} that names {mx} (and every mx: of the policy)",
    "certificate-not-trusted": "serve a certificate on {mx} from a public CA, with its intermediates",
    "starttls-not-supported": "enable STARTTLS on {mx} (and check that nothing in front of it strips it)",
    "validation-failure": "check {mx}'s certificate chain and names (the failure_reason_code tells which)",
    "tlsa-invalid": "publish TLSA records that match {mx}'s current certificate (new key first, then roll)",
    "dnssec-invalid": "repair the DNSSEC chain of {domain} and of {mx} (DS, DNSKEY, expired signatures)",
    "dane-required": "publish DNSSEC-signed TLSA records for {mx}, or have the sender stop requiring DANE",
    "sts-policy-fetch-error": (
        f"make {_MTA_STS} answer over HTTPS (DNS of mta-sts.{{domain}}, its certificate, a 200 answer)"
    ),
    "sts-policy-invalid": f"correct the policy at {_MTA_STS} (version, mode, mx and max_age lines)",
    "sts-webpki-invalid": "renew the HTTPS certificate of mta-sts.{domain} so that it names that host",
}
"""What to fix for a result type (RFC 8460 section 4.3), with ``{mx}`` and ``{domain}`` filled in."""


def tls_failures(facts: AlertFacts, thresholds: AlertThresholds, now: datetime) -> list[Condition]:
    """Rule 8: a policy domain with a failing day (see the module) in the current window."""
    window = Window.of(now, thresholds)
    by_domain: dict[str, list[TlsDay]] = defaultdict(list)
    for row in facts.tls:
        if window.current(row.day):
            by_domain[row.domain].append(row)
    found = []
    for domain, days in sorted(by_domain.items()):
        failing = [day for day in sorted(days, key=lambda day: day.day) if _failing(day, thresholds)]
        if failing:
            found.append(_condition(domain, days, failing, thresholds))
    return found


def _failing(day: TlsDay, thresholds: AlertThresholds) -> bool:
    floor = max(1, thresholds.tls_failed_sessions_floor)
    least_share = round(thresholds.tls_failure_share * day.total_sessions, 6)  # 0.01 * 700 is 7.000...01
    return day.failed_sessions >= floor and day.failed_sessions >= least_share


def _top(counts: Counter[str]) -> dict[str, JsonValue]:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return dict(ranked[:TOP])


def _next_step(domain: str, days: Iterable[TlsDay]) -> str:
    by_type: Counter[tuple[str, str | None]] = Counter()
    for day in days:
        for failure in day.failures:
            by_type[(failure.result_type, failure.receiving_mx)] += failure.sessions
    details = (
        f"`dmarc query tls_failures_by_type --param domain={domain}` lists them by type, MX and reporter."
    )
    if not by_type:
        return f"The reports itemise none of the failures; {details}"
    (result_type, mx), _ = min(by_type.items(), key=lambda item: (-item[1], item[0][0], item[0][1] or ""))
    fix = FIXES.get(result_type, "look up the reporters' additional-information for it")
    shown = mx or f"the MX hosts of {domain}"
    return f"Most failures are {result_type}: {fix.format(mx=shown, domain=domain)}. {details}"


def _condition(
    domain: str, days: Sequence[TlsDay], failing: Sequence[TlsDay], thresholds: AlertThresholds
) -> Condition:
    failed = sum(day.failed_sessions for day in days)
    total = sum(day.total_sessions for day in days)
    enforced = sum(day.enforced_failed_sessions for day in days)
    types: Counter[str] = Counter()
    hosts: Counter[str] = Counter()
    for day in days:
        for failure in day.failures:
            types[failure.result_type] += failure.sessions
            if failure.receiving_mx:
                hosts[failure.receiving_mx] += failure.sessions
    severity: Severity = "critical" if enforced >= max(1, thresholds.tls_failed_sessions_floor) else "warning"
    named = ", ".join(f"{name} ({count})" for name, count in _top(types).items()) or "no result type given"
    if hosts:
        named += "; by MX: " + ", ".join(f"{name} ({count})" for name, count in _top(hosts).items())
    reporters: list[JsonValue] = []
    reporters.extend(sorted({name for day in days for name in day.reporters}))
    failing_days: list[JsonValue] = [day.day.isoformat() for day in failing]
    per_day: dict[str, JsonValue] = {
        day.day.isoformat(): {"failed_sessions": day.failed_sessions, "total_sessions": day.total_sessions}
        for day in sorted(days, key=lambda day: day.day)
    }
    return Condition(
        rule="tls-failures",
        domain=domain,
        subject="smtp tls",
        severity=severity,
        summary=(
            f"{failed} of {total} SMTP TLS sessions to {domain} failed ({percent(share(failed, total))}) in"
            f" the last {thresholds.current_days} days: {named}."
        ),
        next_step=_next_step(domain, days),
        evidence={
            "failed_sessions": failed,
            "total_sessions": total,
            "failure_share": share(failed, total),
            "enforced_failed_sessions": enforced,
            "failing_days": failing_days,
            "per_day": per_day,
            "result_types": _top(types),
            "receiving_mx_hosts": _top(hosts),
            "reporters": reporters,
            "floor": thresholds.tls_failed_sessions_floor,
            "min_share": round(100.0 * thresholds.tls_failure_share, 2),
        },
    )
