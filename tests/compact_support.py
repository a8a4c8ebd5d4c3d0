"""What the compaction tests share: a day of small Parquet files made fast, Objects kept in memory that
behave as the two backends do, and what the views count.

One real report is ingested once per session; every other file is a copy of its rows under another
report_key, so a test can hold a day of forty reports without running the generator forty times.
"""

from __future__ import annotations

import io
import itertools
import multiprocessing
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dmarc_store.backends.objects import LocalObjects, Objects, StoredObject
from dmarc_store.errors import ObjectMissing
from dmarc_store.layout import parquet_bytes, parquet_key, partition_prefix

DAY = date(2025, 1, 1)
DT = DAY.isoformat()
BEGIN = "1735689600"  # 2025-01-01T00:00:00Z
AFTER = date(2025, 1, 3)
"""A `today` on which DAY is closed (compact_after_days 2) and within a lookback of 1."""
IDENTITY = {"reports": ("report_key",), "records": ("report_key", "record_index")}


@dataclass(frozen=True)
class Template:
    """One ingested report's two rows sets, to copy under other report keys."""

    reports: pa.Table
    records: pa.Table

    @property
    def message_total(self) -> int:
        return int(pc.sum(self.records.column("message_count")).as_py())


@cache
def template(folder: str) -> Template:
    """Ingest one generated report (5 records) into a store under `folder`; its rows."""
    from dmarc_store.backends.local import LocalStore
    from dmarc_store.ingest.service import IngestService
    from tests.helpers import make_report

    root = Path(folder)
    source = root / "template.xml"
    make_report(source, 5, 7, "--begin", BEGIN)
    result = IngestService(LocalStore(root / "store")).ingest(str(source), source.read_bytes())
    assert result.new == 1
    objects = LocalObjects(root / "store")
    (records_key,) = objects.list(partition_prefix("records", DT))
    (reports_key,) = objects.list(partition_prefix("reports", DT))
    return Template(_table(objects.get(reports_key)), _table(objects.get(records_key)))


def _table(data: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(data))


def as_report(table: pa.Table, report_key: str) -> pa.Table:
    """The rows with another report_key (the same values otherwise)."""
    index = table.schema.get_field_index("report_key")
    keys = pa.array([report_key] * table.num_rows, pa.string())
    return table.set_column(index, "report_key", keys)


def report_files(
    base: Template, names: list[str], tables: tuple[str, ...] = ("records",)
) -> dict[str, bytes]:
    """Per-report files of DAY, one per name, for the tables asked."""
    files: dict[str, bytes] = {}
    for name, table in itertools.product(names, tables):
        rows = base.records if table == "records" else base.reports
        files[parquet_key(table, DT, name)] = parquet_bytes(as_report(rows, name))
    return files


def write_files(objects: Objects, files: Mapping[str, bytes]) -> None:
    for key, data in files.items():
        objects.put(key, data)


def identities(objects: Objects, table: str = "records") -> set[tuple[Any, ...]]:
    """Every identity present in some file of DAY (what the views count once)."""
    found: set[tuple[Any, ...]] = set()
    for key in objects.list(partition_prefix(table, DT)):
        found |= _identities_of(objects.get(key), table)
    return found


@cache
def _identities_of(data: bytes, table: str) -> frozenset[tuple[Any, ...]]:
    rows = _table(data)
    columns = [rows.column(name).to_pylist() for name in IDENTITY[table]]
    return frozenset(zip(*columns, strict=True))


def views_total(objects: Objects) -> int:
    """sum(message_count) over one row per (report_key, record_index): the views' total."""
    seen: dict[tuple[Any, ...], int] = {}
    for key in objects.list(partition_prefix("records", DT)):
        for identity, count in _counts_of(objects.get(key)):
            seen.setdefault(identity, count)
    return sum(seen.values())


@cache
def _counts_of(data: bytes) -> tuple[tuple[tuple[Any, ...], int], ...]:
    rows = _table(data)
    keys, indices, counts = (
        rows.column(name).to_pylist() for name in ("report_key", "record_index", "message_count")
    )
    return tuple(((key, index), count) for key, index, count in zip(keys, indices, counts, strict=True))


