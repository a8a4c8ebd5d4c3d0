"""Failure report (RUF) rows for the SQL fixtures: the corpus' RUF, stored as ingest stores it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from dmarc_model.errors import FailureReportFound
from dmarc_model.ruf import failure_report
from dmarc_model.unpack import unpack
from dmarc_store.backends.local import LocalStore
from tests.helpers import CORPUS

CORPUS_RUF = "pdm__dmarc_ruf_report_linkedin.eml"


def write_store(root: Path, key: bytes = b"sql-fixture-key") -> int:
    """The corpus' failure reports into `root`'s failure_reports table; how many were written."""
    store = LocalStore(root)
    written = 0
    for found in unpack(CORPUS / CORPUS_RUF):
        if isinstance(found, FailureReportFound):
            report = failure_report(found.sample, key, datetime(2019, 5, 1, tzinfo=UTC))
            written += store.store_failure(report)
    return written
