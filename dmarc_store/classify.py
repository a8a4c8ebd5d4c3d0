"""Reclassification: every stored record's sender named again, when the rules or the reference data change,
without re-ingesting and without touching the records.

One day at a time: the day's `records` files are read a batch at a time (only the columns a verdict is
made from), each record's verdict written to one new file, `parquet/record_senders/dt=<day>/classified-
<digest>.parquet`, whose `classified_at` is the run's; then the day's `record_senders` files are compacted
(`dmarc_store.compact`), which keeps the newest verdict of each record and deletes the files it merged.
The view `record_details` reads the newest verdict of each record, so at every moment a record shows
either its old verdict or its new one, never none and never two.

A record ingested while a day is reclassified gets its verdict at ingest (by the same rules, in the same
deployment), so nothing is left unclassified; a report of a day not reclassified keeps its verdict.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pyarrow.parquet as pq

from dmarc_model.schema import SENDERS_SCHEMA
from dmarc_model.senders.classify import Classifier
from dmarc_model.senders.rows import CLASSIFIED_COLUMNS, senders_table
from dmarc_store.backends.objects import Objects
from dmarc_store.compact import Compaction, Skipped, compact_day
from dmarc_store.layout import PARQUET_COMPRESSION, PARQUET_PREFIX, partition_prefix

__all__ = ["CLASSIFIED_PREFIX", "Reclassified", "reclassify_day", "stored_days"]

CLASSIFIED_PREFIX = "classified-"
_DT = re.compile(r"/dt=(\d{4}-\d{2}-\d{2})/")
_READ_ROWS = 16_384


@dataclass
class Reclassified:
    """What one day's reclassification did."""

    dt: str
    records: int = 0
    senders: Counter[str] = field(default_factory=Counter)
    """Records per sender id."""
    written: str | None = None
    compaction: Compaction | Skipped | None = None

    def as_dict(self) -> dict[str, Any]:
        merged = self.compaction.as_dict() if self.compaction is not None else None
        return {
            "dt": self.dt,
            "records": self.records,
            "senders": dict(self.senders.most_common()),
            "written": self.written,
            "merged": merged,
        }


def stored_days(objects: Objects, since: date | None = None) -> list[date]:
    """The days that hold `records` files, oldest first (from `since` on)."""
    found = {
        match.group(1) for key in objects.list(f"{PARQUET_PREFIX}records/") if (match := _DT.search(key))
    }
    days = sorted(date.fromisoformat(dt) for dt in found)
    return [day for day in days if since is None or day >= since]


def reclassify_day(objects: Objects, classifier: Classifier, day: date, now: datetime) -> Reclassified:
    """Every record of `day` classified again; the day's older verdicts then merged away."""
    dt = day.isoformat()
    result = Reclassified(dt)
    keys = sorted(key for key in objects.list(partition_prefix("records", dt)) if key.endswith(".parquet"))
    buffer = io.BytesIO()
    with pq.ParquetWriter(buffer, SENDERS_SCHEMA, compression=PARQUET_COMPRESSION) as writer:
        for key in keys:
            source = pq.ParquetFile(io.BytesIO(objects.get(key)))
            for batch in source.iter_batches(batch_size=_READ_ROWS, columns=list(CLASSIFIED_COLUMNS)):
                verdicts = senders_table(batch, classifier, now)
                writer.write_table(verdicts)
                result.records += verdicts.num_rows
                result.senders.update(verdicts.column("sender").to_pylist())
    if result.records == 0:
        return result
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:32]
    result.written = f"{partition_prefix('record_senders', dt)}{CLASSIFIED_PREFIX}{digest}.parquet"
    objects.put(result.written, data)
    result.compaction = compact_day(objects, "record_senders", day)
    return result