class MemoryObjects(Objects):
    """Objects in a dict, answering as S3Objects and LocalObjects do (tests/test_compact_faults.py holds
    the backends to the same answers): ObjectMissing, versions, conditional deletes."""

    def __init__(self, files: Mapping[str, bytes] | None = None) -> None:
        self.files: dict[str, bytes] = {}
        self.versions: dict[str, int] = {}
        self._writes = itertools.count(1)
        self._lock = threading.Lock()
        write_files(self, files or {})

    def list(self, prefix: str) -> list[str]:
        with self._lock:
            return sorted(key for key in self.files if key.startswith(prefix))

    def read(self, key: str) -> StoredObject:
        with self._lock:
            if key not in self.files:
                raise ObjectMissing(key)
            return StoredObject(self.files[key], str(self.versions[key]))

    def get(self, key: str) -> bytes:
        return self.read(key).data

    def put(self, key: str, data: bytes) -> None:
        with self._lock:
            self.files[key] = data
            self.versions[key] = next(self._writes)

    def delete(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self.files.pop(key, None)

    def delete_unchanged(self, versions: Mapping[str, str]) -> list[str]:
        kept = []
        with self._lock:
            for key, version in versions.items():
                if key not in self.files:
                    continue
                if str(self.versions[key]) != version:
                    kept.append(key)
                    continue
                del self.files[key]
        return kept


class Hooked(Objects):
    """Another Objects, with `before(operation, key)` called before each operation: a test makes another
    compaction run to completion at the exact moment it wants."""

    def __init__(self, inner: Objects, before: Callable[[str, str], None]) -> None:
        self.inner = inner
        self.before = before

    def list(self, prefix: str) -> list[str]:
        keys = self.inner.list(prefix)
        self.before("listed", prefix)
        return keys

    def read(self, key: str) -> StoredObject:
        self.before("read", key)
        return self.inner.read(key)

    def get(self, key: str) -> bytes:
        self.before("read", key)
        return self.inner.get(key)

    def put(self, key: str, data: bytes) -> None:
        self.before("put", key)
        self.inner.put(key, data)

    def delete(self, keys: list[str]) -> None:
        self.before("delete", ",".join(keys))
        self.inner.delete(keys)

    def delete_unchanged(self, versions: Mapping[str, str]) -> list[str]:
        self.before("delete", ",".join(versions))
        return self.inner.delete_unchanged(versions)


def once(action: Callable[[], None]) -> Callable[[], None]:
    """`action` the first time it is called, nothing afterwards."""
    done = threading.Event()

    def run() -> None:
        if not done.is_set():
            done.set()
            action()

    return run


def compact_in_a_process(root: str, barrier: Any, results: Any) -> None:
    """A child process: wait for the other, compact DAY's tables in the local store, report the outcome."""
    from dmarc_store.compact import compact_closed_days

    barrier.wait()
    try:
        run = compact_closed_days(LocalObjects(Path(root)), AFTER, after_days=2, lookback_days=1)
        results.put(("ok", [skip.reason for skip in run.skipped]))
    except Exception as error:
        results.put(("raised", repr(error)))
        raise


class _OneAtATime:
    """A boto3 client (or paginator) whose requests moto answers one at a time: moto's in-process S3 is
    not thread-safe (two PUTs of one key at once break its buffers), while each real S3 request is
    atomic. Threads still interleave between requests, which is what the tests race."""

    def __init__(self, inner: Any, lock: threading.Lock) -> None:
        self._inner = inner
        self._lock = lock

    def get_paginator(self, operation: str) -> _OneAtATime:
        return _OneAtATime(self._inner.get_paginator(operation), self._lock)

    def paginate(self, **kwargs: Any) -> Any:
        with self._lock:
            return iter(list(self._inner.paginate(**kwargs)))

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name.startswith("_") or not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attribute(*args, **kwargs)

        return call


def one_request_at_a_time(client: Any) -> Any:
    return _OneAtATime(client, threading.Lock())


def spawn_context() -> Any:
    return multiprocessing.get_context("spawn")
