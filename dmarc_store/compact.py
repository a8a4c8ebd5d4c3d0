"""Daily compaction: many small per-report Parquet files of a closed day -> one file per table and day.

Why there is never a window in which a reader sees a row twice or not at all:
1. The merged file `compacted-<digest>.parquet` is written whole (an S3 PUT, or a local rename) before
   anything is deleted, so every row is always present in at least one file.
2. Between that write and the deletes, a row is present twice. Every view in `athena_queries/views`
   keeps one row per (report_key, record_index) for records and per report_key for reports, so what
   readers query never counts it twice; the merged file holds the same bytes of values as the files
   it replaces, so either copy is the same row.
3. Running again is harmless: a day already down to one compacted file is left alone, and a report
   that arrives late for a compacted day is merged on the next run with the compacted file.
"""

from __future__ import annotations

import functools
import hashlib
import io
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dmarc_model.schema import SCHEMAS
from dmarc_store.backends.objects import Objects
from dmarc_store.layout import TABLES, parquet_bytes, partition_prefix

COMPACTED_PREFIX = "compacted-"
LOOKBACK_DAYS = 30
"""How far back the daily run looks for days that received late reports."""
_IDENTITY = {"reports": ("report_key",), "records": ("report_key", "record_index")}


@dataclass(frozen=True)
class Compaction:
    table: str
    dt: str
    merged: int
    """Files merged (0: nothing to do)."""
    rows: int
    key: str | None


def closed_days(today: date, after_days: int, lookback_days: int = LOOKBACK_DAYS) -> list[date]:
    """The days a run looks at: closed (ended `after_days` ago or more), within the lookback."""
    last = today - timedelta(days=after_days)
    return [last - timedelta(days=offset) for offset in range(lookback_days)]


def compact_day(objects: Objects, table: str, day: date) -> Compaction:
    """Merge one table's files of one day into one file, then delete the merged files."""
    dt = day.isoformat()
    keys = [key for key in objects.list(partition_prefix(table, dt)) if key.endswith(".parquet")]
    if len(keys) <= 1:
        return Compaction(table, dt, 0, 0, None)
    merged = _merge(table, [pq.read_table(io.BytesIO(objects.get(key))) for key in keys])
    digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]
    target = f"{partition_prefix(table, dt)}{COMPACTED_PREFIX}{digest}.parquet"
    objects.put(target, parquet_bytes(merged))
    objects.delete([key for key in keys if key != target])
    return Compaction(table, dt, len(keys), merged.num_rows, target)


def compact_closed_days(
    objects: Objects, today: date, after_days: int, lookback_days: int = LOOKBACK_DAYS
) -> list[Compaction]:
    done = []
    for day in closed_days(today, after_days, lookback_days):
        for table in TABLES:
            result = compact_day(objects, table, day)
            if result.merged:
                done.append(result)
    return done


def _merge(table: str, parts: list[pa.Table]) -> pa.Table:
    """One table, one row per identity, in a stable order (so reruns write the same bytes)."""
    schema = SCHEMAS[table]
    identity = _IDENTITY[table]
    combined = pa.concat_tables([part.select(schema.names).cast(schema) for part in parts])
    combined = combined.sort_by([(name, "ascending") for name in identity])
    rows = combined.num_rows
    if rows <= 1:
        return combined
    columns = [combined.column(name) for name in identity]
    changed = [pc.not_equal(column.slice(1), column.slice(0, rows - 1)) for column in columns]
    starts_identity = functools.reduce(pc.or_, changed)
    keep = pa.concat_arrays([pa.array([True]), *starts_identity.chunks])
    return combined.filter(keep)
