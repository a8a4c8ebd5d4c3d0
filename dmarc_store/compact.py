"""Daily compaction: many small per-report Parquet files of a closed day -> one file per table and day.

One compaction of a table and day lists the day's files, reads each (noting the version read), writes
the merge of those it read as `compacted-<digest>.parquet`, then deletes each key it merged while that
key still holds the version it read. The digest is of the keys merged and of their contents, so a
merged file's name fixes what it holds. A "row" is what the views count once: a `report_key` in
`reports`, a (`report_key`, `record_index`) in `records`; in the TLS tables a `report_key`, with its
`policy_index` and `detail_index` where the table has them.

Invariants
1. Written before deleted. The merged file is written whole (an S3 PUT, a local rename) before any
   input is deleted; a compaction deletes only keys it has read and merged, never the file it wrote, and
   a key only while it holds the version read (a report rewritten meanwhile stays, for the next run).
2. Between that write and the deletes a row is present twice. Every view in `athena_queries/views`
   keeps one row per identity, so what readers query never counts it twice; the merged file holds the
   same values as the files it replaces, so either copy is the same row.
3. Running again is harmless: a day already down to one file is left alone (not even read), and a
   report that arrives late for a compacted day is merged on the next run with the compacted file.
4. Concurrent compactions (two schedules, `dmarc compact` beside the Lambda, a retry) are safe. A
   listed file that is gone when read (`ObjectMissing`) was merged by another compaction (or pruned):
   this one stops that day before writing or deleting anything, reports it skipped (`taken`), goes on.
   Two that read the same files write the same bytes under the same name (inputs in key order, a stable
   sort, nothing time-dependent in the file). Two that listed different sets leave at worst two merged
   files (A lists {1,2}, B {1,2,3}: cA and cB remain), rows twice on disk and once in the views; the
   next run merges them.
5. Schema versions. Each file is read into the declared schema (`dmarc_model.schema.SCHEMAS`): a column
   or struct field it lacks (written before it was added) reads as null, a narrower type is widened. A
   file with a column or struct field this version does not know (written by a newer version), a column
   that does not cast, no identity column, or bytes that are not Parquet is set aside: left in place, not
   merged, named in the result and logged. Its rows stay visible to the views, and the newer version's
   compaction merges it. Nothing is dropped silently.
6. One day never stops another: an error on one table and day is logged, reported skipped (`failed`)
   with the error, and the run goes on with the other days.
7. `record_senders` holds one verdict per record and classification: a reclassification (`dmarc
   classify`) adds a newer one, and the merge keeps only the newest (`classified_at`) of each record, as
   the view `record_details` does. For that table "no row is lost" below reads "no record loses its
   newest verdict": the merge holds the newest of every record it read.

Why no row is ever lost, whatever runs at once, and when merged files are themselves inputs:
  (a) Every write of a merged file's name holds the same rows: the name is a digest of its inputs' keys
      and bytes, and the merge is deterministic.
  (b) A compaction X that deletes anything has read every key of its input set S_X and written c_X,
      holding every row of those reads, before its first delete (1; by 4 a missing input stops X first);
      and X deletes a key only while it holds the version X read (1), so what X deletes is in c_X.
  (c) "Merged from" is acyclic: c_X is named by a digest of S_X, so c_X is not among the files it was
      merged from, directly or through other merged files (that would take a digest preimage).
  Claim: when X deletes a file f, every row of f is in a file other than f that exists at that moment.
  Proof: by (b) the rows of f are in c_X. Follow g0 = c_X: if g_i exists, stop; else some Y deleted it,
  and by (a) and (b) its rows are in g_(i+1) = c_Y, which Y wrote before. Each g_(i+1) is merged from
  g_i, so by (c) no name comes twice and the chain ends, at a file that exists and is merged (through the
  chain) from f: by (c) it is neither f nor in S_X, so X's deletes do not touch it. Set-aside files are
  in no S_X, so no compaction deletes them. (Locally the version check and the unlink are two steps:
  a report rewritten within those microseconds would be lost; on S3 the delete itself is conditional.)
The one other deleter of Parquet files is retention (`dmarc_store.prune`), which deletes on purpose.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dmarc_model.schema import SCHEMAS
from dmarc_store.backends.objects import Objects, StoredObject
from dmarc_store.errors import ObjectMissing
from dmarc_store.layout import COMPACTED_TABLES, ROW_GROUP_BYTES, parquet_bytes, partition_prefix

__all__ = [
    "COMPACTED_PREFIX",
    "FAILED",
    "LOOKBACK_DAYS",
    "TAKEN",
    "Compaction",
    "CompactionRun",
    "SetAside",
    "Skipped",
    "closed_days",
    "compact_closed_days",
    "compact_day",
    "merged_key",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())  # the shells report; a CLI run prints its own lines

COMPACTED_PREFIX = "compacted-"
LOOKBACK_DAYS = 30
"""How far back the daily run looks for days that received late reports."""
TAKEN = "taken"
"""Skipped: a listed file was gone when read, because another compaction merged it. Nothing was done."""
FAILED = "failed"
"""Skipped: an error (the detail names it); the files are as they were, or merged twice (see 1)."""
_IDENTITY = {
    "reports": ("report_key",),
    "records": ("report_key", "record_index"),
    "record_senders": ("report_key", "record_index"),
    "tls_reports": ("report_key",),
    "tls_policies": ("report_key", "policy_index"),
    "tls_failures": ("report_key", "policy_index", "detail_index"),
}
_NEWEST = {"record_senders": "classified_at"}
"""Tables whose rows of one identity may differ (a verdict, then the verdict of a reclassification):
the merge keeps the newest by this column, which is what the views read (see 7)."""


@dataclass(frozen=True)
class SetAside:
    """A file left in place, not merged, and why."""

    key: str
    reason: str


@dataclass(frozen=True)
class Compaction:
    table: str
    dt: str
    merged: int
    """Files merged (0: nothing to do)."""
    rows: int
    key: str | None
    set_aside: tuple[SetAside, ...] = ()
    """Files of the day this version could not merge (invariant 5), left where they are."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "dt": self.dt,
            "merged": self.merged,
            "rows": self.rows,
            "key": self.key,
            "set_aside": [{"key": aside.key, "reason": aside.reason} for aside in self.set_aside],
        }


