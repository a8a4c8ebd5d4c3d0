"""Failure reports (RUF) at ingest: the fields and hashes stored once, the raw mail moved to `ruf-raw/`.

    FailureReportFound --failure_report(sample, the store's key)--> failure_reports row, once per key
    the object's raw bytes -------------------------------------> ruf-raw/<name> (days, not months)
    the object it came from (incoming/, uploads/ on S3) ---------> deleted once everything is stored

An object holding a failure report is never copied into `quarantine/`: a quarantine note for another
piece of it is written with no copy beside it. Nothing read from the original message (recipient,
From, Subject, body) reaches a result, a note or a log line; only the structured fields and hashes do.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from datetime import datetime

from dmarc_model.errors import FailureReportFound
from dmarc_model.ruf import failure_report
from dmarc_store.backends.base import Store
from dmarc_store.errors import StoreError
from dmarc_store.ingest.results import Failure, IngestResult, StoredFailure

__all__ = ["FailureKeeper"]


class FailureKeeper:
    """Stores the failure reports of one store, hashed with its key."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def keep(self, found: FailureReportFound, result: IngestResult) -> None:
        """Store the report's row (a redelivery is a duplicate); an error fails only this piece."""
        result.failure_found = True
        try:
            report = failure_report(found.sample, self.store.failure_hash_key(), self.clock())
            new = self.store.store_failure(report)
        except StoreError as error:
            result.failed.append(Failure(found.location, error))
            return
        except Exception as error:  # a bug, or no key (ConfigurationError): the object is retried
            result.failed.append(Failure(found.location, error, traceback.format_exc()))
            return
        result.failures.append(
            StoredFailure(
                failure_key=report.failure_key,
                outcome="new" if new else "duplicate",
                reported_domain=report.reported_domain,
                source_ip=report.source_ip,
                dt=report.dt,
            )
        )

    def move_raw(self, result: IngestResult, raw: bytes, origin: tuple[str, str | None] | None) -> None:
        """The raw mail to `ruf-raw/`; its origin deleted only when nothing failed (a retry reads it)."""
        try:
            keep_origin = None if result.failed else origin
            result.ruf_raw_key = self.store.keep_failure_raw(result.source_key, raw, keep_origin)
        except StoreError as error:
            result.failed.append(Failure(f"{result.source_key} (ruf-raw copy)", error))
