"""The gates a step must pass before it is published, each with its measured value and threshold.

Gate             before              met when
volume           every step          the domain's messages in the window >= min_messages
reporters        every step          distinct reporters >= min_reporters
policy_age       every step          the current policy was seen on >= min_policy_days days of the window
blocked_share    every step          the share of volume the step would block from identified legitimate
                                     senders (own, service), forwarded and mailing-list mail excluded,
                                     <= max_blocked_share
unknown_explained every step         the share of volume from unidentified sources that fail DMARC but
                                     authenticate for another domain (maybe a sender of yours not yet named)
                                     <= max_unexplained_share; unauthenticated mail is spoofing, explained
forwarded_cost   quarantine, reject  forwarded and mailing-list mail that would fail, as a share of volume,
                                     <= max_forwarded_share: the cost of the step, shown apart from the
                                     blocked share (RFC 9989 warns against p=reject for domains whose users
                                     post to mailing lists)
dkim_aligned     reject              every identified legitimate sender DKIM-aligned: its DKIM-aligned share
                                     of the mail that passes DMARC >= min_dkim_share (RFC 9989 section 7.4:
                                     a domain at reject must not rely on SPF alone); value: how many are not
stability        every step          no open incident of the alert rules in stability_rules (alignment-drop,
                                     new-selector, pass-rate-drop, legitimate-blocked: rules 2, 3 and 5 of
                                     dmarc_model.alerts); needs the alerts' incident state, so the SQL
                                     verdict leaves it out

The SQL of athena_queries/saved/enforcement_readiness.sql computes the same data gates with the default
thresholds written into it; tests/test_policy_plan.py checks that the two agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from dmarc_model.plan.facts import PlanFacts, SenderFacts
from dmarc_model.plan.policy import Step

__all__ = ["DATA_GATES", "Gate", "PlanThresholds", "evaluate_gates", "gate_names", "spf_reliant"]


@dataclass(frozen=True)
class PlanThresholds:
    """The plan's thresholds; the defaults are what the saved query enforcement_readiness uses."""

    min_messages: int = 1000
    """Volume in the window before any step is judged (too little mail proves nothing)."""
    min_reporters: int = 2
    """Distinct reporting organisations (one receiver's view is not the world's)."""
    min_policy_days: int = 14
    """Days the current policy must have been seen in the window: the stability window."""
    max_blocked_share: float = 0.005
    """Share of volume from own and service senders the step would block, forwarded mail excluded."""
    max_unexplained_share: float = 0.01
    """Share of volume from unidentified sources that authenticate for another domain."""
    max_forwarded_share: float = 0.02
    """Share of volume that is forwarded or mailing-list mail failing DMARC (the cost of enforcing)."""
    min_dkim_share: float = 0.98
    """Each legitimate sender's DKIM-aligned share of its DMARC-passing mail, before reject."""
    stability_rules: tuple[str, ...] = (
        "alignment-drop",
        "new-selector",
        "pass-rate-drop",
        "legitimate-blocked",
    )
    """Alert rules whose open incidents hold every step."""
    legacy_pct_zero: bool = True
    """Add pct=0 to the test step's record for RFC 7489-only receivers (dmarc_model.plan.policy)."""


@dataclass(frozen=True)
class Gate:
    name: str
    met: bool
    value: float | int
    threshold: float | int
    detail: str

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "met": self.met,
            "value": self.value,
            "threshold": self.threshold,
            "detail": self.detail,
        }


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def spf_reliant(sender: SenderFacts, thresholds: PlanThresholds) -> bool:
    """A legitimate sender whose passing mail is not DKIM-aligned often enough: it relies on SPF."""
    share = sender.dkim_share
    return sender.legitimate and share is not None and share < thresholds.min_dkim_share


def blocked_messages(facts: PlanFacts) -> int:
    return sum(sender.blocked_messages for sender in facts.senders if sender.legitimate)


def unexplained_messages(facts: PlanFacts) -> int:
    return sum(sender.failing_authenticated_messages for sender in facts.senders if sender.unknown)


