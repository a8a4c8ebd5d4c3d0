"""The published DMARC policy, the ladder of steps to p=reject, and the exact record of the next step.

The ladder (RFC 9989), one step at a time, each held until its gates (`dmarc_model.plan.gates`) are met:

    none             p=none                   monitor only
    quarantine_test  p=quarantine; t=y        test mode: receivers apply one level lower (none) and say so
                                              with the override reason policy_test_mode (RFC 9990)
    quarantine       p=quarantine             failing mail goes to spam
    reject           p=reject                 failing mail is refused; the last step

Where a published policy stands on it: p=quarantine with t=y (or with pct=0, RFC 7489's way of saying
the same) is the test step; p=reject with t=y is applied as quarantine, so it stands at quarantine;
p=quarantine or p=reject with 0 < pct < 100 stands at its p, since pct is historic under RFC 9989 and its
receivers ignore it (RFC 7489 receivers apply the policy to pct % of the failing mail).

Subdomains: the next record's sp and np follow its p, unless the published one is stricter (kept); np is
RFC 9989's policy for non-existent subdomains (RFC 7489 receivers ignore it and apply sp). The owner's
adkim, aspf, fo, rua and ruf are kept when known (the reports carry adkim, aspf and fo, never rua or ruf).

RFC 7489-only receivers do not know t=y and would apply the test step's p=quarantine to all failing mail.
The plan therefore recommends (``legacy_pct_zero``, on by default) that the test step's record also
carry pct=0: RFC 7489 receivers then apply the next lower policy (none, section 6.6.4), the same as test
mode, and RFC 9989 receivers ignore pct. Every other step's record carries no pct (RFC 7489's default,
100, and what RFC 9989 receivers apply anyway), so both kinds of receiver read it alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

__all__ = [
    "LADDER",
    "POLICIES",
    "NextRecord",
    "PublishedPolicy",
    "Step",
    "current_step",
    "next_step",
    "stricter",
]

POLICIES = ("none", "quarantine", "reject")
"""From least to most strict."""


def _token(value: object) -> str | None:
    text = str(value).strip().lower() if value is not None else ""
    return text or None


def _policy(value: object) -> str | None:
    token = _token(value)
    return token if token in POLICIES else None


def _pct(value: object) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _uris(addresses: str | None) -> str | None:
    """'a@x.example, mailto:b@y.example' as 'mailto:a@x.example,mailto:b@y.example'."""
    items = [item.strip() for item in (addresses or "").split(",") if item.strip()]
    return ",".join(item if ":" in item else f"mailto:{item}" for item in items) or None


def stricter(first: str | None, second: str | None) -> str | None:
    """The stricter of two policies (None when neither is known)."""
    known = [policy for policy in (first, second) if policy in POLICIES]
    return max(known, key=POLICIES.index) if known else None


@dataclass(frozen=True)
class PublishedPolicy:
    """A domain's DMARC policy as the reports show it (their policy_published), plus what the owner knows."""

    p: str | None
    sp: str | None = None
    np: str | None = None
    pct: int | None = None
    testing: str | None = None
    """t: 'y' (test mode) or 'n'; None when the reports do not say (RFC 7489 reports never do)."""
    adkim: str | None = None
    aspf: str | None = None
    fo: str | None = None
    rua: str | None = None
    """Not in the reports: given by the owner (or the settings) to be kept in the next record."""
    ruf: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, object]) -> PublishedPolicy:
        """From a row with the reports' columns (published_p, published_sp, ... published_testing)."""
        return cls(
            p=_policy(row.get("published_p")),
            sp=_policy(row.get("published_sp")),
            np=_policy(row.get("published_np")),
            pct=_pct(row.get("published_pct")),
            testing=_token(row.get("published_testing")),
            adkim=_token(row.get("published_adkim")),
            aspf=_token(row.get("published_aspf")),
            fo=_token(row.get("published_fo")),
        )

    def with_addresses(self, rua: str | None, ruf: str | None = None) -> PublishedPolicy:
        """The same policy with the owner's report addresses (kept as they are when None)."""
        return replace(self, rua=_uris(rua) or self.rua, ruf=_uris(ruf) or self.ruf)

    @property
    def test_mode(self) -> bool:
        """t=y, or pct=0 (RFC 7489's equivalent): receivers apply one level lower."""
        return self.testing == "y" or self.pct == 0

    @property
    def pct_historic(self) -> bool:
        """A pct other than 100 is published: historic under RFC 9989, whose receivers ignore it."""
        return self.pct is not None and self.pct != 100

    @property
    def subdomain_policy(self) -> str | None:
        """sp, falling back to p."""
        return self.sp or self.p

    @property
    def nonexistent_policy(self) -> str | None:
        """np, falling back to sp, then p (RFC 9989)."""
        return self.np or self.sp or self.p

    def record(self) -> str:
        """The policy as a DMARC record, in the tag order this package writes (what the reports show)."""
        tags = [("v", "DMARC1"), ("p", self.p or "none")]
        optional = (
            ("t", self.testing),
            ("pct", None if self.pct is None else str(self.pct)),
            ("sp", self.sp),
            ("np", self.np),
        )
        tags.extend((key, value) for key, value in optional if value is not None)
        tags.extend(_kept_tags(self))
        return "; ".join(f"{key}={value}" for key, value in tags)

    def to_dict(self) -> dict[str, object]:
        return {
            "p": self.p,
            "sp": self.sp,
            "np": self.np,
            "pct": self.pct,
            "t": self.testing,
            "adkim": self.adkim,
            "aspf": self.aspf,
            "fo": self.fo,
            "record": self.record(),
            "test_mode": self.test_mode,
            "pct_historic": self.pct_historic,
        }


