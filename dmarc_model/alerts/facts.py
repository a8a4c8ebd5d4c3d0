"""The typed rows the alert rules read, from the results of the ``alert_*`` saved queries.

    SenderDay     alert_sender_days:   day x domain x reporter x sender
    SelectorDay   alert_selector_days: day x domain x DKIM signing domain x selector
    ReporterDay   alert_reporter_days: day x domain x reporter x published policy
    TlsDay        alert_tls_days:      day x policy domain of the SMTP TLS reports, with its failures
    PipelineHealth                     the pipeline's own health per day, supplied by the shell

Results may be given as a pyarrow Table or anything else with ``to_pylist()``, or as a list of dicts, so
this module imports no pyarrow and reads no files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

__all__ = [
    "FACT_QUERIES",
    "AlertFacts",
    "HealthDay",
    "PipelineHealth",
    "PublishedPolicy",
    "ReporterDay",
    "SelectorDay",
    "SenderDay",
    "TlsDay",
    "TlsFailure",
    "tls_days",
]

FACT_QUERIES = ("alert_sender_days", "alert_selector_days", "alert_reporter_days", "alert_tls_days")
"""The saved queries whose results ``AlertFacts.from_results`` takes, in its argument order."""


class _HasPylist(Protocol):
    def to_pylist(self) -> list[dict[str, Any]]: ...


Rows = _HasPylist | Iterable[Mapping[str, Any]]


def _rows(result: Rows) -> list[Mapping[str, Any]]:
    if hasattr(result, "to_pylist"):
        return list(result.to_pylist())
    return list(result)


def _day(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _moment(value: object) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _count(value: object) -> int:
    return int(value) if isinstance(value, int | float | str) else 0


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value).strip().lower()


@dataclass(frozen=True)
class SenderDay:
    day: date
    domain: str
    reporter: str
    sender: str
    """A sender id of the classifier (``own``, ``sendgrid``, ``forwarder:gmail``, ``unknown``, ...)."""
    sender_name: str | None
    category: str | None
    """own, service, forwarder, mailbox-provider or unknown (None: not classified)."""
    messages: int
    dmarc_pass: int
    dkim_aligned: int
    spf_aligned: int
    quarantined: int
    """Messages that passed DMARC and were quarantined anyway."""
    rejected: int
    """Messages that passed DMARC and were rejected anyway."""

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SenderDay:
        return cls(
            day=_day(row["dt"]),
            domain=str(row["policy_domain"]).lower(),
            reporter=str(row["reporter"]),
            sender=str(row["sender"]),
            sender_name=row.get("sender_name"),
            category=row.get("sender_category"),
            messages=_count(row["messages"]),
            dmarc_pass=_count(row["dmarc_pass_messages"]),
            dkim_aligned=_count(row["dkim_aligned_messages"]),
            spf_aligned=_count(row["spf_aligned_messages"]),
            quarantined=_count(row["authenticated_quarantined_messages"]),
            rejected=_count(row["authenticated_rejected_messages"]),
        )


@dataclass(frozen=True)
class SelectorDay:
    day: date
    domain: str
    signing_domain: str
    selector: str
    senders: tuple[str, ...]
    own_signing_domain: bool
    """The signing domain is the policy domain, a subdomain or its parent (it can align)."""
    messages: int
    pass_messages: int
    aligned_pass: int

    @property
    def dns_name(self) -> str:
        """Where the selector's key is published: ``s1._domainkey.example.com``."""
        return f"{self.selector}._domainkey.{self.signing_domain}"

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SelectorDay:
        senders = str(row.get("senders") or "")
        return cls(
            day=_day(row["dt"]),
            domain=str(row["policy_domain"]).lower(),
            signing_domain=str(row["signing_domain"] or "").lower(),
            selector=str(row["selector"] or ""),
            senders=tuple(sorted(name for name in senders.split(",") if name)),
            own_signing_domain=bool(row["own_signing_domain"]),
            messages=_count(row["messages"]),
            pass_messages=_count(row["pass_messages"]),
            aligned_pass=_count(row["aligned_pass_messages"]),
        )


@dataclass(frozen=True)
class PublishedPolicy:
    """The policy a report says was published, with RFC 7489 / RFC 9989 defaults filled in."""

    p: str | None
    sp: str | None = None
    np: str | None = None
    t: str | None = None
    adkim: str | None = None
    aspf: str | None = None
    pct: int | None = None

    def normalized(self) -> PublishedPolicy:
        """sp defaults to p, np to sp, t to n, adkim and aspf to r, pct to 100: an omitted tag is the same."""
        sp = self.sp or self.p
        return PublishedPolicy(
            p=self.p,
            sp=sp,
            np=self.np or sp,
            t=self.t or "n",
            adkim=self.adkim or "r",
            aspf=self.aspf or "r",
            pct=100 if self.pct is None else self.pct,
        )

    def as_dict(self) -> dict[str, str | int | None]:
        tags = ("p", "sp", "np", "t", "adkim", "aspf", "pct")
        return {tag: getattr(self, tag) for tag in tags}

    def record(self) -> str:
        """As a DMARC record's tags: ``p=none; sp=none; np=none; t=n; adkim=r; aspf=r; pct=100``."""
        return "; ".join(f"{tag}={value}" for tag, value in self.as_dict().items() if value is not None)


