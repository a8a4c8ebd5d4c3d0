"""The `records` rows of one report as Arrow record batches, wherever they are kept until stored.

A report is read one record at a time (`dmarc_model.parse`) and its rows gathered column by column
(`dmarc_model.rows.RecordColumns`). Every `BATCH_ROWS` records the columns become one record batch and
go to a `RecordSink`, so what is held in memory is one batch, whatever the report's size. The sink
decides where the batches wait until the report is stored:

    MemorySink            a list: the default, and right for the reports most receivers send
    dmarc_store's spool   the first batch in memory, the rest in a temporary Parquet file, one row
                          group per batch (`dmarc_store.ingest.spool`): a 1M-record report is read,
                          stored and written to DynamoDB with one batch in memory at a time

The store reads them back as `RecordRows`: batches again, or, when the sink already wrote one, the
Parquet file itself to upload as it is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from dmarc_model.schema import RECORDS_SCHEMA

__all__ = ["BATCH_ROWS", "MemoryRows", "MemorySink", "RecordRows", "RecordSink"]

BATCH_ROWS = 16_384
"""Records per batch (and per Parquet row group when spooled): about 10 MiB of Python values while
gathered, and enough rows for Arrow and DynamoDB batching to run at full speed."""


class RecordRows(ABC):
    """A report's `records` rows, read back batch by batch (re-readable, in record order)."""

    @property
    @abstractmethod
    def num_rows(self) -> int: ...

    @abstractmethod
    def batches(self) -> Iterator[pa.RecordBatch]:
        """The rows in record order, a batch at a time; each call starts again from the first."""

    def parquet_file(self) -> Path | None:
        """A Parquet file holding exactly these rows, to store as it is; None when they are in memory."""
        return None

    def table(self) -> pa.Table:
        """Every row at once: for small reports and tests (a store reads `batches()`)."""
        return pa.Table.from_batches(list(self.batches()), schema=RECORDS_SCHEMA)

    def close(self) -> None:
        """Free what holds the rows (a temporary file); reading them after this is an error."""
        return


class RecordSink(ABC):
    """Where a report's record batches go while it is read; `finish` hands them back as `RecordRows`."""

    batch_rows: int = BATCH_ROWS
    """The rows of each batch written (the last may have fewer)."""

    @abstractmethod
    def write(self, batch: pa.RecordBatch) -> None: ...

    @abstractmethod
    def finish(self) -> RecordRows:
        """The rows written, once the last batch is in."""

    def discard(self) -> None:
        """The report was refused half way, or after `finish`: drop what was written."""
        return


class MemoryRows(RecordRows):
    def __init__(self, batches: list[pa.RecordBatch]) -> None:
        self._batches = batches

    @property
    def num_rows(self) -> int:
        return sum(batch.num_rows for batch in self._batches)

    def batches(self) -> Iterator[pa.RecordBatch]:
        return iter(self._batches)


class MemorySink(RecordSink):
    def __init__(self) -> None:
        self._batches: list[pa.RecordBatch] = []

    def write(self, batch: pa.RecordBatch) -> None:
        self._batches.append(batch)

    def finish(self) -> RecordRows:
        return MemoryRows(self._batches)

    def discard(self) -> None:
        self._batches = []
