"""What a plan is built from: a domain's measured facts, read from the rows of two saved queries.

    policy_plan         one row per domain and sender (athena_queries/saved/policy_plan.sql)
                        -> PlanFacts (the domain's totals, the latest published policy) with SenderFacts
    test_mode_evidence  one row per domain and reporter while t=y is published
                        -> TestModeEvidence

The rows are plain mappings (``pyarrow.Table.to_pylist()``), so this stays pure and testable without SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from dmarc_model.plan.policy import PublishedPolicy

__all__ = [
    "LEGITIMATE",
    "UNKNOWN",
    "PlanFacts",
    "SenderFacts",
    "TestModeEvidence",
    "evidence_from_rows",
    "facts_from_rows",
]

LEGITIMATE = frozenset({"own", "service"})
"""Sender categories that are the owner's mail (dmarc_model.senders.classify)."""
UNKNOWN = frozenset({"unknown", ""})
"""Sender categories that name nobody (records not classified yet count as unknown)."""


def _int(value: object) -> int:
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int):
        return value
    try:
        return int(float(str(value)))
    except ValueError:
        return 0


def _text(value: object) -> str | None:
    return None if value is None or str(value) == "" else str(value)


@dataclass(frozen=True)
class SenderFacts:
    """One sender's mail for the domain in the window (a policy_plan row)."""

    sender: str
    name: str
    category: str
    messages: int
    dmarc_pass_messages: int = 0
    dkim_aligned_messages: int = 0
    spf_only_messages: int = 0
    """Passed DMARC on SPF alignment alone (DKIM not aligned)."""
    failing_messages: int = 0
    forwarded_messages: int = 0
    """Failing, and forwarded or from a mailing list (receiver's override reason, or a forwarder sender)."""
    failing_authenticated_messages: int = 0
    """Failing, not forwarded, but DKIM or SPF passed for some other domain."""
    reporters: int = 0
    fix: str | None = None
    setup_url: str | None = None

    @property
    def legitimate(self) -> bool:
        return self.category in LEGITIMATE

    @property
    def unknown(self) -> bool:
        return self.category in UNKNOWN

    @property
    def blocked_messages(self) -> int:
        """What the next enforcing step would block of this sender's mail, forwarded mail aside."""
        return max(self.failing_messages - self.forwarded_messages, 0)

    @property
    def dkim_share(self) -> float | None:
        """The DKIM-aligned share of the mail that passes DMARC (None when none passes)."""
        if not self.dmarc_pass_messages:
            return None
        return self.dkim_aligned_messages / self.dmarc_pass_messages

    @classmethod
    def from_row(cls, row: Mapping[str, object]) -> SenderFacts:
        return cls(
            sender=str(row.get("sender") or "unclassified"),
            name=str(row.get("sender_name") or row.get("sender") or "unclassified"),
            category=str(row.get("category") or "unknown"),
            messages=_int(row.get("messages")),
            dmarc_pass_messages=_int(row.get("dmarc_pass_messages")),
            dkim_aligned_messages=_int(row.get("dkim_aligned_messages")),
            spf_only_messages=_int(row.get("spf_only_messages")),
            failing_messages=_int(row.get("failing_messages")),
            forwarded_messages=_int(row.get("forwarded_messages")),
            failing_authenticated_messages=_int(row.get("failing_authenticated_messages")),
            reporters=_int(row.get("reporters")),
            fix=_text(row.get("fix")),
            setup_url=_text(row.get("setup_url")),
        )


