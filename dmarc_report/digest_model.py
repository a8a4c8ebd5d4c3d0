"""What the weekly digest says, as frozen dataclasses: the period, and per domain its week in numbers, its
top senders, its open incidents and the changes of the week, and its policy plan; and, when the store has
SMTP TLS reports (RFC 8460) of the two weeks, per policy domain the week's TLS sessions.

``Digest`` is the whole of it; the renderers (``dmarc_report.digest_render``) read nothing else. A week
with no report is the alarm the digest exists for: ``DomainDigest.silent`` and ``Digest.silent`` say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dmarc_model.alerts import Incident
from dmarc_model.plan import Plan
from dmarc_model.timestamps import ISO_Z_FORMAT

__all__ = [
    "NOTIFIED_CHANGES",
    "PIPELINE",
    "ChangeLine",
    "Digest",
    "DomainDigest",
    "SenderLine",
    "TlsFailureCount",
    "TlsLine",
    "TlsWeek",
    "Week",
]

PIPELINE = "*"
"""The domain of the pipeline's own incidents (alert rule 7)."""
NOTIFIED_CHANGES = ("opened", "escalated", "resolved")
"""The changes a digest lists (an update that notified nobody is not news)."""


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Week:
    """One domain's week: its mail, and the reports that told of it (the heartbeat)."""

    messages: int = 0
    passed: int = 0
    reports: int = 0
    reporters: int = 0

    @property
    def pass_share(self) -> float | None:
        return share(self.passed, self.messages)


@dataclass(frozen=True)
class SenderLine:
    """A sender of the week (a service, your servers, a forwarder, unknown) and its mail."""

    sender: str
    name: str
    category: str
    messages: int
    passed: int

    @property
    def pass_share(self) -> float | None:
        return share(self.passed, self.messages)


@dataclass(frozen=True)
class TlsWeek:
    """One policy domain's TLS sessions in a week, as the SMTP TLS reports count them."""

    successful: int = 0
    failed: int = 0
    reports: int = 0

    @property
    def sessions(self) -> int:
        return self.successful + self.failed

    @property
    def success_share(self) -> float | None:
        return share(self.successful, self.sessions)


@dataclass(frozen=True)
class TlsFailureCount:
    result_type: str
    failed: int


@dataclass(frozen=True)
class TlsLine:
    """A policy domain of the SMTP TLS reports: this week's sessions against the week before's."""

    domain: str
    this_week: TlsWeek
    week_before: TlsWeek
    failure_types: tuple[TlsFailureCount, ...] = ()
    """This week's result types with the most failed sessions, most first."""

    @property
    def silent(self) -> bool:
        """No TLS report this week, though the week before had some."""
        return self.this_week.reports == 0

    @property
    def success_change(self) -> float | None:
        """This week's success share minus the week before's, in percentage points."""
        now, before = self.this_week.success_share, self.week_before.success_share
        return None if now is None or before is None else (now - before) * 100


@dataclass(frozen=True)
class ChangeLine:
    """An incident opened, escalated or resolved during the week (a line of the change log)."""

    at: datetime
    kind: str
    incident: Incident
    message: str

    @classmethod
    def from_logged(cls, row: Mapping[str, Any]) -> ChangeLine:
        """From a line of the incident state's change log (``Change.to_dict()`` plus ``at``)."""
        at = datetime.strptime(str(row["at"]), ISO_Z_FORMAT).replace(tzinfo=UTC)
        return cls(at, str(row["change"]), Incident.from_dict(row), str(row.get("message") or ""))


@dataclass(frozen=True)
class DomainDigest:
    domain: str
    this_week: Week
    week_before: Week
    reporter_names: tuple[str, ...] = ()
    """This week's reporters, by name."""
    senders: tuple[SenderLine, ...] = ()
    """This week's biggest senders, biggest first."""
    incidents: tuple[Incident, ...] = ()
    """Open now."""
    changes: tuple[ChangeLine, ...] = ()
    """Opened, escalated or resolved this week, oldest first."""
    plan: Plan | None = None

    @property
    def silent(self) -> bool:
        """No report at all this week: a DNS record, a receiver or the pipeline broke."""
        return self.this_week.reports == 0

    @property
    def pass_change(self) -> float | None:
        """This week's pass share minus the week before's, in percentage points."""
        now, before = self.this_week.pass_share, self.week_before.pass_share
        return None if now is None or before is None else (now - before) * 100

    @property
    def heartbeat(self) -> str:
        week = self.this_week
        if self.silent:
            return "NO REPORTS this week: no receiver reported on this domain"
        reports = "1 report" if week.reports == 1 else f"{week.reports:,} reports"
        reporters = "1 reporter" if week.reporters == 1 else f"{week.reporters:,} reporters"
        return f"{reports} from {reporters} this week"


@dataclass(frozen=True)
class Digest:
    first_day: date
    last_day: date
    """The period: the 7 whole UTC days before ``generated_at``'s day, both ends included."""
    generated_at: datetime
    domains: tuple[DomainDigest, ...]
    pipeline_incidents: tuple[Incident, ...] = ()
    """Open incidents of the pipeline's own health (domain ``*``)."""
    pipeline_changes: tuple[ChangeLine, ...] = ()
    plan_days: int = 30
    tls: tuple[TlsLine, ...] = ()
    """SMTP TLS per policy domain with TLS reports this week or the week before, busiest first; () none."""

    @property
    def week_before_first_day(self) -> date:
        return self.first_day - timedelta(days=(self.last_day - self.first_day).days + 1)

    @property
    def reports(self) -> int:
        return sum(domain.this_week.reports for domain in self.domains)

    @property
    def reporters(self) -> int:
        """Distinct reporters this week, over every domain."""
        return len({name for domain in self.domains for name in domain.reporter_names})

    @property
    def messages(self) -> int:
        return sum(domain.this_week.messages for domain in self.domains)

    @property
    def pass_share(self) -> float | None:
        return share(sum(domain.this_week.passed for domain in self.domains), self.messages)

    @property
    def silent(self) -> bool:
        """No report at all this week, for any domain."""
        return self.reports == 0

    @property
    def open_incidents(self) -> int:
        return len(self.pipeline_incidents) + sum(len(domain.incidents) for domain in self.domains)

    @property
    def changes(self) -> int:
        return len(self.pipeline_changes) + sum(len(domain.changes) for domain in self.domains)