def _volume(facts: PlanFacts, limits: PlanThresholds) -> Gate:
    met = facts.messages >= limits.min_messages
    return Gate(
        "volume", met, facts.messages, limits.min_messages, f"{facts.messages} messages in the window"
    )


def _reporters(facts: PlanFacts, limits: PlanThresholds) -> Gate:
    met = facts.reporters >= limits.min_reporters
    return Gate("reporters", met, facts.reporters, limits.min_reporters, f"{facts.reporters} reporters")


def _policy_age(facts: PlanFacts, limits: PlanThresholds) -> Gate:
    met = facts.policy_days >= limits.min_policy_days
    detail = f"the current policy seen on {facts.policy_days} days of the window"
    return Gate("policy_age", met, facts.policy_days, limits.min_policy_days, detail)


def _blocked(facts: PlanFacts, limits: PlanThresholds) -> Gate:
    blocked = blocked_messages(facts)
    share = _share(blocked, facts.messages)
    detail = f"{blocked} messages from your own and service senders fail DMARC (forwarded mail aside)"
    return Gate("blocked_share", share <= limits.max_blocked_share, share, limits.max_blocked_share, detail)


def _unknown(facts: PlanFacts, limits: PlanThresholds) -> Gate:
    unexplained = unexplained_messages(facts)
    share = _share(unexplained, facts.messages)
    detail = f"{unexplained} messages from unidentified sources that authenticate for another domain"
    met = share <= limits.max_unexplained_share
    return Gate("unknown_explained", met, share, limits.max_unexplained_share, detail)


def _forwarded(facts: PlanFacts, limits: PlanThresholds) -> Gate:
    forwarded = facts.forwarded_messages
    share = _share(forwarded, facts.messages)
    detail = f"{forwarded} forwarded or mailing-list messages fail DMARC: the step's cost"
    return Gate(
        "forwarded_cost", share <= limits.max_forwarded_share, share, limits.max_forwarded_share, detail
    )


def _dkim(facts: PlanFacts, limits: PlanThresholds) -> Gate:
    reliant = sorted(sender.name for sender in facts.senders if spf_reliant(sender, limits))
    detail = (
        "relying on SPF alone: " + ", ".join(reliant)
        if reliant
        else "every identified legitimate sender is DKIM-aligned"
    )
    return Gate("dkim_aligned", not reliant, len(reliant), 0, detail)


def _stability(rules: Iterable[str], limits: PlanThresholds) -> Gate:
    held = sorted({rule for rule in rules if rule in limits.stability_rules})
    detail = (
        "open incidents of rules " + ", ".join(held)
        if held
        else "no open incidents of rules " + ", ".join(limits.stability_rules)
    )
    return Gate("stability", not held, len(held), 0, detail)


_DataGate = Callable[[PlanFacts, PlanThresholds], Gate]
_EVERY_STEP: tuple[_DataGate, ...] = (_volume, _reporters, _policy_age, _blocked, _unknown)
DATA_GATES = (
    "volume",
    "reporters",
    "policy_age",
    "blocked_share",
    "unknown_explained",
    "forwarded_cost",
    "dkim_aligned",
)
"""The gates computed from the stored rows alone (the saved query's verdict uses these)."""


def _data_gates(step: Step) -> tuple[_DataGate, ...]:
    gates = _EVERY_STEP
    if step.p != "none" and not step.test_mode:
        gates = (*gates, _forwarded)
    if step.p == "reject":
        gates = (*gates, _dkim)
    return gates


def gate_names(step: Step) -> tuple[str, ...]:
    """The gates that hold `step`, in the order they are reported."""
    nothing = PlanFacts(domain="", published=None, messages=0, reporters=0, policy_days=0, senders=())
    return tuple(gate.name for gate in evaluate_gates(step, nothing, (), PlanThresholds()))


def evaluate_gates(
    step: Step, facts: PlanFacts, open_incident_rules: Iterable[str], thresholds: PlanThresholds
) -> tuple[Gate, ...]:
    """Every gate of `step`, measured on `facts`."""
    rules = list(open_incident_rules)
    measured = [gate(facts, thresholds) for gate in _data_gates(step)]
    return (*measured, _stability(rules, thresholds))
