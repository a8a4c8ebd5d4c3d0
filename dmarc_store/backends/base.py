"""The store interface the ingest service writes through, with the claim decided once, here.

The exactly-once protocol, in the store's words:

1. `claim(report)`: a conditional write of the report's META entry, status PENDING, with its content
   hash, source and a lease (`claimed_at`). Outcomes: NEW (ours now), RESUME (PENDING, but released
   by a failed attempt or abandoned by a crashed one whose lease ran out: ours now, redo the writes),
   BUSY (another worker holds a live lease: retry later), DUPLICATE (COMPLETE with the same content),
   CONFLICT (same identity, other content: the first stands).
2. `write(report)`: records and Parquet under deterministic names; a retry overwrites, never adds.
   Given a `Deadline` (the Lambda's), the AWS store stops between DynamoDB batches when it is near,
   records on META how many record items it wrote (`items_written`) and raises WriteDeferred; the
   retry resumes the claim (RESUME, same content) and writes from there. A take-over by other
   content resets that count: it writes every item again.
3. `complete(report)`: META becomes COMPLETE with the report's totals.
4. On any failure between 1 and 3, `release(report)` ends the lease at once (best effort: if even
   that fails, the lease runs out by itself), so the retry need not wait.

Taking over a claim is itself conditional on the `claimed_at` that was read, so of two workers that
find the same released claim only one resumes it; the other is BUSY.

Each claim carries a random token, written with it; `complete` and `release` are conditional on it.
A worker whose lease ran out and was taken over cannot end the new owner's lease or complete in its
place: its `complete` raises ClaimLost (transient: the retry finds the report COMPLETE, a duplicate),
so exactly one worker reports the report as new.

A report stored under an older canonical form of the content hash (`dmarc_model.content`) is compared by
identity only: a copy of it is a duplicate, so re-ingesting a mailbox after an upgrade adds nothing.

A PENDING entry is never evidence of a conflict: it may never complete. A second copy with other
content waits while the lease is live (BUSY) and takes the claim over when it is not (RESUME, with
`replaces_content`: the backend then removes what the abandoned attempt wrote beyond the new rows).
Only a COMPLETE entry with other content makes a CONFLICT.

Kept-aside records (those that failed validation) are part of the write step: one JSON document per
report, `kept-aside/dt=YYYY-MM-DD/<report_key>.json`, under a deterministic name, before COMPLETE.

An SMTP TLS report (`dmarc_model.tlsrpt`, its key prefixed so it never meets a DMARC report's) goes
through the same claim, META and lease: `write_tls` puts its three tables' files, always all three (a
table of no rows too), so a take-over by other content leaves nothing of the abandoned attempt; it has
no DynamoDB items beyond META and nothing kept aside.

`Store.claim` makes that decision (`decide_claim`, pure) for every backend; a backend does only the
I/O: `_insert_pending` (a conditional insert that returns what was there) and `_take_over` (a
conditional update). `AwsStore` does it on DynamoDB and S3, `LocalStore` on SQLite and a folder.
"""

from __future__ import annotations

import enum
import json
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from dmarc_model.columns import CONFLICT_COLUMNS
from dmarc_model.content import CONTENT_HASH_VERSION
from dmarc_model.errors import ConfigurationError
from dmarc_model.prepare import PreparedReport, StorableReport
from dmarc_model.rows import reports_table
from dmarc_model.ruf import FailureReport
from dmarc_model.schema import CONFLICTS_SCHEMA, FAILURES_SCHEMA
from dmarc_model.senders.classify import Classifier
from dmarc_model.senders.rows import senders_parquet
from dmarc_model.timestamps import utc_naive
from dmarc_model.tlsrpt import TlsRows
from dmarc_store.deadline import Deadline
from dmarc_store.layout import (
    conflict_key,
    failure_report_key,
    kept_aside_key,
    parquet_bytes,
    parquet_key,
    ruf_raw_key,
)
from dmarc_store.senders import classifier_for

__all__ = [
    "CLAIM_LEASE_SECONDS",
    "Claim",
    "ClaimOutcome",
    "ClaimState",
    "Deadline",
    "PreparedReport",
    "StorableReport",
    "Store",
    "decide_claim",
]

CLAIM_LEASE_SECONDS = 600
"""How long a PENDING claim holds off other workers: longer than one ingest may take (the Lambda's
timeout), shorter than SQS's visibility timeout, so a crashed attempt's redelivery can resume it."""