@dataclass(frozen=True)
class TestModeEvidence:
    """One reporter's handling of the domain's mail while t=y is published (a test_mode_evidence row)."""

    __test__ = False  # not a pytest class, whatever its name

    reporter: str
    published_p: str | None
    messages: int
    failing_messages: int
    disposition_none: int
    disposition_quarantine: int
    disposition_reject: int
    test_mode_reason_messages: int
    """Messages with the override reason policy_test_mode (RFC 9990)."""
    full_policy_messages: int
    """Failing messages that got the published p itself, not the level below: test mode not honoured."""

    @property
    def honoured(self) -> str:
        """'yes' (failing mail got one level lower), 'no' (some got the full policy) or 'no failing mail'."""
        if not self.failing_messages:
            return "no failing mail"
        return "no" if self.full_policy_messages else "yes"

    @classmethod
    def from_row(cls, row: Mapping[str, object]) -> TestModeEvidence:
        return cls(
            reporter=str(row.get("reporter") or "(unnamed)"),
            published_p=_text(row.get("published_p")),
            messages=_int(row.get("messages")),
            failing_messages=_int(row.get("failing_messages")),
            disposition_none=_int(row.get("disposition_none")),
            disposition_quarantine=_int(row.get("disposition_quarantine")),
            disposition_reject=_int(row.get("disposition_reject")),
            test_mode_reason_messages=_int(row.get("test_mode_reason_messages")),
            full_policy_messages=_int(row.get("full_policy_messages")),
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "reporter": self.reporter,
            "published_p": self.published_p,
            "messages": self.messages,
            "failing_messages": self.failing_messages,
            "dispositions": {
                "none": self.disposition_none,
                "quarantine": self.disposition_quarantine,
                "reject": self.disposition_reject,
            },
            "policy_test_mode_messages": self.test_mode_reason_messages,
            "full_policy_messages": self.full_policy_messages,
            "honoured": self.honoured,
        }


@dataclass(frozen=True)
class PlanFacts:
    """A domain's measured facts over the window."""

    domain: str
    published: PublishedPolicy | None
    messages: int
    reporters: int
    policy_days: int
    """Days (report begin dates) in the window on which the latest published policy was seen."""
    senders: tuple[SenderFacts, ...]
    test_mode: tuple[TestModeEvidence, ...] = ()

    @property
    def forwarded_messages(self) -> int:
        return sum(sender.forwarded_messages for sender in self.senders)

    def with_fixes(self, fixes: Mapping[str, tuple[str | None, str | None]]) -> PlanFacts:
        """The same facts with each sender's (fix, setup_url) from the sender rules where the rows have none.

        The classifier gives a service's fix only to its failing records; a sender that passes on SPF alone
        still needs it before p=reject.
        """
        senders = tuple(
            replace(sender, fix=sender.fix or known[0], setup_url=sender.setup_url or known[1])
            if (known := fixes.get(sender.sender))
            else sender
            for sender in self.senders
        )
        return replace(self, senders=senders)

    def with_addresses(self, rua: str | None, ruf: str | None = None) -> PlanFacts:
        """The same facts with the owner's rua (and ruf), which reports never show, for the next record."""
        published = (self.published or PublishedPolicy(p=None)).with_addresses(rua, ruf)
        return replace(self, published=published)


def facts_from_rows(
    domain: str,
    plan_rows: Iterable[Mapping[str, object]],
    evidence_rows: Iterable[Mapping[str, object]] = (),
) -> PlanFacts:
    """The facts of `domain` from policy_plan rows (and test_mode_evidence rows); other domains ignored."""
    wanted = domain.strip().lower().rstrip(".")
    rows = [row for row in plan_rows if str(row.get("policy_domain") or "").lower() == wanted]
    first = rows[0] if rows else {}
    return PlanFacts(
        domain=wanted,
        published=PublishedPolicy.from_row(first) if rows else None,
        messages=_int(first.get("domain_messages")),
        reporters=_int(first.get("domain_reporters")),
        policy_days=_int(first.get("policy_days")),
        senders=tuple(SenderFacts.from_row(row) for row in rows),
        test_mode=evidence_from_rows(domain, evidence_rows),
    )


def evidence_from_rows(domain: str, rows: Iterable[Mapping[str, object]]) -> tuple[TestModeEvidence, ...]:
    wanted = domain.strip().lower().rstrip(".")
    return tuple(
        TestModeEvidence.from_row(row)
        for row in rows
        if str(row.get("policy_domain") or "").lower() == wanted and str(row.get("testing") or "y") == "y"
    )
