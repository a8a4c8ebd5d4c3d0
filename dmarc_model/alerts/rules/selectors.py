"""Rule 2: a known sender's aligned share drops (DKIM per selector, SPF per sender); a new selector."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from dmarc_model.alerts.conditions import Condition, JsonValue, Severity, Window, percent, share
from dmarc_model.alerts.facts import AlertFacts, SelectorDay
from dmarc_model.alerts.rules._compare import Comparison, by_sender, compare_by_reporter
from dmarc_model.alerts.rules.senders import IDENTIFIED
from dmarc_model.alerts.thresholds import AlertThresholds

__all__ = ["alignment_drop", "new_selector"]

SelectorKey = tuple[str, str, str]
"""(domain, signing domain, selector)."""


@dataclass(frozen=True)
class _SelectorTotals:
    days: int
    messages: int
    aligned: int
    senders: tuple[str, ...]

    @classmethod
    def of(cls, rows: Iterable[SelectorDay]) -> _SelectorTotals:
        chosen = list(rows)
        return cls(
            days=len({row.day for row in chosen}),
            messages=sum(row.messages for row in chosen),
            aligned=sum(row.aligned_pass for row in chosen),
            senders=tuple(sorted({name for row in chosen for name in row.senders})),
        )

    @property
    def share(self) -> float:
        return share(self.aligned, self.messages)


def _by_selector(rows: Iterable[SelectorDay]) -> dict[SelectorKey, list[SelectorDay]]:
    grouped: dict[SelectorKey, list[SelectorDay]] = defaultdict(list)
    for row in rows:
        grouped[(row.domain, row.signing_domain, row.selector)].append(row)
    return dict(sorted(grouped.items()))


def _severity(drop: float, thresholds: AlertThresholds) -> Severity:
    return "critical" if drop >= thresholds.alignment_critical_points else "warning"


def alignment_drop(facts: AlertFacts, thresholds: AlertThresholds, now: datetime) -> list[Condition]:
    """Rule 2: a selector's aligned DKIM passes fall by ``alignment_drop_points`` or more (subject: the
    selector's DNS name); or an identified sender's SPF-aligned share does (subject ``<sender> (spf)``), or
    its DKIM-aligned share with no selector of its to name (subject ``<sender> (dkim)``: it stopped
    signing, or signs with another domain). Shares per sender are compared reporter by reporter."""
    window = Window.of(now, thresholds)
    found = [
        condition
        for key, rows in _by_selector(facts.selectors).items()
        if (condition := _selector_drop(key, rows, window, thresholds)) is not None
    ]
    named = {(c.domain, sender) for c in found for sender in _names(c.evidence.get("senders"))}
    for (domain, sender), rows in by_sender(facts.senders).items():
        if rows[0].category not in IDENTIFIED:
            continue
        spf = compare_by_reporter(rows, window, lambda row: row.spf_aligned)
        if _dropped(spf, thresholds):
            found.append(_sender_condition(domain, sender, rows[0].sender_name, "spf", spf, thresholds))
        dkim = compare_by_reporter(rows, window, lambda row: row.dkim_aligned)
        if (domain, sender) not in named and _dropped(dkim, thresholds):
            found.append(_sender_condition(domain, sender, rows[0].sender_name, "dkim", dkim, thresholds))
    return found


def _names(value: JsonValue) -> list[str]:
    return [str(name) for name in value] if isinstance(value, list) else []


def _dropped(compared: Comparison, thresholds: AlertThresholds) -> bool:
    return (
        compared.baseline_days >= thresholds.min_baseline_days
        and min(compared.baseline_messages, compared.current_messages) >= thresholds.alignment_min_messages
        and compared.drop >= thresholds.alignment_drop_points
    )


def _selector_drop(
    key: SelectorKey, rows: list[SelectorDay], window: Window, thresholds: AlertThresholds
) -> Condition | None:
    domain, signing_domain, selector = key
    before = _SelectorTotals.of(row for row in rows if window.baseline(row.day))
    current = _SelectorTotals.of(row for row in rows if window.current(row.day))
    drop = round(before.share - current.share, 1)
    if (
        before.days < thresholds.min_baseline_days
        or min(before.messages, current.messages) < thresholds.alignment_min_messages
        or drop < thresholds.alignment_drop_points
    ):
        return None
    dns_name = rows[0].dns_name
    senders = ", ".join(current.senders or before.senders)
    return Condition(
        rule="alignment-drop",
        domain=domain,
        subject=dns_name,
        severity=_severity(drop, thresholds),
        summary=(
            f"DKIM selector {selector} of {signing_domain} passed aligned for {percent(current.share)} of"
            f" {current.messages} signed messages in the last {thresholds.current_days} days, down from"
            f" {percent(before.share)} ({senders})."
        ),
        next_step=(
            f"Compare the key published at {dns_name} (dig TXT) with the key {senders} signs with: a rotated"
            " or deleted key record breaks every message still signed with it."
        ),
        evidence={
            "method": "dkim",
            "selector": selector,
            "signing_domain": signing_domain,
            "senders": list(current.senders or before.senders),
            "baseline_days": before.days,
            "baseline_messages": before.messages,
            "baseline_share": before.share,
            "current_messages": current.messages,
            "current_share": current.share,
            "drop_points": drop,
        },
    )


_SENDER_STEPS = {
    "spf": (
        "Check {shown}'s envelope (return-path) domain: it must be {domain} or a subdomain of it, and its"
        " SPF record must authorise the sender's servers."
    ),
    "dkim": (
        "Check that {shown} still signs with a key of {domain} (its DKIM settings, the selector records"
        " it asked you to publish): no aligned signature of it reaches the receivers any more."
    ),
}


def _sender_condition(
    domain: str, sender: str, name: str | None, method: str, compared: Comparison, thresholds: AlertThresholds
) -> Condition:
    shown = name or sender
    evidence: dict[str, JsonValue] = {"method": method, "sender": sender, "sender_name": name}
    return Condition(
        rule="alignment-drop",
        domain=domain,
        subject=f"{sender} ({method})",
        severity=_severity(compared.drop, thresholds),
        summary=(
            f"{shown}'s mail was {method.upper()}-aligned for {percent(compared.current_share)} of"
            f" {compared.current_messages} messages in the last {thresholds.current_days} days, down from"
            f" {percent(compared.baseline_share)} at the same reporters."
        ),
        next_step=_SENDER_STEPS[method].format(shown=shown, domain=domain),
        evidence={**evidence, **compared.evidence()},
    )


def new_selector(facts: AlertFacts, thresholds: AlertThresholds, now: datetime) -> list[Condition]:
    """Rule 2: a selector of the domain's own signing domain, passing aligned, first seen in the last
    ``new_sender_days`` days, on a domain with ``min_baseline_days`` of history before it."""
    window = Window.of(now, thresholds)
    history: dict[str, set[date]] = defaultdict(set)
    for row in facts.selectors:
        history[row.domain].add(row.day)
    found: list[Condition] = []
    for (domain, signing_domain, selector), rows in _by_selector(facts.selectors).items():
        first_seen = min(row.day for row in rows)
        earlier = [day for day in history[domain] if day < first_seen]
        totals = _SelectorTotals.of(rows)
        if (
            not rows[0].own_signing_domain
            or first_seen < window.days_back(thresholds.new_sender_days)
            or len(earlier) < thresholds.min_baseline_days
            or totals.aligned == 0
        ):
            continue
        found.append(
            Condition(
                rule="new-selector",
                domain=domain,
                subject=rows[0].dns_name,
                severity="info",
                summary=(
                    f"A new DKIM selector, {selector} of {signing_domain}, signs mail as {domain} since"
                    f" {first_seen}: {totals.messages} messages, {percent(totals.share)} passing aligned"
                    f" ({', '.join(totals.senders)})."
                ),
                next_step=(
                    f"Make sure you published {rows[0].dns_name} yourself (a key rotation, a new service);"
                    " if a rotation, remove the old selector's record only once no mail is signed with it."
                ),
                evidence={
                    "selector": selector,
                    "signing_domain": signing_domain,
                    "senders": list(totals.senders),
                    "first_seen": first_seen.isoformat(),
                    "messages": totals.messages,
                    "aligned_pass_messages": totals.aligned,
                },
            )
        )
    return found
