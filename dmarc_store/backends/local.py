"""The local store: a folder with the same layout as the S3 bucket, and a SQLite index for claims.

Two processes ingesting into one folder at once lose nothing and double nothing: claims are
conditional SQLite writes, each its own transaction, and every file is written under a temporary name
and renamed into place, so a reader never sees half a file.

The index is opened once per store, process and thread (not once per claim: opening a WAL database
and closing its last connection, which checkpoints, cost more than the claim itself), in WAL mode with
`synchronous=NORMAL`: a commit is safe from a crash of the process at once, and from a power loss up to
the last few commits, which the next start rolls back. What that can undo is a claim or a COMPLETE,
never half of one: the report is then claimed or resumed again and its files, named by its key,
rewritten, so nothing is stored twice (the Parquet files were never synced to disk either).

The index also remembers, for each input whose every report was stored cleanly, the SHA-256 of its
bytes and what it held (table `sources`, `dmarc_store.ingest.redelivery`): the same bytes again are
answered "duplicate" from there, without unpacking or parsing, while all its reports are still COMPLETE.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from dmarc_store.backends.base import CLAIM_LEASE_SECONDS, Claim, ClaimState, StorableReport, Store
from dmarc_store.errors import ClaimLost
from dmarc_store.ingest.redelivery import RememberedSource, SourceMemory
from dmarc_store.layout import quarantine_key, quarantine_note_key

INDEX_NAME = "index.sqlite"
RUF_KEY_NAME = "ruf-key"
"""The local store's key for hashing failure reports: made once, readable by its owner only."""
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
    message_total  INTEGER,
    claim_token    TEXT,
    hash_version   INTEGER NOT NULL DEFAULT 1
)
"""
_SOURCES_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    source_sha256 TEXT PRIMARY KEY,
    fingerprint   TEXT NOT NULL,
    source_key    TEXT NOT NULL,
    reports       TEXT NOT NULL,
    remembered_at REAL NOT NULL
)
"""
_INSERT_PENDING = """
INSERT INTO reports
    (report_key, status, content_sha256, source_key, claimed_at, dt, claim_token, hash_version)
VALUES (?, 'PENDING', ?, ?, ?, ?, ?, ?) ON CONFLICT (report_key) DO NOTHING
"""
_ADDED_COLUMNS = {"claim_token": "TEXT", "hash_version": "INTEGER NOT NULL DEFAULT 1"}
"""Columns added since the first index format: an older index gains them when opened."""


_TEMPORARY_NUMBERS = itertools.count()


