"""What one ingest call says: the reports stored (new, duplicate, conflict), the pieces quarantined and
the reports that failed (a transient store error, to retry; or an internal error, a bug)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dmarc_store.errors import StoreError, TransientStoreError, WriteDeferred

CONFLICT = "conflict"
AGGREGATE = "aggregate"
"""The kind of a DMARC aggregate report (RUA, RFC 9990)."""
TLSRPT = "tlsrpt"
"""The kind of an SMTP TLS report (RFC 8460)."""
RECORD_ERROR = "record-error"
INTERNAL_ERROR = "internal-error"
"""The quarantine reason of a piece that met an unexpected exception (a bug): its sidecar holds the
traceback. Never a refusal of the input: the object is retried, the run goes on."""


@dataclass(frozen=True)
class Quarantine:
    """A refused piece of an input, with the stable reason and what was found around it."""

    reason: str
    detail: str
    location: str


@dataclass(frozen=True)
class StoredReport:
    """What became of one report found in the input."""

    report_key: str
    outcome: str
    """new, duplicate or conflict (a resumed first attempt counts as new)."""
    org_name: str | None
    report_id: str
    policy_domain: str
    dt: str
    record_count: int
    """A DMARC report's records; a TLS report's policies."""
    message_total: int
    """A DMARC report's messages; a TLS report's sessions (successful and failed)."""
    location: str
    kind: str = AGGREGATE
    """aggregate (DMARC) or tlsrpt (SMTP TLS)."""


@dataclass(frozen=True)
class StoredFailure:
    """What became of one failure report (RUF) found in the input: no value of the original message."""

    failure_key: str
    outcome: str
    """new or duplicate."""
    reported_domain: str | None
    source_ip: str | None
    dt: str


@dataclass
class IngestResult:
    source_key: str
    reports: list[StoredReport] = field(default_factory=list)
    quarantined: list[Quarantine] = field(default_factory=list)
    quarantine_keys: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    """Reports (or the rest of the input) that could not be stored this time; the others were."""
    failures: list[StoredFailure] = field(default_factory=list)
    """Failure reports (RUF) stored, privately: fields and hashes (dmarc_store.ingest.failures)."""
    failure_found: bool = False
    """The input holds a failure report (stored or not): its raw bytes go to ruf-raw/, never quarantine/."""
    ruf_raw_key: str | None = None

    def count(self, outcome: str, kind: str | None = None) -> int:
        """Reports with this outcome (of this kind, if given)."""
        return sum(
            1
            for report in self.reports
            if report.outcome == outcome and (kind is None or report.kind == kind)
        )

    @property
    def new(self) -> int:
        return self.count("new")

    @property
    def duplicate(self) -> int:
        return self.count("duplicate")

    @property
    def conflict(self) -> int:
        return self.count(CONFLICT)

    @property
    def deferred(self) -> int:
        """Reports whose writes ran out of time part way and go on at the next attempt (not failures)."""
        return sum(1 for failure in self.failed if failure.deferred)

    @property
    def records(self) -> int:
        """DMARC records newly stored."""
        return sum(
            report.record_count
            for report in self.reports
            if report.outcome == "new" and report.kind == AGGREGATE
        )

    @property
    def new_tls(self) -> int:
        """SMTP TLS reports newly stored (also counted in `new`)."""
        return self.count("new", TLSRPT)

    def metrics(self) -> dict[str, int]:
        """The counts the ingest Lambda publishes (CloudWatch, namespace DmarcReports); README, Settings."""
        return {
            "ReportsStored": self.count("new", AGGREGATE),
            "RecordsStored": self.records,
            "TlsReportsStored": self.new_tls,
            "FailureReports": sum(1 for failure in self.failures if failure.outcome == "new"),
            "Duplicates": self.duplicate,
            "Quarantined": len(self.quarantined),
            "Conflicts": self.conflict,
            "Failed": len(self.failed) - self.deferred,
            "Deferred": self.deferred,
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source_key,
            "new": self.new,
            "duplicate": self.duplicate,
            "conflict": self.conflict,
            "quarantined": len(self.quarantined),
            "reports": [report.__dict__ for report in self.reports],
            "refused": [piece.__dict__ for piece in self.quarantined],
            "failure_reports": [failure.__dict__ for failure in self.failures],
            "failed": [failure.as_json() for failure in self.failed],
        }


@dataclass(frozen=True)
class Failure:
    """One report, or the rest of an input, that met an error: where, and the error."""

    location: str
    error: BaseException
    traceback: str = ""
    """For an internal error (a bug): the formatted traceback, kept in the quarantine sidecar."""

    @property
    def transient(self) -> bool:
        return isinstance(self.error, TransientStoreError)

    @property
    def internal(self) -> bool:
        return not isinstance(self.error, StoreError)

    @property
    def deferred(self) -> bool:
        return isinstance(self.error, WriteDeferred)

    @property
    def kind(self) -> str:
        """deferred, transient, store-error or internal-error."""
        if self.deferred:
            return "deferred"
        if self.transient:
            return "transient"
        return INTERNAL_ERROR if self.internal else "store-error"

    def as_json(self) -> dict[str, str]:
        return {
            "location": self.location,
            "kind": self.kind,
            "error": f"{type(self.error).__name__}: {self.error}",
        }