@dataclass(frozen=True)
class ReporterDay:
    day: date
    domain: str
    reporter: str
    policy: PublishedPolicy
    reports: int
    messages: int
    last_period_end: datetime
    """The end of the newest report period of that day (UTC)."""

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ReporterDay:
        pct = row.get("published_pct")
        policy = PublishedPolicy(
            p=_text(row.get("published_p")),
            sp=_text(row.get("published_sp")),
            np=_text(row.get("published_np")),
            t=_text(row.get("published_testing")),
            adkim=_text(row.get("published_adkim")),
            aspf=_text(row.get("published_aspf")),
            pct=None if pct is None else int(pct),
        )
        return cls(
            day=_day(row["dt"]),
            domain=str(row["policy_domain"]).lower(),
            reporter=str(row["reporter"]),
            policy=policy,
            reports=_count(row["reports"]),
            messages=_count(row["messages"]),
            last_period_end=_moment(row["last_period_end"]),
        )


@dataclass(frozen=True)
class TlsFailure:
    """Failed sessions of one result type at one receiving MX (a failure detail of the reports)."""

    result_type: str
    """RFC 8460 section 4.3's name (``certificate-expired``, ``sts-policy-fetch-error``, ...), or as
    the reporter wrote it."""
    receiving_mx: str | None
    """None where the reporters name no MX (a policy that could not be fetched)."""
    sessions: int


@dataclass(frozen=True)
class TlsDay:
    """One policy domain's SMTP TLS sessions on one day (the UTC date of the reports' start)."""

    day: date
    domain: str
    successful_sessions: int
    failed_sessions: int
    """From the reports' summaries: every failed session, itemised in ``failures`` or not."""
    enforced_failed_sessions: int
    """Failed under a policy senders enforce (MTA-STS ``enforce``, DANE): mail held back, not delivered."""
    reporters: tuple[str, ...]
    failures: tuple[TlsFailure, ...] = ()
    """The failure details, most sessions first."""

    @property
    def total_sessions(self) -> int:
        return self.successful_sessions + self.failed_sessions


def tls_days(result: Rows) -> tuple[TlsDay, ...]:
    """The rows of ``alert_tls_days`` (a row per day, domain, result type and MX) as one TlsDay a day."""
    grouped: dict[tuple[date, str], list[Mapping[str, Any]]] = {}
    for row in _rows(result):
        grouped.setdefault((_day(row["dt"]), str(row["policy_domain"]).lower()), []).append(row)
    days = []
    for (day, domain), rows in sorted(grouped.items()):
        failures = [
            TlsFailure(
                str(row["result_type"]),
                _text(row["receiving_mx_hostname"]),
                _count(row["detail_failed_sessions"]),
            )
            for row in rows
            if row["result_type"] is not None
        ]
        failures.sort(key=lambda found: (-found.sessions, found.result_type, found.receiving_mx or ""))
        first = rows[0]
        days.append(
            TlsDay(
                day=day,
                domain=domain,
                successful_sessions=_count(first["successful_sessions"]),
                failed_sessions=_count(first["failed_sessions"]),
                enforced_failed_sessions=_count(first["enforced_failed_sessions"]),
                reporters=tuple(sorted(name for name in str(first["reporters"] or "").split(",") if name)),
                failures=tuple(failures),
            )
        )
    return tuple(days)


@dataclass(frozen=True)
class HealthDay:
    day: date
    quarantined_inputs: int = 0
    """Input objects refused into quarantine/ on that day."""
    conflicts: int = 0
    """Reports refused as conflicts (same identity, other content) on that day."""


@dataclass(frozen=True)
class PipelineHealth:
    """The pipeline's own health per day; the shell counts it (quarantine notes, the conflicts table)."""

    days: tuple[HealthDay, ...] = ()

    @classmethod
    def from_counts(
        cls, quarantined: Mapping[date, int] | None = None, conflicts: Mapping[date, int] | None = None
    ) -> PipelineHealth:
        quarantined, conflicts = quarantined or {}, conflicts or {}
        days = sorted(set(quarantined) | set(conflicts))
        return cls(tuple(HealthDay(day, quarantined.get(day, 0), conflicts.get(day, 0)) for day in days))

    def before(self, today: date) -> PipelineHealth:
        return PipelineHealth(tuple(day for day in self.days if day.day < today))


@dataclass(frozen=True)
class AlertFacts:
    senders: tuple[SenderDay, ...] = ()
    selectors: tuple[SelectorDay, ...] = ()
    reporters: tuple[ReporterDay, ...] = ()
    domains: tuple[str, ...] = field(default=())
    """Domains expected to get reports even when none are in the facts (for the heartbeat); optional."""
    health: PipelineHealth = field(default_factory=PipelineHealth)
    """The pipeline's own health (rule 7); ``evaluate`` sets it from its ``health`` argument."""
    tls: tuple[TlsDay, ...] = ()
    """SMTP TLS sessions per policy domain and day (rule 8); none without TLS reports."""

    @classmethod
    def from_results(
        cls, senders: Rows, selectors: Rows, reporters: Rows, tls: Rows = (), domains: Sequence[str] = ()
    ) -> AlertFacts:
        """From the results of the ``FACT_QUERIES``, in that order (``tls`` may be left out: no TLS
        facts); ``domains`` by name."""
        return cls(
            tuple(SenderDay.from_row(row) for row in _rows(senders)),
            tuple(SelectorDay.from_row(row) for row in _rows(selectors)),
            tuple(ReporterDay.from_row(row) for row in _rows(reporters)),
            tuple(sorted({domain.lower() for domain in domains})),
            tls=tls_days(tls),
        )

    def before(self, today: date) -> AlertFacts:
        """Only the days before ``today``: what a clock on ``today`` could have seen."""
        return AlertFacts(
            senders=tuple(row for row in self.senders if row.day < today),
            selectors=tuple(row for row in self.selectors if row.day < today),
            reporters=tuple(row for row in self.reporters if row.day < today),
            domains=self.domains,
            health=self.health.before(today),
            tls=tuple(row for row in self.tls if row.day < today),
        )
