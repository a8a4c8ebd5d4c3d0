"""Rules over the senders of a domain: 1 (new sender), 3 (pass rate drop), 5 (legitimate mail blocked)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime

from dmarc_model.alerts.conditions import Condition, JsonValue, Severity, Window, percent, share
from dmarc_model.alerts.facts import AlertFacts, SenderDay
from dmarc_model.alerts.rules._compare import by_sender, compare_by_reporter
from dmarc_model.alerts.thresholds import AlertThresholds

__all__ = ["IDENTIFIED", "legitimate_blocked", "new_sender", "pass_rate_drop"]

IDENTIFIED = frozenset({"own", "service"})
"""Categories whose verdict does not depend on the mail passing: the only senders whose rates are compared."""


def _name(rows: Sequence[SenderDay]) -> str:
    name = next((row.sender_name for row in rows if row.sender_name), None)
    sender = rows[0].sender
    return f"{name} ({sender})" if name and name != sender else sender


def _reporters(rows: Sequence[SenderDay], count: str = "messages") -> dict[str, JsonValue]:
    totals: Counter[str] = Counter()
    for row in rows:
        totals[row.reporter] += int(getattr(row, count))
    return {reporter: total for reporter, total in sorted(totals.items()) if total}


def _history_days(facts: AlertFacts, window: Window) -> dict[str, list[date]]:
    """Per domain, the days with data before the current window, in order."""
    days: dict[str, set[date]] = {}
    for row in facts.senders:
        if row.day < window.current_start:
            days.setdefault(row.domain, set()).add(row.day)
    return {domain: sorted(found) for domain, found in days.items()}


def new_sender(facts: AlertFacts, thresholds: AlertThresholds, now: datetime) -> list[Condition]:
    """Rule 1: a service first seen in the last ``new_sender_days``, or unknown sources' volume rising above
    ``new_unknown_messages``. Never an address: one sender is many addresses."""
    window = Window.of(now, thresholds)
    history = _history_days(facts, window)
    found: list[Condition] = []
    for (domain, _), rows in by_sender(facts.senders).items():
        before = history.get(domain, [])
        category = rows[0].category
        if category == "service":
            found.extend(_new_service(domain, rows, before, window, thresholds))
        elif category == "unknown" and len(before) >= thresholds.min_baseline_days:
            found.extend(_new_unknown(domain, rows, window, thresholds))
    return found


def _new_service(
    domain: str, rows: list[SenderDay], before: list[date], window: Window, thresholds: AlertThresholds
) -> list[Condition]:
    first_seen = min(row.day for row in rows)
    known_days = [day for day in before if day < first_seen]
    messages = sum(row.messages for row in rows)
    if (
        first_seen < window.days_back(thresholds.new_sender_days)
        or len(known_days) < thresholds.min_baseline_days
        or messages < thresholds.new_service_messages
    ):
        return []
    passing = sum(row.dmarc_pass for row in rows)
    name = _name(rows)
    return [
        Condition(
            rule="new-sender",
            domain=domain,
            subject=rows[0].sender,
            severity="warning",
            summary=(
                f"{name} started sending as {domain} on {first_seen}: {messages} messages since,"
                f" {percent(share(passing, messages))} passing DMARC."
            ),
            next_step=(
                f"If {domain} uses {name}, declare it in the senders file and have it DKIM-sign aligned"
                f" with {domain}; if nobody set it up, find out who did (an account may be compromised)."
            ),
            evidence={
                "sender": rows[0].sender,
                "sender_name": rows[0].sender_name,
                "category": "service",
                "first_seen": first_seen.isoformat(),
                "messages": messages,
                "dmarc_pass_messages": passing,
                "pass_rate": share(passing, messages),
                "reporters": _reporters(rows),
            },
        )
    ]


def _new_unknown(
    domain: str, rows: list[SenderDay], window: Window, thresholds: AlertThresholds
) -> list[Condition]:
    current = [row for row in rows if window.current(row.day)]
    messages = sum(row.messages for row in current)
    baseline = sum(row.messages for row in rows if window.baseline(row.day))
    usual = baseline * thresholds.current_days / thresholds.baseline_days
    if messages < thresholds.new_unknown_messages or usual >= thresholds.new_unknown_messages:
        return []
    return [
        Condition(
            rule="new-sender",
            domain=domain,
            subject=rows[0].sender,
            severity="warning",
            summary=(
                f"Sources no rule identifies sent {messages} messages as {domain} in the last"
                f" {thresholds.current_days} days, against about {round(usual)} usually."
            ),
            next_step=(
                "Look at their addresses and networks with `dmarc query unidentified_sources`: spoofing needs"
                " no action at p=reject; a server of yours belongs in the senders file."
            ),
            evidence={
                "sender": rows[0].sender,
                "category": "unknown",
                "messages": messages,
                "usual_messages": round(usual, 1),
                "dmarc_pass_messages": sum(row.dmarc_pass for row in current),
                "reporters": _reporters(current),
            },
        )
    ]


def pass_rate_drop(facts: AlertFacts, thresholds: AlertThresholds, now: datetime) -> list[Condition]:
    """Rule 3: an identified sender's DMARC pass rate fell, counted over the same reporters in both windows
    (a reporter present in one window only is left out: the daily reporter mix varies)."""
    window = Window.of(now, thresholds)
    found: list[Condition] = []
    for (domain, sender), rows in by_sender(facts.senders).items():
        if rows[0].category not in IDENTIFIED:
            continue
        compared = compare_by_reporter(rows, window, lambda row: row.dmarc_pass)
        if (
            compared.baseline_days < thresholds.min_baseline_days
            or min(compared.baseline_messages, compared.current_messages) < thresholds.pass_rate_min_messages
            or compared.drop < thresholds.pass_rate_drop_points
        ):
            continue
        severity: Severity = (
            "critical" if compared.drop >= thresholds.pass_rate_critical_points else "warning"
        )
        name = _name(rows)
        found.append(
            Condition(
                rule="pass-rate-drop",
                domain=domain,
                subject=sender,
                severity=severity,
                summary=(
                    f"{name} passed DMARC for {percent(compared.current_share)} of"
                    f" {compared.current_messages} messages in the last {thresholds.current_days} days,"
                    " down from"
                    f" {percent(compared.baseline_share)} at the same {len(compared.reporters)} reporters."
                ),
                next_step=(
                    f"See which of {name}'s sources fail and why with `dmarc query misconfigured_senders`"
                    " and `dmarc query top_failing_sources`; a changed envelope domain or a missing DKIM key"
                    " is the usual cause."
                ),
                evidence={"sender": sender, "sender_name": rows[0].sender_name, **compared.evidence()},
            )
        )
    return found


def legitimate_blocked(facts: AlertFacts, thresholds: AlertThresholds, now: datetime) -> list[Condition]:
    """Rule 5: mail that passed DMARC was quarantined or rejected by receivers anyway. Mail that failed DMARC
    and was blocked (spoofing stopped by the policy) is the policy working, never an alert."""
    window = Window.of(now, thresholds)
    found: list[Condition] = []
    current_rows = [row for row in facts.senders if window.current(row.day)]
    for (domain, sender), rows in by_sender(current_rows).items():
        quarantined = sum(row.quarantined for row in rows)
        rejected = sum(row.rejected for row in rows)
        blocked = quarantined + rejected
        if blocked < thresholds.blocked_min_messages:
            continue
        critical = (
            blocked >= thresholds.blocked_critical_messages or rejected >= thresholds.blocked_min_messages
        )
        passing = sum(row.dmarc_pass for row in rows)
        name = _name(rows)
        found.append(
            Condition(
                rule="legitimate-blocked",
                domain=domain,
                subject=sender,
                severity="critical" if critical else "warning",
                summary=(
                    f"Receivers quarantined {quarantined} and rejected {rejected} of {passing} messages from"
                    f" {name} that passed DMARC, in the last {thresholds.current_days} days."
                ),
                next_step=(
                    "DMARC is not the cause: ask the reporters named here (their postmaster tools) why they"
                    f" block {name}'s mail, and check its reputation, content and blocklists."
                ),
                evidence={
                    "sender": sender,
                    "sender_name": rows[0].sender_name,
                    "dmarc_pass_messages": passing,
                    "quarantined_messages": quarantined,
                    "rejected_messages": rejected,
                    "blocked_share": share(blocked, passing),
                    "reporters_quarantining": _reporters(rows, "quarantined"),
                    "reporters_rejecting": _reporters(rows, "rejected"),
                },
            )
        )
    return found