class ClaimOutcome(enum.Enum):
    NEW = "new"
    RESUME = "resume"
    BUSY = "busy"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class Claim:
    outcome: ClaimOutcome
    existing_source: str | None = None
    """For DUPLICATE and CONFLICT: the source the stored report came from."""
    token: str = ""
    """For NEW and RESUME: ours; `complete` and `release` hold to it."""
    replaces_content: bool = False
    """RESUME of an abandoned attempt that had other content."""
    existing_sha256: str | None = None
    """For DUPLICATE and CONFLICT: the content hash of the stored report."""
    resume_from: int = 0
    """For RESUME of the same content: the record items an earlier attempt recorded as written."""


@dataclass(frozen=True)
class ClaimState:
    """A report's META entry as a backend found it when its claim was refused."""

    status: str
    """PENDING or COMPLETE."""
    content_sha256: str
    source_key: str
    claimed_at: float
    hash_version: int = CONTENT_HASH_VERSION
    """The canonical form its content_sha256 was computed in (entries stored before version 2 have none)."""
    items_written: int = 0
    """Record items an attempt that ran short of time recorded as written (`WriteDeferred`)."""


def decide_claim(
    existing: ClaimState,
    content_sha256: str,
    now: float,
    lease_seconds: float,
    hash_version: int = CONTENT_HASH_VERSION,
) -> ClaimOutcome:
    """What a second claim on a stored identity means; RESUME here still needs the conditional take-over.
    `hash_version`: the canonical form `content_sha256` is in (a TLS report's has its own)."""
    if existing.status == "COMPLETE":
        comparable = existing.hash_version == hash_version
        same = existing.content_sha256 == content_sha256 or not comparable
        return ClaimOutcome.DUPLICATE if same else ClaimOutcome.CONFLICT
    if now - existing.claimed_at < lease_seconds:
        return ClaimOutcome.BUSY
    return ClaimOutcome.RESUME


