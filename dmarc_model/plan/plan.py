"""The policy plan of one domain: where it stands, the next record, the gates before it, who blocks it.

``build_plan(domain, facts, open_incident_rules, thresholds)`` is a pure function; ``Plan.to_dict()`` is
what ``dmarc plan DOMAIN --json`` prints (at least domain, published, next_record, gates, blocking_senders).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dmarc_model.plan.facts import PlanFacts, SenderFacts, TestModeEvidence
from dmarc_model.plan.gates import Gate, PlanThresholds, evaluate_gates, spf_reliant
from dmarc_model.plan.policy import NextRecord, PublishedPolicy, Step, current_step, next_step

__all__ = ["VERDICTS", "BlockingSender", "Plan", "build_plan", "verdict_of"]

VERDICTS = ("ready", "almost", "not ready")
"""All gates met; exactly one not met; more (the saved query enforcement_readiness uses the same words)."""


def verdict_of(gates: Iterable[Gate]) -> str:
    unmet = sum(1 for gate in gates if not gate.met)
    return VERDICTS[min(unmet, 2)]


@dataclass(frozen=True)
class BlockingSender:
    """A sender that holds the next step, and what to do about it."""

    sender: str
    name: str
    category: str
    messages: int
    blocked_messages: int
    why: str
    fix: str | None
    setup_url: str | None

    def to_dict(self) -> dict[str, object]:
        return {
            "sender": self.sender,
            "name": self.name,
            "category": self.category,
            "messages": self.messages,
            "blocked_messages": self.blocked_messages,
            "why": self.why,
            "fix": self.fix,
            "setup_url": self.setup_url,
        }


@dataclass(frozen=True)
class Plan:
    domain: str
    published: PublishedPolicy | None
    current: Step | None
    next: NextRecord
    gates: tuple[Gate, ...]
    blocking_senders: tuple[BlockingSender, ...]
    messages: int
    reporters: int
    forwarded_messages: int
    """Forwarded and mailing-list mail that fails DMARC: what the next enforcing step costs."""
    test_mode: tuple[TestModeEvidence, ...]

    @property
    def ready(self) -> bool:
        return all(gate.met for gate in self.gates)

    @property
    def verdict(self) -> str:
        return verdict_of(self.gates)

    @property
    def forwarded_share(self) -> float:
        return round(self.forwarded_messages / self.messages, 4) if self.messages else 0.0

    def gate(self, name: str) -> Gate:
        return next(gate for gate in self.gates if gate.name == name)

    def to_dict(self) -> dict[str, object]:
        return {
            "domain": self.domain,
            "published": None
            if self.published is None or self.published.p is None
            else self.published.to_dict(),
            "current_step": None if self.current is None else self.current.name,
            "next_step": self.next.step.name,
            "next_policy": self.next.step.label,
            "next_record": self.next.record,
            "final": self.next.final,
            "notes": list(self.next.notes),
            "ready": self.ready,
            "verdict": self.verdict,
            "gates": [gate.to_dict() for gate in self.gates],
            "blocking_senders": [sender.to_dict() for sender in self.blocking_senders],
            "messages": self.messages,
            "reporters": self.reporters,
            "forwarded_messages": self.forwarded_messages,
            "forwarded_share": self.forwarded_share,
            "test_mode_evidence": [row.to_dict() for row in self.test_mode],
        }


def _why(sender: SenderFacts, step: Step, thresholds: PlanThresholds) -> str | None:
    """Why `sender` holds `step`, or None when it does not."""
    if sender.legitimate and sender.blocked_messages:
        effect = "are reported as failing (test mode), then quarantined" if step.test_mode else "blocked"
        return f"{sender.blocked_messages} of its messages fail DMARC: at {step.label} they are {effect}"
    if step.p == "reject" and spf_reliant(sender, thresholds):
        share = sender.dkim_share or 0.0
        return (
            f"passes DMARC on SPF alone for {1 - share:.0%} of its mail; a domain at p=reject must not rely"
            " on SPF alone (RFC 9989 section 7.4): sign it with DKIM aligned to your domain"
        )
    if sender.unknown and sender.failing_authenticated_messages:
        return (
            f"unidentified: {sender.failing_authenticated_messages} failing messages authenticate for another"
            " domain; name it (a service of yours?) or confirm it is not yours"
        )
    return None


def _blocking(facts: PlanFacts, step: Step, thresholds: PlanThresholds) -> tuple[BlockingSender, ...]:
    found = []
    for sender in facts.senders:
        why = _why(sender, step, thresholds)
        if why is None:
            continue
        found.append(
            BlockingSender(
                sender=sender.sender,
                name=sender.name,
                category=sender.category,
                messages=sender.messages,
                blocked_messages=sender.blocked_messages,
                why=why,
                fix=sender.fix,
                setup_url=sender.setup_url,
            )
        )
    return tuple(sorted(found, key=lambda s: (-s.blocked_messages, -s.messages, s.sender)))


def build_plan(
    domain: str,
    facts: PlanFacts,
    open_incident_rules: Iterable[str] = (),
    thresholds: PlanThresholds | None = None,
) -> Plan:
    """The plan of `domain` from its facts and the rule ids of its open incidents (alerts)."""
    limits = thresholds or PlanThresholds()
    published = facts.published
    upcoming = next_step(published, legacy_pct_zero=limits.legacy_pct_zero)
    gates = evaluate_gates(upcoming.step, facts, open_incident_rules, limits)
    return Plan(
        domain=domain.strip().lower().rstrip("."),
        published=published,
        current=current_step(published),
        next=upcoming,
        gates=gates,
        blocking_senders=_blocking(facts, upcoming.step, limits),
        messages=facts.messages,
        reporters=facts.reporters,
        forwarded_messages=facts.forwarded_messages,
        test_mode=facts.test_mode,
    )
