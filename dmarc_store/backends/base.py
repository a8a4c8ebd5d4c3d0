"""The store interface the ingest service writes through, with the claim decided once, here.

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

`Store.claim` makes that decision (`decide_claim`, pure) for every backend; a backend does only the
I/O: `_insert_pending` (a conditional insert that returns what was there) and `_take_over` (a
conditional update). `AwsStore` does it on DynamoDB and S3, `LocalStore` on SQLite and a folder.
"""

from __future__ import annotations

import enum
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from dmarc_model.prepare import PreparedReport

__all__ = [
    "CLAIM_LEASE_SECONDS",
    "Claim",
    "ClaimOutcome",
    "ClaimState",
    "PreparedReport",
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


@dataclass(frozen=True)
class ClaimState:
    """A report's META entry as a backend found it when its claim was refused."""

    status: str
    """PENDING or COMPLETE."""
    content_sha256: str
    source_key: str
    claimed_at: float


def decide_claim(existing: ClaimState, content_sha256: str, now: float, lease_seconds: float) -> ClaimOutcome:
    """What a second claim on a stored identity means; RESUME here still needs the conditional take-over."""
    if existing.content_sha256 != content_sha256:
        return ClaimOutcome.CONFLICT
    if existing.status == "COMPLETE":
        return ClaimOutcome.DUPLICATE
    if now - existing.claimed_at < lease_seconds:
        return ClaimOutcome.BUSY
    return ClaimOutcome.RESUME


class Store(ABC):
    """Where reports go: one implementation per backend (AWS, local folder)."""

    lease_seconds: float = CLAIM_LEASE_SECONDS

    def claim(self, report: PreparedReport) -> Claim:
        now = self._now()
        existing = self._insert_pending(report, now)
        if existing is None:
            return Claim(ClaimOutcome.NEW)
        outcome = decide_claim(existing, report.content_sha256, now, self.lease_seconds)
        if outcome is ClaimOutcome.RESUME and not self._take_over(report, existing.claimed_at, now):
            outcome = ClaimOutcome.BUSY  # another worker resumed it first
        return Claim(outcome, existing.source_key)

    def _now(self) -> float:
        return time.time()

    @abstractmethod
    def _insert_pending(self, report: PreparedReport, now: float) -> ClaimState | None:
        """Insert META as PENDING, claimed at `now`, unless it exists: then return what is there."""

    @abstractmethod
    def _take_over(self, report: PreparedReport, seen_claimed_at: float, now: float) -> bool:
        """Claim a PENDING entry whose `claimed_at` is still `seen_claimed_at`; False when another won."""

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