class Store(ABC):
    """Where reports go: one implementation per backend (AWS, local folder)."""

    lease_seconds: float = CLAIM_LEASE_SECONDS
    classifier: Classifier | None = None
    """Who names each record's sender (`record_senders`); None: the package's rules and data."""
    ruf_key_source: Callable[[], bytes] | None = None
    """The deployment's key for hashing failure reports (dmarc_model.ruf), read when first needed."""

    def claim(self, report: StorableReport) -> Claim:
        now = self._now()
        token = uuid.uuid4().hex
        existing = self._insert_pending(report, now, token)
        if existing is None:
            return Claim(ClaimOutcome.NEW, token=token)
        outcome = decide_claim(existing, report.content_sha256, now, self.lease_seconds, report.hash_version)
        if outcome is not ClaimOutcome.RESUME:
            return Claim(outcome, existing.source_key, existing_sha256=existing.content_sha256)
        replaces = existing.content_sha256 != report.content_sha256
        written = 0 if replaces else existing.items_written
        if not self._take_over(report, existing.claimed_at, now, token, written):
            return Claim(ClaimOutcome.BUSY, existing.source_key)  # another worker resumed it first
        return Claim(ClaimOutcome.RESUME, existing.source_key, token, replaces, resume_from=written)

    def write(self, report: PreparedReport, claim: Claim, deadline: Deadline | None = None) -> None:
        """Every row of the report under names made from its key: a retry overwrites, never adds.

        With a `deadline`, a backend may stop part way through the record items (`WriteDeferred`)."""
        rows = report.record_rows
        records = rows.parquet_file() or parquet_bytes(rows.table())  # a spooled file goes as it is
        self._put_object(parquet_key("records", report.dt, report.report_key), records)
        classifier = self.classifier or classifier_for()
        senders = senders_parquet(rows.batches(), classifier, report.report["ingested_at"])
        self._put_object(parquet_key("record_senders", report.dt, report.report_key), senders)
        reports = parquet_bytes(reports_table([report.report]))
        self._put_object(parquet_key("reports", report.dt, report.report_key), reports)
        if report.rejected:
            self._put_object(kept_aside_key(report.dt, report.report_key), kept_aside_document(report))
        self._write_items(report, claim, deadline, senders)

    def write_tls(self, report: TlsRows) -> None:
        """A TLS report's three files under names made from its key, each written even when it has no
        rows: a retry, or a take-over by other content, overwrites every one."""
        for table, rows in report.tables.items():
            self._put_object(parquet_key(table, report.dt, report.report_key), parquet_bytes(rows))

    def record_conflict(self, report: StorableReport, claim: Claim, detected_at: datetime) -> str:
        """Keep this copy's identity, sources and totals in the `conflicts` table (as long as the data);
        a TLS report's as its `report` sums it up (its policy domains, policies and sessions)."""
        row = report.report
        values = {name: row.get(name) for name, _ in CONFLICT_COLUMNS}
        values.update(
            stored_source_key=claim.existing_source,
            stored_content_sha256=claim.existing_sha256,
            detected_at=utc_naive(detected_at),
        )
        key = conflict_key(report.dt, report.report_key, report.content_sha256)
        self._put_object(key, parquet_bytes(pa.Table.from_pylist([values], schema=CONFLICTS_SCHEMA)))
        return key

    def failure_hash_key(self) -> bytes:
        """The key of the failure reports' hashes; ConfigurationError when the store has none."""
        if self.ruf_key_source is None:
            raise ConfigurationError(
                "no key to hash failure reports with: set DMARC_RUF_HASH_KEY or DMARC_RUF_HASH_KEY_SECRET"
            )
        return self.ruf_key_source()

    def store_failure(self, report: FailureReport) -> bool:
        """Write a failure report's row under its key, unless it is stored already: True when new."""
        key = failure_report_key(report.dt, report.failure_key)
        table = pa.Table.from_pylist([report.row()], schema=FAILURES_SCHEMA)
        return self._put_if_absent(key, parquet_bytes(table))

    def keep_failure_raw(self, source_key: str, data: bytes, origin: tuple[str, str | None] | None) -> str:
        """Keep the raw mail of a failure report under `ruf-raw/` (short-lived); the AWS store also
        deletes the object it came from (`origin`: its key and version), out of the long-lived prefixes."""
        del origin  # a local store never deletes the files it was given
        key = ruf_raw_key(source_key)
        self._put_object(key, data)
        return key

    def _now(self) -> float:
        return time.time()

    @abstractmethod
    def _put_if_absent(self, key: str, data: bytes) -> bool:
        """Write one object unless `key` holds one already: True when written now."""

    @abstractmethod
    def _insert_pending(self, report: StorableReport, now: float, token: str) -> ClaimState | None:
        """Insert META as PENDING, claimed at `now` with `token`, unless it exists: then return that."""

    @abstractmethod
    def _take_over(
        self, report: StorableReport, seen_claimed_at: float, now: float, token: str, items_written: int
    ) -> bool:
        """Claim a PENDING entry whose `claimed_at` is still `seen_claimed_at`, its progress now
        `items_written` (0 unless the content is the same); False when another worker won."""

    @abstractmethod
    def _put_object(self, key: str, data: bytes | Path) -> None:
        """Write one object whole (readers never see half of it), from bytes or a file's contents."""

    def _write_items(
        self, report: PreparedReport, claim: Claim, deadline: Deadline | None, senders: bytes
    ) -> None:
        """Backend rows beside the Parquet (DynamoDB record items, with the verdicts of `senders`, the
        `record_senders` file just written); none by default."""
        del report, claim, deadline, senders

    @abstractmethod
    def complete(self, report: StorableReport, claim: Claim) -> None:
        """META becomes COMPLETE with the totals, if `claim.token` still holds it (else ClaimLost)."""

    @abstractmethod
    def release(self, report: StorableReport, claim: Claim) -> None:
        """End our lease on a PENDING claim now, if `claim.token` still holds it, so a retry can resume."""

    @abstractmethod
    def quarantine(self, *, reason: str, source_key: str, data: bytes, sidecar: dict[str, Any]) -> str:
        """Keep a copy of refused input under `layout.quarantine_key`, its note at `quarantine_note_key`."""

    @abstractmethod
    def read_source(self, key: str, version_id: str | None = None) -> bytes:
        """The bytes of an input object named by its key (and, on S3, the version the event named)."""


def kept_aside_document(report: PreparedReport) -> bytes:
    """The records of a report that failed validation, with their reasons and XML, as one JSON document."""
    document = {
        "report_key": report.report_key,
        "source_key": report.source_key,
        "records": [record.model_dump() for record in report.rejected],
    }
    return json.dumps(document, indent=2, ensure_ascii=False).encode()
