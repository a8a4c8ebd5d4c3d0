"""Ingesting many input objects: one service call each, retries of transient failures, a summary."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from dmarc_cli.sources import Source
from dmarc_store.errors import IngestIncomplete, TransientStoreError
from dmarc_store.ingest.service import IngestResult, IngestService

RETRY_SECONDS = 120.0
"""How long to keep retrying one object whose failures are transient (throttling, a ReportBusy)."""


@dataclass
class BatchSummary:
    files: int = 0
    new: int = 0
    duplicate: int = 0
    conflict: int = 0
    records: int = 0
    tls_reports: int = 0
    """SMTP TLS reports (RFC 8460) newly stored: also counted in `new`."""
    failure_reports: int = 0
    """DMARC failure reports (RUF) newly stored, privately (fields and hashes only)."""
    quarantined: Counter[str] = field(default_factory=Counter)
    failed: list[dict[str, str]] = field(default_factory=list)

    def add(self, result: IngestResult) -> None:
        self.files += 1
        self.new += result.new
        self.duplicate += result.duplicate
        self.conflict += result.conflict
        self.records += result.records
        self.tls_reports += result.new_tls
        self.failure_reports += sum(1 for failure in result.failures if failure.outcome == "new")
        self.quarantined.update(piece.reason for piece in result.quarantined)

    def as_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "new": self.new,
            "duplicate": self.duplicate,
            "conflict": self.conflict,
            "quarantined": sum(self.quarantined.values()),
            "quarantine_reasons": dict(sorted(self.quarantined.items())),
            "records": self.records,
            "tls_reports": self.tls_reports,
            "failure_reports": self.failure_reports,
            "failed": self.failed,
        }


def ingest_sources(
    service: IngestService,
    sources: Iterable[Source],
    *,
    on_result: Callable[[Source, IngestResult | None], None] = lambda source, result: None,
    retry_seconds: float = RETRY_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> BatchSummary:
    """Ingest each source; a transient failure is retried, a persistent one is listed, never fatal."""
    summary = BatchSummary()
    for source in sources:
        result = _ingest_one(service, source, summary, retry_seconds, sleep)
        if result is not None:
            summary.add(result)
        on_result(source, result)
    return summary


def _ingest_one(
    service: IngestService,
    source: Source,
    summary: BatchSummary,
    retry_seconds: float,
    sleep: Callable[[float], None],
) -> IngestResult | None:
    """One object, retried while its failures are transient; any other failure is listed, never fatal."""
    deadline = time.monotonic() + retry_seconds
    delay = 0.05
    earlier: IngestResult | None = None
    while True:
        try:
            return _merged(earlier, service.ingest(source.key, source.read()))
        except IngestIncomplete as incomplete:
            earlier = _merged(earlier, incomplete.result)
            if not incomplete.retryable or time.monotonic() + delay > deadline:
                summary.failed.append({"source": source.key, "error": str(incomplete)})
                return earlier  # what was stored of it counts
        except TransientStoreError as error:
            if time.monotonic() + delay > deadline:
                summary.failed.append({"source": source.key, "error": str(error)})
                return earlier
        except OSError as error:
            summary.failed.append({"source": source.key, "error": error.strerror or str(error)})
            return None
        except Exception as error:  # a permanent store error, or a bug reading the source: go on
            summary.failed.append({"source": source.key, "error": f"{type(error).__name__}: {error}"})
            return earlier
        sleep(delay)
        delay = min(delay * 2, 2.0)


def _merged(earlier: IngestResult | None, later: IngestResult) -> IngestResult:
    """The retry's result, with the reports an earlier attempt stored still counted as new."""
    if earlier is None:
        return later
    stored_new = {report.report_key for report in earlier.reports if report.outcome == "new"}
    later.reports = [
        replace(report, outcome="new") if report.report_key in stored_new else report
        for report in later.reports
    ]
    retried = {report.report_key for report in later.reports}
    later.reports += [report for report in earlier.reports if report.report_key not in retried]
    return later
