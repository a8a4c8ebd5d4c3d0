"""The ingest service: one input object in, a result out. Shared by the Lambda and the CLI.

    bytes --unpack--> XML documents --parse--> report rows --store, exactly once--> stored
                  \\--> SMTP TLS reports (JSON) --parse--> tls_* rows --the same claim--> stored
                  \\--> failure reports (RUF) --fields, hashes--> failure_reports; raw --> ruf-raw/
                  \\--> refused pieces ------------------------------------------> quarantine

Bad input is not an error: it is quarantined with its reason and the call returns normally.

One report's failure never takes the others down. Each report found in the object is prepared and
stored on its own; an error on one is recorded in `result.failed` and the next is tried:

    a TransientStoreError (throttling, another worker holding the report,    retry the object later
      a WriteDeferred: the deadline came part way through a big report)
    another store error (AWS refused the request)                           retry, then dead-letter
    any other exception (a bug, by definition)                              also quarantined as
                                                                            `internal-error`, with
                                                                            the traceback in its note

A store that remembers inputs (`dmarc_store.ingest.redelivery.SourceMemory`: the local store) answers a
byte-identical redelivery of an input stored cleanly before from there: every report a duplicate, as
the full path would say, without unpacking or parsing.

When anything failed, `ingest` raises IngestIncomplete after storing everything else and writing the
quarantine copies, carrying the result: the Lambda fails the message (SQS retries, then the dead-letter
queue and its alarm), the CLI retries a transient failure and lists any other, and goes on. Every write
is idempotent, so a retry adds nothing twice: what was stored counts as duplicate.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dmarc_model.errors import FailureReportFound, InputRefused, SchemaViolation
from dmarc_model.limits import Limits
from dmarc_model.prepare import PreparedReport, StorableReport, prepare_report
from dmarc_model.tlsrpt import TlsRows, prepare_tls_report
from dmarc_model.unpack import Found, Payload, TlsPayload, unpack
from dmarc_store.backends.base import Claim, ClaimOutcome, Deadline, Store
from dmarc_store.backends.dynamo_items import domain_refusal
from dmarc_store.errors import IngestIncomplete, ReportBusy, StoreError
from dmarc_store.ingest.failures import FailureKeeper
from dmarc_store.ingest.redelivery import SourceMemory, fingerprint, rememberable, replayed, source_digest
from dmarc_store.ingest.results import (
    AGGREGATE,
    CONFLICT,
    INTERNAL_ERROR,
    RECORD_ERROR,
    TLSRPT,
    Failure,
    IngestResult,
    Quarantine,
    StoredReport,
)
from dmarc_store.ingest.spool import SpoolSink
from dmarc_store.retention import OUT_OF_WINDOW, ReportWindow

__all__ = ["IngestResult", "IngestService", "Quarantine", "StoredReport", "source_key_of"]


def source_key_of(key: str, version_id: str | None = None) -> str:
    """How an object is named in the data and the logs: its key, and the S3 version read, if any."""
    return f"{key}?versionId={version_id}" if version_id else key


class IngestService:
    """Unpack, parse and store one input object exactly once, through any `Store`."""

    def __init__(
        self,
        store: Store,
        *,
        limits: Limits | None = None,
        clock: Callable[[], datetime] | None = None,
        window: ReportWindow | None = None,
        spool_dir: Path | None = None,
    ) -> None:
        self.store = store
        self.spool_dir = spool_dir
        """Where a big report's records wait to be stored (dmarc_store.ingest.spool); default: the
        system's temporary folder."""
        self.limits = limits or Limits()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.window = window or ReportWindow()
        """The report dates accepted (dmarc_store.retention): one outside is refused before any write."""
        self.failure_keeper = FailureKeeper(store, self.clock)

    def ingest_key(
        self, key: str, version_id: str | None = None, *, deadline: Deadline | None = None
    ) -> IngestResult:
        """Ingest an object the store reads by key (an S3 key and version, a path in the local store)."""
        data = self.store.read_source(key, version_id)
        return self.ingest(source_key_of(key, version_id), data, deadline=deadline, origin=(key, version_id))

    def ingest(
        self,
        source_key: str,
        data: bytes | Path,
        *,
        deadline: Deadline | None = None,
        origin: tuple[str, str | None] | None = None,
    ) -> IngestResult:
        """Store every report of one object; raises IngestIncomplete (with the result) if any failed.

        With a `deadline` (the Lambda's), a big report's writes may stop part way: `WriteDeferred`, a
        failure of this attempt that the retry continues from where it stopped."""
        memory = self.store if isinstance(self.store, SourceMemory) else None
        if memory is None:
            return self._ingest(source_key, data, deadline, origin)
        digest = source_digest(data)
        again = self._recall(memory, digest, source_key)
        if again is not None:
            return again
        result = self._ingest(source_key, data, deadline, origin)
        remembered = rememberable(result)
        if remembered is not None:
            memory.remember_source(digest, fingerprint(self.limits), remembered)
        return result

    def _ingest(
        self,
        source_key: str,
        data: bytes | Path,
        deadline: Deadline | None,
        origin: tuple[str, str | None] | None,
    ) -> IngestResult:
        """The full way: unpack, parse, claim and store every piece."""
        result = IngestResult(source_key)
        conflicts: dict[str, list[str]] = {}
        rejected: list[dict[str, Any]] = []
        for found in self._pieces(data, result):
            if isinstance(found, FailureReportFound):
                self.failure_keeper.keep(found, result)
                continue
            if isinstance(found, InputRefused):
                result.quarantined.append(Quarantine(found.reason, found.detail, found.location))
                continue
            if isinstance(found, TlsPayload):
                self._ingest_tls(found, result, conflicts, deadline)
                continue
            prepared = self._prepare(found, result)
            if prepared is None:
                continue
            with prepared:  # the spooled rows go once the report is stored
                stored = self._store_guarded(prepared, found.location, conflicts, result, deadline)
            if stored is None:
                continue
            result.reports.append(stored)
            if prepared.rejected and stored.outcome != CONFLICT:  # rewritten on a retry too: idempotent
                kept_aside = [record.model_dump() for record in prepared.rejected]
                rejected.append({"report_key": prepared.report_key, "records": kept_aside})
        self._quarantine(result, data, conflicts, rejected)
        if result.failure_found:
            self.failure_keeper.move_raw(result, _raw(data), origin)
        if result.failed:
            raise IngestIncomplete(result)
        return result

    def _recall(self, memory: SourceMemory, digest: str, source_key: str) -> IngestResult | None:
        """The result of a redelivery of bytes stored cleanly before, if the memory can give it."""
        remembered = memory.recall_source(digest, fingerprint(self.limits))
        if remembered is None:
            return None
        today = self.clock().date()
        return replayed(remembered, source_key, lambda dt: self.window.refusal(dt, today))

    def _pieces(self, data: bytes | Path, result: IngestResult) -> Iterator[Found]:
        """The pieces of the object; an unexpected error inside unpacking ends it as an internal error."""
        try:
            yield from unpack(data, limits=self.limits, name=result.source_key)
        except Exception as error:  # a bug in unpacking: what was found before it still counts
            result.failed.append(Failure(result.source_key, error, traceback.format_exc()))

    def _prepare(self, found: Payload, result: IngestResult) -> PreparedReport | None:
        try:
            now = self.clock()
            prepared = prepare_report(found, result.source_key, now, sink=SpoolSink(self.spool_dir))
            refusal = self.window.refusal(prepared.dt, now.date())
            too_long = domain_refusal(prepared.report["policy_domain"])
            if refusal is None and too_long is None:
                return prepared
            prepared.close()
            if refusal is not None:
                result.quarantined.append(Quarantine(OUT_OF_WINDOW, refusal, found.location))
            else:
                result.quarantined.append(Quarantine(SchemaViolation.reason, str(too_long), found.location))
        except InputRefused as refused:
            result.quarantined.append(Quarantine(refused.reason, refused.detail, refused.location))
        except Exception as error:  # a bug in parsing this report: the others go on
            result.failed.append(Failure(found.location, error, traceback.format_exc()))
        return None

    def _ingest_tls(
        self,
        found: TlsPayload,
        result: IngestResult,
        conflicts: dict[str, list[str]],
        deadline: Deadline | None,
    ) -> None:
        """One SMTP TLS report: parsed, then stored through the same claim as a DMARC report."""
        try:
            now = self.clock()
            rows = prepare_tls_report(
                found.data, source_key=result.source_key, ingested_at=now, location=found.location
            )
        except InputRefused as refused:
            result.quarantined.append(Quarantine(refused.reason, refused.detail, refused.location))
            return
        except Exception as error:  # a bug in parsing this report: the others go on
            result.failed.append(Failure(found.location, error, traceback.format_exc()))
            return
        refusal = self.window.refusal(rows.dt, now.date())
        if refusal is not None:
            result.quarantined.append(Quarantine(OUT_OF_WINDOW, refusal, found.location))
            return
        stored = self._store_guarded(rows, found.location, conflicts, result, deadline)
        if stored is not None:
            result.reports.append(stored)

    def _store_guarded(
        self,
        prepared: StorableReport,
        location: str,
        conflicts: dict[str, list[str]],
        result: IngestResult,
        deadline: Deadline | None,
    ) -> StoredReport | None:
        try:
            return self._store(prepared, location, conflicts, deadline)
        except StoreError as error:
            result.failed.append(Failure(location, error))
        except Exception as error:  # a bug while storing this report: the others go on
            result.failed.append(Failure(location, error, traceback.format_exc()))
        return None

    def _store(
        self,
        prepared: StorableReport,
        location: str,
        conflicts: dict[str, list[str]],
        deadline: Deadline | None,
    ) -> StoredReport:
        claim = self.store.claim(prepared)
        if claim.outcome is ClaimOutcome.BUSY:
            raise ReportBusy(f"report {prepared.report_key} is being written by another worker")
        if claim.outcome in (ClaimOutcome.NEW, ClaimOutcome.RESUME):
            self._write_and_complete(prepared, claim, deadline)
            outcome = "new"
        elif claim.outcome is ClaimOutcome.DUPLICATE:
            outcome = "duplicate"
        else:
            outcome = CONFLICT
            self.store.record_conflict(prepared, claim, self.clock())
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
            kind=TLSRPT if isinstance(prepared, TlsRows) else AGGREGATE,
        )

    def _write_and_complete(
        self, prepared: StorableReport, claim: Claim, deadline: Deadline | None = None
    ) -> None:
        try:
            if isinstance(prepared, TlsRows):
                self.store.write_tls(prepared)
            else:
                self.store.write(prepared, claim, deadline)
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
        by_reason = _pieces_by_reason(result, conflicts)
        if rejected:
            by_reason[RECORD_ERROR] = rejected
        if not by_reason:
            return
        raw = b"" if result.failure_found else _raw(data)  # a failure report's mail: only in ruf-raw/
        stored_keys = [report.report_key for report in result.reports]
        for reason, pieces in by_reason.items():
            sidecar = {
                "reason": reason,
                "detail": str(pieces[0].get("detail", f"{len(pieces)} report(s) with records kept aside")),
                "source": result.source_key,
                "report_keys": stored_keys,
                "pieces": pieces,
            }
            try:
                key = self.store.quarantine(
                    reason=reason, source_key=result.source_key, data=raw, sidecar=sidecar
                )
            except StoreError as error:  # the copy is retried with the object; what was stored still counts
                result.failed.append(Failure(f"{result.source_key} ({reason} copy)", error))
                continue
            except Exception as error:
                result.failed.append(
                    Failure(f"{result.source_key} ({reason} copy)", error, traceback.format_exc())
                )
                continue
            result.quarantine_keys.append(key)


def _raw(data: bytes | Path) -> bytes:
    return data.read_bytes() if isinstance(data, Path) else data


def _pieces_by_reason(
    result: IngestResult, conflicts: dict[str, list[str]]
) -> dict[str, list[dict[str, Any]]]:
    """The sidecar pieces of each quarantine reason: refusals, conflicts, internal errors."""
    by_reason: dict[str, list[dict[str, Any]]] = {}
    for piece in result.quarantined:
        by_reason.setdefault(piece.reason, []).append({"detail": piece.detail, "location": piece.location})
    for key, sources in conflicts.items():
        stored_from = ", ".join(sources)
        detail = f"report {key} is already stored from {stored_from} with other content; the first stands"
        result.quarantined.append(Quarantine(CONFLICT, detail, result.source_key))
        by_reason.setdefault(CONFLICT, []).append(
            {"detail": detail, "report_key": key, "stored_from": sources}
        )
    for failure in result.failed:
        if failure.internal:
            detail = f"{type(failure.error).__name__}: {failure.error}"
            note = {"detail": detail, "location": failure.location, "traceback": failure.traceback}
            by_reason.setdefault(INTERNAL_ERROR, []).append(note)
    return by_reason
