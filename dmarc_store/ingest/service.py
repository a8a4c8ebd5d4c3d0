"""The ingest service: one input object in, a result out. Shared by the Lambda and the CLI.

    bytes --unpack--> XML documents --parse--> report rows --store, exactly once--> stored
                  \\--> refused pieces ------------------------------------------> quarantine

Bad input is not an error: it is quarantined with its reason and the call returns normally.
A `TransientStoreError` (throttling, another worker holding the report) propagates, so the caller
retries the whole object; every write is idempotent, so a retry adds nothing twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dmarc_model.errors import InputRefused
from dmarc_model.limits import Limits
from dmarc_model.prepare import PreparedReport, prepare_report
from dmarc_model.unpack import unpack
from dmarc_store.backends.base import Claim, ClaimOutcome, Store
from dmarc_store.errors import ReportBusy

CONFLICT = "conflict"
RECORD_ERROR = "record-error"


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
    message_total: int
    location: str


@dataclass
class IngestResult:
    source_key: str
    reports: list[StoredReport] = field(default_factory=list)
    quarantined: list[Quarantine] = field(default_factory=list)
    quarantine_keys: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for report in self.reports if report.outcome == outcome)

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
    def records(self) -> int:
        return sum(report.record_count for report in self.reports if report.outcome == "new")

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source_key,
            "new": self.new,
            "duplicate": self.duplicate,
            "conflict": self.conflict,
            "quarantined": len(self.quarantined),
            "reports": [report.__dict__ for report in self.reports],
            "refused": [piece.__dict__ for piece in self.quarantined],
        }


class IngestService:
    """Unpack, parse and store one input object exactly once, through any `Store`."""

    def __init__(
        self, store: Store, *, limits: Limits | None = None, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.store = store
        self.limits = limits or Limits()
        self.clock = clock or (lambda: datetime.now(UTC))

    def ingest_key(self, source_key: str) -> IngestResult:
        """Ingest an object the store can read by key (an S3 key, a path in the local store)."""
        return self.ingest(source_key, self.store.read_source(source_key))

    def ingest(self, source_key: str, data: bytes | Path) -> IngestResult:
        result = IngestResult(source_key)
        conflicts: dict[str, list[str]] = {}
        rejected: list[dict[str, Any]] = []
        for found in unpack(data, limits=self.limits, name=source_key):
            if isinstance(found, InputRefused):
                result.quarantined.append(Quarantine(found.reason, found.detail, found.location))
                continue
            try:
                prepared = prepare_report(found, source_key, self.clock())
            except InputRefused as refused:
                result.quarantined.append(Quarantine(refused.reason, refused.detail, refused.location))
                continue
            stored = self._store(prepared, found.location, conflicts)
            result.reports.append(stored)
            if prepared.rejected and stored.outcome == "new":
                kept_aside = [record.model_dump() for record in prepared.rejected]
                rejected.append({"report_key": prepared.report_key, "records": kept_aside})
        self._quarantine(result, data, conflicts, rejected)
        return result

    def _store(
        self, prepared: PreparedReport, location: str, conflicts: dict[str, list[str]]
    ) -> StoredReport:
        claim = self.store.claim(prepared)
        if claim.outcome is ClaimOutcome.BUSY:
            raise ReportBusy(f"report {prepared.report_key} is being written by another worker")
        if claim.outcome in (ClaimOutcome.NEW, ClaimOutcome.RESUME):
            self._write_and_complete(prepared, claim)
            outcome = "new"
        elif claim.outcome is ClaimOutcome.DUPLICATE:
            outcome = "duplicate"
        else:
            outcome = CONFLICT
            conflicts.setdefault(prepared.report_key, []).append(claim.existing_source or "?")
        row = prepared.report
        return StoredReport(
            report_key=prepared.report_key,
            outcome=outcome,
            org_name=row["org_name"],
            report_id=row["report_id"],
            policy_domain=row["policy_domain"],
            dt=prepared.dt,
            record_count=row["record_count"],
            message_total=row["message_total"],
            location=location,
        )

    def _write_and_complete(self, prepared: PreparedReport, claim: Claim) -> None:
        try:
            self.store.write(prepared, claim)
            self.store.complete(prepared, claim)
        except BaseException:
            with contextlib.suppress(Exception):  # best effort: otherwise the lease runs out by itself
                self.store.release(prepared, claim)
            raise

    def _quarantine(
        self,
        result: IngestResult,
        data: bytes | Path,
        conflicts: dict[str, list[str]],
        rejected: list[dict[str, Any]],
    ) -> None:
        by_reason: dict[str, list[dict[str, Any]]] = {}
        for piece in result.quarantined:
            by_reason.setdefault(piece.reason, []).append(
                {"detail": piece.detail, "location": piece.location}
            )
        for key, sources in conflicts.items():
            stored_from = ", ".join(sources)
            detail = f"report {key} is already stored from {stored_from} with other content; the first stands"
            result.quarantined.append(Quarantine(CONFLICT, detail, result.source_key))
            by_reason.setdefault(CONFLICT, []).append(
                {"detail": detail, "report_key": key, "stored_from": sources}
            )
        if rejected:
            by_reason[RECORD_ERROR] = rejected
        if not by_reason:
            return
        raw = data.read_bytes() if isinstance(data, Path) else data
        stored_keys = [report.report_key for report in result.reports]
        for reason, pieces in by_reason.items():
            sidecar = {
                "reason": reason,
                "detail": str(pieces[0].get("detail", f"{len(pieces)} report(s) with records kept aside")),
                "source": result.source_key,
                "report_keys": stored_keys,
                "pieces": pieces,
            }
            result.quarantine_keys.append(
                self.store.quarantine(reason=reason, source_key=result.source_key, data=raw, sidecar=sidecar)
            )
