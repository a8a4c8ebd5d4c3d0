"""The local store: a folder with the same layout as the S3 bucket, and a SQLite index for claims.

Two processes ingesting into one folder at once lose nothing and double nothing: claims are
SQLite transactions (`BEGIN IMMEDIATE`), and every file is written under a temporary name and renamed
into place, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dmarc_model.rows import reports_table
from dmarc_store.backends.base import CLAIM_LEASE_SECONDS, ClaimState, PreparedReport, Store
from dmarc_store.layout import parquet_bytes, parquet_key, quarantine_key

INDEX_NAME = "index.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    report_key     TEXT PRIMARY KEY,
    status         TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    source_key     TEXT NOT NULL,
    claimed_at     REAL NOT NULL,
    dt             TEXT NOT NULL,
    policy_domain  TEXT,
    record_count   INTEGER,
    message_total  INTEGER
)
"""


def write_atomically(path: Path, data: bytes) -> None:
    """Write under a temporary name in the same folder, then rename: readers see all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


class LocalStore(Store):
    def __init__(self, root: Path, *, lease_seconds: int = CLAIM_LEASE_SECONDS) -> None:
        self.root = root
        self.lease_seconds = lease_seconds
        root.mkdir(parents=True, exist_ok=True)
        with self._index() as index:
            index.execute(_SCHEMA)

    @contextmanager
    def _index(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.root / INDEX_NAME, timeout=60, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            yield connection
        finally:
            connection.close()

    def _insert_pending(self, report: PreparedReport, now: float) -> ClaimState | None:
        with self._index() as index:
            inserted = index.execute(
                "INSERT INTO reports (report_key, status, content_sha256, source_key, claimed_at, dt)"
                " VALUES (?, 'PENDING', ?, ?, ?, ?) ON CONFLICT (report_key) DO NOTHING",
                (report.report_key, report.content_sha256, report.source_key, now, report.dt),
            ).rowcount
            if inserted:
                return None
            status, content_sha256, source_key, claimed_at = index.execute(
                "SELECT status, content_sha256, source_key, claimed_at FROM reports WHERE report_key = ?",
                (report.report_key,),
            ).fetchone()
        return ClaimState(status, content_sha256, source_key, float(claimed_at))

    def _take_over(self, report: PreparedReport, seen_claimed_at: float, now: float) -> bool:
        with self._index() as index:
            updated = index.execute(
                "UPDATE reports SET source_key = ?, claimed_at = ?"
                " WHERE report_key = ? AND status = 'PENDING' AND claimed_at = ?",
                (report.source_key, now, report.report_key, seen_claimed_at),
            ).rowcount
        return bool(updated)

    def write(self, report: PreparedReport) -> None:
        records_path = self.root / parquet_key("records", report.dt, report.report_key)
        write_atomically(records_path, parquet_bytes(report.records))
        reports_path = self.root / parquet_key("reports", report.dt, report.report_key)
        write_atomically(reports_path, parquet_bytes(reports_table([report.report])))

    def complete(self, report: PreparedReport) -> None:
        row = report.report
        with self._index() as index:
            index.execute(
                "UPDATE reports SET status = 'COMPLETE', policy_domain = ?, record_count = ?,"
                " message_total = ? WHERE report_key = ?",
                (row["policy_domain"], row["record_count"], row["message_total"], report.report_key),
            )

    def release(self, report: PreparedReport) -> None:
        with self._index() as index:
            index.execute(
                "UPDATE reports SET claimed_at = 0 WHERE report_key = ? AND status = 'PENDING'",
                (report.report_key,),
            )

    def quarantine(self, *, reason: str, source_key: str, data: bytes, sidecar: dict[str, Any]) -> str:
        key = quarantine_key(reason, source_key)
        write_atomically(self.root / key, data)
        write_atomically(self.root / f"{key}.json", json.dumps(sidecar, indent=2, default=str).encode())
        return key

    def read_source(self, source_key: str) -> bytes:
        return Path(source_key).read_bytes()

    def report_status(self, report_key: str) -> str | None:
        with self._index() as index:
            row = index.execute("SELECT status FROM reports WHERE report_key = ?", (report_key,)).fetchone()
        return None if row is None else str(row[0])