@dataclass(frozen=True)
class Skipped:
    """A table and day this run did not compact: `taken` or `failed`, and the detail."""

    table: str
    dt: str
    reason: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "dt": self.dt, "reason": self.reason, "detail": self.detail}


@dataclass
class CompactionRun:
    """What a run did: the days compacted (or holding files set aside), and the days skipped."""

    compacted: list[Compaction] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def failed(self) -> list[Skipped]:
        return [skip for skip in self.skipped if skip.reason == FAILED]

    def add(self, result: Compaction | Skipped) -> None:
        if isinstance(result, Skipped):
            self.skipped.append(result)
        elif result.merged or result.set_aside:
            self.compacted.append(result)

    def as_dict(self) -> dict[str, Any]:
        return {
            "compacted": [compaction.as_dict() for compaction in self.compacted],
            "skipped": [skip.as_dict() for skip in self.skipped],
        }


def closed_days(today: date, after_days: int, lookback_days: int = LOOKBACK_DAYS) -> list[date]:
    """The days a run looks at: closed (ended `after_days` ago or more), within the lookback."""
    last = today - timedelta(days=after_days)
    return [last - timedelta(days=offset) for offset in range(lookback_days)]


def merged_key(table: str, dt: str, inputs: Mapping[str, bytes]) -> str:
    """The merged file's name: a digest of the input keys and their bytes, so the name fixes the rows."""
    listing = "".join(f"{key}\n{hashlib.sha256(inputs[key]).hexdigest()}\n" for key in sorted(inputs))
    digest = hashlib.sha256(listing.encode()).hexdigest()[:16]
    return f"{partition_prefix(table, dt)}{COMPACTED_PREFIX}{digest}.parquet"


def compact_day(objects: Objects, table: str, day: date) -> Compaction | Skipped:
    """Merge one table's files of one day into one file, then delete the files merged.

    A `Skipped` (`taken`) when a listed file is gone before it is read: another compaction has it.
    Other errors are raised (`compact_closed_days` reports them and goes on).
    """
    dt = day.isoformat()
    keys = [key for key in objects.list(partition_prefix(table, dt)) if key.endswith(".parquet")]
    if len(keys) <= 1:
        return Compaction(table, dt, 0, 0, None)
    try:
        stored = {key: objects.read(key) for key in keys}
    except ObjectMissing as missing:
        detail = f"{missing.key} is gone since it was listed: another compaction merged it (or retention"
        detail += " deleted it); nothing was written or deleted"
        logger.warning("compaction of %s %s skipped: %s", table, dt, detail)
        return Skipped(table, dt, TAKEN, detail)
    parts, set_aside = _conform_all(table, stored)
    if len(parts) <= 1:
        return _set_aside_only(table, dt, set_aside)
    inputs = sorted(parts)
    merged = _merge(table, [parts[key] for key in inputs])
    target = merged_key(table, dt, {key: stored[key].data for key in inputs})
    objects.put(target, parquet_bytes(merged, row_group_bytes=ROW_GROUP_BYTES))
    rewritten = objects.delete_unchanged({key: stored[key].version for key in inputs if key != target})
    set_aside += [
        SetAside(key, "written again while it was merged: the next run merges it") for key in rewritten
    ]
    _warn(table, dt, set_aside)
    return Compaction(table, dt, len(inputs), merged.num_rows, target, tuple(set_aside))


def _set_aside_only(table: str, dt: str, set_aside: list[SetAside]) -> Compaction:
    _warn(table, dt, set_aside)
    return Compaction(table, dt, 0, 0, None, tuple(set_aside))


