"""Deleting expired reports: whole `dt=` partitions of both Parquet tables, by the report's date.

A report's data goes by its `dt` (dmarc_store.retention), never by the age of a file: compaction
rewrites a day's files, so an object's age says nothing of its reports. On `today`, with retention N,
every partition `dt <= today - N` is deleted; the same reports' DynamoDB items carry
`expires_at = 00:00 UTC of dt + N` (TTL), and in a local store their index rows are deleted here.

    prune_parquet(objects, retention_days, today)   S3 (the compact Lambda, daily) or a local folder
    prune_local(root, retention_days, today)        a local store: Parquet, then index rows, quarantine,
                                                    and the raw failure reports (`ruf-raw/`, by age)

Data first, the report's identity (index row) last: while an identity outlives its data, a re-send is
still a duplicate; and it cannot be stored again afterwards, being dated before the accepted window.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from dmarc_model.errors import ConfigurationError
from dmarc_store.backends.local import forget_reports_before
from dmarc_store.backends.objects import LocalObjects, Objects
from dmarc_store.layout import (
    ALL_TABLES,
    KEPT_ASIDE_PREFIX,
    PARQUET_PREFIX,
    QUARANTINE_PREFIX,
    RUF_RAW_PREFIX,
)
from dmarc_store.retention import RUF_RAW_RETENTION_DAYS, first_kept_day

_DAY = re.compile(r"^dt=(?P<dt>\d{4}-\d{2}-\d{2})/")
DAY_SECONDS = 86400


@dataclass(frozen=True)
class PrunedPartition:
    table: str
    dt: str
    files: int
    prefix: str


@dataclass
class PruneResult:
    """What a prune deleted (or, dry, would delete)."""

    first_kept: str | None
    """The oldest dt kept (None: retention off, nothing deleted)."""
    dry_run: bool = False
    partitions: list[PrunedPartition] = field(default_factory=list)
    index_rows: int = 0
    quarantine_files: int = 0
    ruf_raw_files: int = 0
    """Raw failure report mails (`ruf-raw/`) deleted: a local store's, after DMARC_RUF_RAW_RETENTION_DAYS."""

    @property
    def files(self) -> int:
        return sum(partition.files for partition in self.partitions)

    def summary(self) -> dict[str, Any]:
        return {
            "first_kept": self.first_kept,
            "dry_run": self.dry_run,
            "partitions": len(self.partitions),
            "files": self.files,
            "index_rows": self.index_rows,
            "quarantine_files": self.quarantine_files,
            "ruf_raw_files": self.ruf_raw_files,
        }


def expired_partitions(objects: Objects, first_kept: date) -> Iterator[tuple[str, str, list[str]]]:
    """(table, dt, keys) of every partition dated before `first_kept`, oldest first: the Parquet
    tables, and the records kept aside (`kept-aside/dt=`, listed as the table `kept-aside`)."""
    folders = [(table, f"{PARQUET_PREFIX}{table}/") for table in ALL_TABLES]
    for table, prefix in [*folders, ("kept-aside", KEPT_ASIDE_PREFIX)]:
        by_day: dict[str, list[str]] = {}
        for key in objects.list(prefix):
            match = _DAY.match(key[len(prefix) :])
            if match and match["dt"] < first_kept.isoformat():
                by_day.setdefault(match["dt"], []).append(key)
        for dt in sorted(by_day):
            yield table, dt, by_day[dt]


def prune_parquet(
    objects: Objects, retention_days: int, today: date, *, dry_run: bool = False
) -> PruneResult:
    """Delete every expired `dt=` partition of both tables (nothing when retention is 0)."""
    first_kept = first_kept_day(retention_days, today)
    result = PruneResult(first_kept.isoformat() if first_kept else None, dry_run)
    if first_kept is None:
        return result
    for table, dt, keys in expired_partitions(objects, first_kept):
        if not dry_run:
            objects.delete(keys)
        prefix = keys[0][: keys[0].index(f"dt={dt}/") + len(f"dt={dt}/")]
        result.partitions.append(PrunedPartition(table, dt, len(keys), prefix))
    return result


def prune_local(
    root: Path,
    retention_days: int,
    today: date,
    *,
    dry_run: bool = False,
    ruf_raw_days: int = RUF_RAW_RETENTION_DAYS,
) -> PruneResult:
    """A local store: expired partitions, then their reports' index rows, then old quarantine files.

    A folder has no lifecycle rules, so the quarantine's files go here by age: N days after they were
    written (the bucket's `quarantine/` goes by age too, after quarantineRetentionDays, at most N). The
    raw mails of failure reports (`ruf-raw/`) go `ruf_raw_days` after they were written, whatever N
    (also with retention off), like the bucket's lifecycle rule on `ruf-raw/`.
    """
    if not root.is_dir():
        raise ConfigurationError(f"no store at {root}")
    result = prune_parquet(LocalObjects(root), retention_days, today, dry_run=dry_run)
    result.ruf_raw_files = _prune_by_age(root / RUF_RAW_PREFIX, ruf_raw_days, dry_run=dry_run)
    if result.first_kept is None:
        return result
    if not dry_run:
        _remove_empty_partition_folders(root, result.partitions)
    result.index_rows = forget_reports_before(root, result.first_kept, dry_run=dry_run)
    result.quarantine_files = _prune_quarantine(root, retention_days, dry_run=dry_run)
    return result


def _prune_quarantine(root: Path, retention_days: int, *, dry_run: bool) -> int:
    return _prune_by_age(root / QUARANTINE_PREFIX, retention_days, dry_run=dry_run)


def _prune_by_age(folder: Path, retention_days: int, *, dry_run: bool) -> int:
    """Delete (or, dry, count) the files of `folder` written more than `retention_days` days ago."""
    if not folder.is_dir():
        return 0
    oldest = time.time() - retention_days * DAY_SECONDS
    old = [path for path in folder.rglob("*") if path.is_file() and path.stat().st_mtime < oldest]
    if not dry_run:
        for path in old:
            path.unlink(missing_ok=True)
    return len(old)


def _remove_empty_partition_folders(root: Path, pruned: list[PrunedPartition]) -> None:
    """The folders of the partitions just emptied (no report can be written there any more)."""
    for partition in pruned:
        folder = root / partition.prefix
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
