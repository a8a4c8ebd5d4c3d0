"""The ingest service's record sink: a report's first batch in memory, the rest spooled to disk.

Most reports hold a few records and never leave memory. From a report's second batch on
(`dmarc_model.record_rows.BATCH_ROWS` records), the batches go to a temporary Parquet file, one row
group each, in the same compression as the stored files: that file is then stored as it is (renamed
into the local store, uploaded to S3) and read back a row group at a time for DynamoDB. Peak memory
stays one batch and the parse, whatever the record count.

The file lives in the system's temporary folder (the Lambda's `/tmp`, whose size the deployment sets)
and is removed when the report is closed, or at once when it is refused half way.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dmarc_model.record_rows import MemoryRows, RecordRows, RecordSink
from dmarc_model.schema import RECORDS_SCHEMA
from dmarc_store.layout import PARQUET_COMPRESSION

__all__ = ["SpoolSink", "SpooledRows"]


class SpooledRows(RecordRows):
    """Rows in a temporary Parquet file of ours, one row group per batch."""

    def __init__(self, path: Path, num_rows: int) -> None:
        self.path = path
        self._num_rows = num_rows

    @property
    def num_rows(self) -> int:
        return self._num_rows

    def batches(self) -> Iterator[pa.RecordBatch]:
        with pq.ParquetFile(self.path) as parquet:
            for group in range(parquet.num_row_groups):
                yield from parquet.read_row_group(group).to_batches()

    def parquet_file(self) -> Path:
        return self.path

    def close(self) -> None:
        self.path.unlink(missing_ok=True)


class SpoolSink(RecordSink):
    """Keeps one batch in memory; from the second, writes them all to a temporary Parquet file."""

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory
        self._first: pa.RecordBatch | None = None
        self._writer: pq.ParquetWriter | None = None
        self._path: Path | None = None
        self._rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        self._rows += batch.num_rows
        if self._writer is None and self._first is None:
            self._first = batch
            return
        if self._writer is None:
            self._writer = self._open()
            self._writer.write_batch(self._first)
            self._first = None
        self._writer.write_batch(batch)

    def finish(self) -> RecordRows:
        if self._writer is None:
            return MemoryRows([] if self._first is None else [self._first])
        self._writer.close()
        assert self._path is not None
        return SpooledRows(self._path, self._rows)

    def discard(self) -> None:
        self._first = None
        if self._writer is not None:
            self._writer.close()
        if self._path is not None:
            self._path.unlink(missing_ok=True)

    def _open(self) -> pq.ParquetWriter:
        with tempfile.NamedTemporaryFile(
            prefix="dmarc-records-", suffix=".parquet", dir=self._directory, delete=False
        ) as handle:
            self._path = Path(handle.name)
        return pq.ParquetWriter(self._path, RECORDS_SCHEMA, compression=PARQUET_COMPRESSION)
