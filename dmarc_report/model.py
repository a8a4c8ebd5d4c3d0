"""What the page shows, as frozen dataclasses: the options, the numbers per domain, source and reporter.

``ReportData`` is the whole of it; ``render_html`` reads nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from dmarc_model.plan import Plan
from dmarc_report.tls_model import TlsSection

__all__ = [
    "DayCount",
    "DomainReport",
    "FailingSource",
    "FixSource",
    "Overview",
    "ReportData",
    "ReportOptions",
    "ReporterVolume",
    "SenderVolume",
    "SourceVolume",
    "StoredDomain",
]


@dataclass(frozen=True)
class ReportOptions:
    days: int | None = 30
    """How many days back from today (UTC), as in the saved queries; None: everything in the store."""
    domain: str | None = None
    """Policy domain, a LIKE pattern (``%.example.com``); None: every domain."""

    def __post_init__(self) -> None:
        if self.days is not None and self.days < 1:
            raise ValueError(f"days must be 1 or more, got {self.days}")


@dataclass(frozen=True)
class StoredDomain:
    domain: str
    reports: int
    first_day: date
    last_day: date


@dataclass(frozen=True)
class DayCount:
    day: date
    messages: int
    passed: int
    quarantined: int
    rejected: int

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.messages if self.messages else None


@dataclass(frozen=True)
class FixSource:
    """A failing source of a domain, in the order enforcement_readiness says to look at them."""

    source_ip: str
    failing_messages: int
    share_of_failures: float | None
    failure_categories: str
    action: str

    @property
    def fix_first(self) -> bool:
        """It authenticates (for some other domain): probably yours or a service of yours."""
        return self.action.startswith("fix first")


@dataclass(frozen=True)
class DomainReport:
    domain: str
    current_policy: str
    messages: int
    failing: int
    would_fail_share: float
    legitimate_fail_share: float
    readiness: str
    fix_sources: tuple[FixSource, ...]
    days: tuple[DayCount, ...] = ()

    @property
    def passed(self) -> int:
        return self.messages - self.failing

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.messages if self.messages else None

    @property
    def unauthenticated_fail_share(self) -> float:
        return max(self.would_fail_share - self.legitimate_fail_share, 0.0)

    @property
    def quarantined(self) -> int:
        return sum(d.quarantined for d in self.days)

    @property
    def rejected(self) -> int:
        return sum(d.rejected for d in self.days)


@dataclass(frozen=True)
class SourceVolume:
    domain: str
    source_ip: str
    messages: int
    envelope_from: str
    by_category: Mapping[str, int]

    @property
    def pass_rate(self) -> float | None:
        return self.by_category.get("pass", 0) / self.messages if self.messages else None


@dataclass(frozen=True)
class FailingSource:
    domain: str
    source_ip: str
    failed: int
    messages: int
    fail_rate: float | None
    categories: str
    envelope_from: str
    reporters: str


@dataclass(frozen=True)
class ReporterVolume:
    reporter: str | None
    domain: str
    reports: int
    messages: int
    pass_rate: float | None
    emails: str


@dataclass(frozen=True)
class Overview:
    reports: int = 0
    sources: int = 0
    reporters: int = 0
    messages: int = 0
    passed: int = 0

    @property
    def failing(self) -> int:
        return self.messages - self.passed

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.messages if self.messages else None


@dataclass(frozen=True)
class SenderVolume:
    """One sender (a service, your own servers, a forwarder, a platform, unknown) and its mail."""

    sender: str
    name: str
    category: str
    confidence: str
    messages: int
    dmarc_pass_share: float | None
    source_ips: int
    dkim_selectors: str
    failing: int
    fix: str
    setup_url: str
    failure_samples: int = 0
    """DMARC failure reports (RUF) from its source IPs, domains and days in the window (fields only)."""

    @property
    def identified(self) -> bool:
        return self.category in ("service", "own", "forwarder")


@dataclass(frozen=True)
class ReportData:
    options: ReportOptions
    where: str
    """The store the numbers come from, in words (a folder, or Athena's database)."""
    generated_at: datetime
    first_day: date
    """The first day of the window (for --days all: the first day with a report)."""
    last_day: date
    stored: tuple[StoredDomain, ...]
    overview: Overview = field(default_factory=Overview)
    domains: tuple[DomainReport, ...] = ()
    sources: tuple[SourceVolume, ...] = ()
    failing: tuple[FailingSource, ...] = ()
    reporters: tuple[ReporterVolume, ...] = ()
    senders: tuple[SenderVolume, ...] = ()
    plans: tuple[Plan, ...] = ()
    """The policy plan of each domain of ``domains`` (dmarc_model.plan), in the same order."""
    tls: TlsSection | None = None
    """The SMTP TLS reports of the period (dmarc_report.tls_model); None when there are none."""

    @property
    def identified_share(self) -> float | None:
        """The share of the mail whose sender is named: a service, your own servers or a forwarder."""
        total = sum(sender.messages for sender in self.senders)
        return sum(s.messages for s in self.senders if s.identified) / total if total else None

    @property
    def empty(self) -> bool:
        return self.overview.messages == 0 and not self.domains

    @property
    def stored_reports(self) -> int:
        return sum(domain.reports for domain in self.stored)