def store_key(path: Path) -> bytes:
    """The key in `path`, made (32 random bytes, hex, mode 0600) if there is none: two processes
    making it at once agree, as only one creation succeeds."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    key = secrets.token_hex(32).encode()
    with os.fdopen(descriptor, "wb") as file:
        file.write(key)
    return key


def write_atomically(path: Path, data: bytes | Path) -> None:
    """Write `data` (bytes, or a file's contents) under a temporary name in the same folder, then
    rename: readers see all or nothing.

    The temporary name is short whatever the final one (`.tmp-<pid>-<n>`: a final name may use all
    255 bytes), hidden, and never a stored name (those never start with a dot); it is removed if the
    write fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".tmp-{os.getpid()}-{next(_TEMPORARY_NUMBERS)}")
    try:
        if isinstance(data, Path):
            shutil.copyfile(data, temporary)
        else:
            temporary.write_bytes(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def connect_index(root: Path) -> sqlite3.Connection:
    """A new connection to a store's index: autocommit, WAL, `synchronous=NORMAL` (module docstring)."""
    connection = sqlite3.connect(root / INDEX_NAME, timeout=60, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        connection.close()
        raise
    return connection


@contextmanager
def open_index(root: Path) -> Iterator[sqlite3.Connection]:
    """A connection to a store's index, closed when the block ends: for one-off work (the prune)."""
    connection = connect_index(root)
    try:
        yield connection
    finally:
        connection.close()


@contextmanager
def _kept_open(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    yield connection


def forget_reports_before(root: Path, first_kept: str, *, dry_run: bool = False) -> int:
    """Delete (or, dry, count) the index rows of reports dated before `first_kept`: the prune's last step."""
    if not (root / INDEX_NAME).exists():
        return 0
    with open_index(root) as index:
        if dry_run:
            (count,) = index.execute("SELECT count(*) FROM reports WHERE dt < ?", (first_kept,)).fetchone()
            return int(count)
        return index.execute("DELETE FROM reports WHERE dt < ?", (first_kept,)).rowcount


class LocalStore(Store, SourceMemory):
    def __init__(self, root: Path, *, lease_seconds: int = CLAIM_LEASE_SECONDS) -> None:
        self.root = root
        self.lease_seconds = lease_seconds
        self._held = threading.local()
        root.mkdir(parents=True, exist_ok=True)
        with self._index() as index:
            index.execute(_SCHEMA)
            index.execute(_SOURCES_SCHEMA)
            present = {row[1] for row in index.execute("PRAGMA table_info(reports)")}
            for name, kind in _ADDED_COLUMNS.items():
                if name not in present:
                    index.execute(f"ALTER TABLE reports ADD COLUMN {name} {kind}")

    def _index(self) -> AbstractContextManager[sqlite3.Connection]:
        """This thread's connection to the index, opened on first use (a forked child opens its own)."""
        return _kept_open(self._connection())

    def _connection(self) -> sqlite3.Connection:
        held = self._held
        if getattr(held, "connection", None) is None or held.pid != os.getpid():
            held.connection, held.pid = connect_index(self.root), os.getpid()
        connection: sqlite3.Connection = held.connection
        return connection

    def close(self) -> None:
        """Close this thread's connection to the index (another use opens a new one)."""
        connection = getattr(self._held, "connection", None)
        self._held.connection = None
        if connection is not None and self._held.pid == os.getpid():
            connection.close()

    def _insert_pending(self, report: StorableReport, now: float, token: str) -> ClaimState | None:
        with self._index() as index:
            inserted = index.execute(
                _INSERT_PENDING,
                (
                    report.report_key,
                    report.content_sha256,
                    report.source_key,
                    now,
                    report.dt,
                    token,
                    report.hash_version,
                ),
            ).rowcount
            if inserted:
                return None
            status, content_sha256, source_key, claimed_at, version = index.execute(
                "SELECT status, content_sha256, source_key, claimed_at, hash_version FROM reports"
                " WHERE report_key = ?",
                (report.report_key,),
            ).fetchone()
        return ClaimState(status, content_sha256, source_key, float(claimed_at), int(version))

    def _take_over(
        self, report: StorableReport, seen_claimed_at: float, now: float, token: str, items_written: int
    ) -> bool:
        del items_written  # the local store writes one file per report: nothing to resume part way
        with self._index() as index:
            updated = index.execute(
                "UPDATE reports SET source_key = ?, claimed_at = ?, claim_token = ?, content_sha256 = ?,"
                " hash_version = ? WHERE report_key = ? AND status = 'PENDING' AND claimed_at = ?",
                (
                    report.source_key,
                    now,
                    token,
                    report.content_sha256,
                    report.hash_version,
                    report.report_key,
                    seen_claimed_at,
                ),
            ).rowcount
        return bool(updated)

    def _put_object(self, key: str, data: bytes | Path) -> None:
        write_atomically(self.root / key, data)

    def _put_if_absent(self, key: str, data: bytes) -> bool:
        """Two processes writing the same key at once both write it: the same bytes, so no harm."""
        if (self.root / key).is_file():
            return False
        write_atomically(self.root / key, data)
        return True

    def failure_hash_key(self) -> bytes:
        """DMARC_RUF_HASH_KEY when set (`ruf_key_source`), else the store's own key file, made once."""
        if self.ruf_key_source is not None:
            return self.ruf_key_source()
        return store_key(self.root / RUF_KEY_NAME)

    def complete(self, report: StorableReport, claim: Claim) -> None:
        row = report.report
        with self._index() as index:
            updated = index.execute(
                "UPDATE reports SET status = 'COMPLETE', policy_domain = ?, record_count = ?,"
                " message_total = ? WHERE report_key = ? AND claim_token = ?",
                (
                    row["policy_domain"],
                    row["record_count"],
                    row["message_total"],
                    report.report_key,
                    claim.token,
                ),
            ).rowcount
        if not updated:
            raise ClaimLost(f"report {report.report_key} was taken over by another worker")

    def release(self, report: StorableReport, claim: Claim) -> None:
        with self._index() as index:
            index.execute(
                "UPDATE reports SET claimed_at = 0"
                " WHERE report_key = ? AND status = 'PENDING' AND claim_token = ?",
                (report.report_key, claim.token),
            )

    def quarantine(self, *, reason: str, source_key: str, data: bytes, sidecar: dict[str, Any]) -> str:
        key = quarantine_key(reason, source_key)
        write_atomically(self.root / key, data)
        note = json.dumps(sidecar, indent=2, default=str).encode()
        write_atomically(self.root / quarantine_note_key(key), note)
        return key

    def read_source(self, key: str, version_id: str | None = None) -> bytes:
        del version_id  # a folder keeps no versions
        return Path(key).read_bytes()

    def recall_source(self, source_sha256: str, fingerprint: str) -> RememberedSource | None:
        """What the input with these bytes held, if remembered under this fingerprint and every report
        of it is still COMPLETE (not pruned since); None otherwise, or if the index cannot say now."""
        try:
            with self._index() as index:
                row = index.execute(
                    "SELECT source_key, reports FROM sources WHERE source_sha256 = ? AND fingerprint = ?",
                    (source_sha256, fingerprint),
                ).fetchone()
                if row is None:
                    return None
                remembered = RememberedSource.from_json(row[0], row[1])
                if not self._all_complete(index, remembered.report_keys):
                    return None
        except (sqlite3.Error, ValueError):  # the memory only saves work: the full ingest decides
            return None
        return remembered

    def remember_source(self, source_sha256: str, fingerprint: str, remembered: RememberedSource) -> None:
        """Keep what an input held, once each of its reports is COMPLETE (best effort, as recall)."""
        try:
            with self._index() as index:
                index.execute(
                    "INSERT OR REPLACE INTO sources (source_sha256, fingerprint, source_key, reports,"
                    " remembered_at) VALUES (?, ?, ?, ?, ?)",
                    (
                        source_sha256,
                        fingerprint,
                        remembered.source_key,
                        remembered.reports_json(),
                        self._now(),
                    ),
                )
        except sqlite3.Error:
            return

    @staticmethod
    def _all_complete(index: sqlite3.Connection, report_keys: Sequence[str]) -> bool:
        keys = sorted(set(report_keys))
        marks = ", ".join("?" * len(keys))
        (complete,) = index.execute(
            f"SELECT count(*) FROM reports WHERE status = 'COMPLETE' AND report_key IN ({marks})",  # noqa: S608 (only ? marks)
            keys,
        ).fetchone()
        return bool(keys) and int(complete) == len(keys)

    def report_status(self, report_key: str) -> str | None:
        with self._index() as index:
            row = index.execute("SELECT status FROM reports WHERE report_key = ?", (report_key,)).fetchone()
        return None if row is None else str(row[0])