def _warn(table: str, dt: str, set_aside: list[SetAside]) -> None:
    for aside in set_aside:
        logger.warning("compaction of %s %s left %s in place: %s", table, dt, aside.key, aside.reason)


def compact_closed_days(
    objects: Objects,
    today: date,
    after_days: int,
    lookback_days: int = LOOKBACK_DAYS,
    *,
    first_kept: date | None = None,
) -> CompactionRun:
    """Compact every table of every closed day in the lookback; one day's trouble never stops another.

    Days before `first_kept` (past retention: dmarc_store.retention) are left to the prune, never merged.
    """
    run = CompactionRun()
    days = closed_days(today, after_days, lookback_days)
    for day in (day for day in days if first_kept is None or day >= first_kept):
        for table in COMPACTED_TABLES:
            run.add(_compact_or_skip(objects, table, day))
    return run


def _compact_or_skip(objects: Objects, table: str, day: date) -> Compaction | Skipped:
    try:
        return compact_day(objects, table, day)
    except Exception as error:  # one day's failure must not stop the others (invariant 6)
        logger.error("compaction of %s %s failed", table, day.isoformat(), exc_info=True)
        return Skipped(table, day.isoformat(), FAILED, f"{type(error).__name__}: {error}")


def _conform_all(
    table: str, stored: Mapping[str, StoredObject]
) -> tuple[dict[str, pa.Table], list[SetAside]]:
    """Every file read, in the declared schema; those this version cannot merge, set aside."""
    parts: dict[str, pa.Table] = {}
    set_aside: list[SetAside] = []
    for key, stored_object in stored.items():
        conformed = _conform(table, stored_object.data)
        if isinstance(conformed, str):
            set_aside.append(SetAside(key, conformed))
        else:
            parts[key] = conformed
    return parts, set_aside


def _conform(table: str, data: bytes) -> pa.Table | str:
    """One file's rows in the declared schema (missing columns as null, narrower types widened), or why
    this version cannot merge the file."""
    schema = SCHEMAS[table]
    try:
        part = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError) as error:
        return f"not a readable Parquet file: {error}"
    unknown = _unknown_fields(part.schema, schema)
    if unknown:
        return f"written by a newer version: unknown {', '.join(unknown)}"
    missing_identity = [name for name in _IDENTITY[table] if name not in part.column_names]
    if missing_identity:
        return f"no {', '.join(missing_identity)}: its rows cannot be told apart"
    columns = []
    for declared in schema:
        if declared.name not in part.column_names:
            columns.append(pa.nulls(part.num_rows, declared.type))
            continue
        column = part.column(declared.name)
        try:
            columns.append(column.cast(declared.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as error:
            return f"{declared.name} is {column.type}, not {declared.type}: {error}"
    return pa.Table.from_arrays(columns, schema=schema)


def _unknown_fields(
    found: pa.Schema | pa.DataType, declared: pa.Schema | pa.DataType, path: str = ""
) -> list[str]:
    """Columns and nested struct fields in `found` that `declared` does not have (a cast would drop them)."""
    if isinstance(found, pa.Schema) or pa.types.is_struct(found):
        if not (isinstance(declared, pa.Schema) or pa.types.is_struct(declared)):
            return []
        known = {declared.field(index).name: declared.field(index).type for index in range(_width(declared))}
        unknown: list[str] = []
        for index in range(_width(found)):
            child = found.field(index)
            name = f"{path}{child.name}"
            if child.name not in known:
                unknown.append(name)
            else:
                unknown += _unknown_fields(child.type, known[child.name], f"{name}.")
        return unknown
    if _is_list(found) and _is_list(declared):
        return _unknown_fields(found.value_type, declared.value_type, path)
    return []


def _width(shape: pa.Schema | pa.DataType) -> int:
    return len(shape) if isinstance(shape, pa.Schema) else int(shape.num_fields)


def _is_list(shape: pa.Schema | pa.DataType) -> bool:
    return isinstance(shape, pa.DataType) and (pa.types.is_list(shape) or pa.types.is_large_list(shape))


def _merge(table: str, parts: list[pa.Table]) -> pa.Table:
    """One table, one row per identity, in a stable order (so reruns write the same bytes)."""
    identity = _IDENTITY[table]
    combined = pa.concat_tables(parts)
    order = [(name, "ascending") for name in identity]
    if table in _NEWEST:
        order.append((_NEWEST[table], "descending"))
    combined = combined.sort_by(order)
    rows = combined.num_rows
    if rows <= 1:
        return combined
    columns = [combined.column(name) for name in identity]
    changed = [pc.not_equal(column.slice(1), column.slice(0, rows - 1)) for column in columns]
    starts_identity = functools.reduce(pc.or_, changed)
    keep = pa.concat_arrays([pa.array([True]), *starts_identity.chunks])
    return combined.filter(keep)
