"""The store interface the ingest service writes through, with one implementation per backend.

The exactly-once protocol, in the store's words:

1. `claim(report)`: a conditional write of the report's META entry, status PENDING, with its content
   hash, source and a lease (`claimed_at`). Outcomes: NEW (ours now), RESUME (PENDING, but released
   by a failed attempt or abandoned by a crashed one whose lease ran out: ours now, redo the writes),
   BUSY (another worker holds a live lease: retry later), DUPLICATE (COMPLETE with the same content),
   CONFLICT (same identity, other content: the first stands).
2. `write(report)`: records and Parquet under deterministic names; a retry overwrites, never adds.
3. `complete(report)`: META becomes COMPLETE with the report's totals.
4. On any failure between 1 and 3, `release(report)` ends the lease at once (best effort: if even
   that fails, the lease runs out by itself), so the retry need not wait.

Taking over a claim is itself conditional on the `claimed_at` that was read, so of two workers that
find the same released claim only one resumes it; the other is BUSY.

`AwsStore` does this on DynamoDB and S3, `LocalStore` on SQLite and a folder.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa

from dmarc_model.models import RejectedRecord

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


@dataclass
class PreparedReport:
    """One parsed report, ready to store: its identity, its rows, and what was kept aside."""

    report_key: str
    content_sha256: str
    source_key: str
    day: date
    report: dict[str, Any]
    """The `reports` row."""
    records: pa.Table
    """The `records` rows, in RECORDS_SCHEMA."""
    rejected: list[RejectedRecord] = field(default_factory=list)

    @property
    def dt(self) -> str:
        return self.day.isoformat()


@dataclass(frozen=True)
class Quarantine:
    """A refused piece of an input, with the stable reason and what was found around it."""

    reason: str
    detail: str
    location: str


class Store(ABC):
    """Where reports go: one implementation per backend (AWS, local folder)."""

    @abstractmethod
    def claim(self, report: PreparedReport) -> Claim: ...

    @abstractmethod
    def write(self, report: PreparedReport) -> None: ...

    @abstractmethod
    def complete(self, report: PreparedReport) -> None: ...

    @abstractmethod
    def release(self, report: PreparedReport) -> None:
        """End our lease on a PENDING claim now, so that a retry can resume it at once."""

    @abstractmethod
    def quarantine(self, *, reason: str, source_key: str, data: bytes, sidecar: dict[str, Any]) -> str:
        """Keep a copy of refused input under `quarantine/<reason>/<source_key>` with a JSON sidecar."""

    @abstractmethod
    def read_source(self, source_key: str) -> bytes:
        """The bytes of an input object named by its key."""