def _kept_tags(policy: PublishedPolicy) -> list[tuple[str, str]]:
    """The owner's tags a new record keeps: strict alignment, fo, rua, ruf (defaults are left out)."""
    tags = [(key, "s") for key in ("adkim", "aspf") if getattr(policy, key) == "s"]
    if policy.fo and policy.fo != "0":
        tags.append(("fo", policy.fo))
    tags.extend((key, value) for key, value in (("rua", policy.rua), ("ruf", policy.ruf)) if value)
    return tags


@dataclass(frozen=True)
class Step:
    name: str
    p: str
    test_mode: bool
    about: str

    @property
    def label(self) -> str:
        """'p=quarantine; t=y'."""
        return f"p={self.p}; t=y" if self.test_mode else f"p={self.p}"


LADDER = (
    Step("none", "none", False, "monitor: receivers only report"),
    Step(
        "quarantine_test",
        "quarantine",
        True,
        "test mode: receivers apply one level lower (none) and report the override reason policy_test_mode",
    ),
    Step("quarantine", "quarantine", False, "failing mail goes to spam"),
    Step("reject", "reject", False, "failing mail is refused"),
)
_BY_NAME = {step.name: step for step in LADDER}


def current_step(published: PublishedPolicy | None) -> Step | None:
    """Where a published policy stands on the ladder (None: no policy seen)."""
    if published is None or published.p is None:
        return None
    if published.p == "none":
        return _BY_NAME["none"]
    if published.p == "quarantine":
        return _BY_NAME["quarantine_test" if published.test_mode else "quarantine"]
    return _BY_NAME["quarantine" if published.test_mode else "reject"]


@dataclass(frozen=True)
class NextRecord:
    """The step to publish next and its exact TXT value (at `_dmarc.<domain>`)."""

    step: Step
    record: str
    policy: PublishedPolicy
    notes: tuple[str, ...]
    final: bool
    """The published policy is the last step already: the record is the one to keep."""


def next_step(published: PublishedPolicy | None, *, legacy_pct_zero: bool = True) -> NextRecord:
    """The next step after `published` (p=none when no policy is seen yet) and its record."""
    current = current_step(published)
    position = -1 if current is None else LADDER.index(current)
    step = LADDER[min(position + 1, len(LADDER) - 1)]
    base = published or PublishedPolicy(p=None)
    policy = PublishedPolicy(
        p=step.p,
        sp=stricter(step.p, base.sp),
        np=stricter(step.p, base.np),
        pct=0 if step.test_mode and legacy_pct_zero else None,
        testing="y" if step.test_mode else None,
        adkim=base.adkim,
        aspf=base.aspf,
        fo=base.fo,
        rua=base.rua,
        ruf=base.ruf,
    )
    final = current is not None and current.name == "reject"
    notes = _notes(base, step, legacy_pct_zero=legacy_pct_zero)
    return NextRecord(step=step, record=policy.record(), policy=policy, notes=notes, final=final)


def _notes(published: PublishedPolicy, step: Step, *, legacy_pct_zero: bool) -> tuple[str, ...]:
    notes: list[str] = []
    if published.pct_historic:
        notes.append(
            f"The published pct={published.pct} is historic under RFC 9989: its receivers ignore pct and"
            " apply p= to all failing mail (RFC 7489 receivers apply it to that share only)."
            + ("" if step.test_mode and legacy_pct_zero else " The next record leaves it out.")
        )
    notes.append(_legacy_note(step, legacy_pct_zero=legacy_pct_zero))
    if published.sp and published.sp != step.p and stricter(published.sp, step.p) == published.sp:
        notes.append(f"The published sp={published.sp} is stricter than this step and is kept.")
    notes.append(
        "np is RFC 9989's policy for non-existent subdomains; RFC 7489-only receivers ignore it and apply sp."
    )
    if published.rua is None:
        notes.append(
            "The reports do not show your rua= (nor ruf=): add your current ones to this record, or the"
            " reports stop."
        )
    return tuple(notes)


def _legacy_note(step: Step, *, legacy_pct_zero: bool) -> str:
    if not step.test_mode:
        return (
            "RFC 7489-only receivers read this record as RFC 9989 receivers do: it has no t= and no pct="
            " (pct defaults to 100)."
        )
    if legacy_pct_zero:
        return (
            "t=y is new in RFC 9989: RFC 7489-only receivers ignore it and would quarantine all failing mail."
            " The record therefore also carries pct=0, which they read as the same test mode (the next lower"
            " policy, none: RFC 7489 section 6.6.4); RFC 9989 receivers ignore pct."
            " Drop both at the next step."
        )
    return (
        "t=y is new in RFC 9989: RFC 7489-only receivers ignore it and apply p=quarantine to all failing mail"
        " (this plan was asked not to add pct=0 for them)."
    )
