"""Records in, `record_senders` rows out: one verdict per record, batch by batch, in bounded memory."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from operator import attrgetter
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dmarc_model.schema import SENDERS_SCHEMA
from dmarc_model.senders.classify import Classifier, Verdict
from dmarc_model.senders.signals import AUTH_FIELDS, AuthKey
from dmarc_model.timestamps import utc_naive

__all__ = [
    "CLASSIFIED_COLUMNS",
    "ITEM_SENDER_COLUMNS",
    "VERDICT_COLUMNS",
    "sender_items",
    "senders_parquet",
    "senders_table",
]

CLASSIFIED_COLUMNS = (
    "report_key",
    "record_index",
    "source_ip",
    "header_from",
    "envelope_from",
    "policy_dkim",
    "policy_spf",
    "reasons",
    "dkim_results",
    "spf_results",
)
"""The `records` columns a verdict is made from (and keyed by)."""
_KEY_COLUMNS = ("report_key", "record_index", "source_ip")
_AUTH_PLAIN = ("header_from", "envelope_from", "policy_dkim", "policy_spf")
VERDICT_COLUMNS: dict[str, Callable[[Verdict], Any]] = {
    "sender": attrgetter("sender"),
    "sender_name": attrgetter("name"),
    "sender_category": attrgetter("category"),
    "sender_confidence": attrgetter("confidence"),
    "sender_evidence": lambda verdict: list(verdict.evidence),
    "sender_fix": attrgetter("fix"),
    "sender_setup_url": attrgetter("setup_url"),
    "network_asn": attrgetter("asn"),
    "network_org": attrgetter("network"),
}
"""The `record_senders` columns a verdict fills (the others: the record's key, the classifier's version)."""
ITEM_SENDER_COLUMNS = ("sender", "sender_name", "sender_category", "sender_confidence")
"""The verdict's columns each DynamoDB record item carries, so a lookup by IP answers with a name."""
_COMPRESSION = "snappy"  # what the AWS SDK for pandas layer's pyarrow reads (dmarc_store.layout)


def senders_table(
    records: pa.Table | pa.RecordBatch, classifier: Classifier, classified_at: datetime
) -> pa.Table:
    """The verdicts of `records` (any table or batch holding `CLASSIFIED_COLUMNS`)."""
    if isinstance(records, pa.RecordBatch):
        return _senders_of(records, classifier, utc_naive(classified_at))
    parts = [_senders_of(batch, classifier, utc_naive(classified_at)) for batch in records.to_batches()]
    return pa.concat_tables(parts) if parts else SENDERS_SCHEMA.empty_table()


def _senders_of(batch: pa.RecordBatch, classifier: Classifier, at: datetime) -> pa.Table:
    """One batch's verdicts: each distinct verdict converted once, then taken for its rows (a report
    repeats a handful of senders over thousands of records)."""
    positions: list[int] = []
    seen: dict[int, int] = {}
    distinct: list[Verdict] = []  # holds each verdict, so no id() is reused while `seen` is
    for ip, auth in _keys(batch):
        verdict = classifier.classify_key(ip, auth)
        position = seen.get(id(verdict))
        if position is None:
            position = seen[id(verdict)] = len(distinct)
            distinct.append(verdict)
        positions.append(position)
    take = pa.array(positions, pa.int32())
    columns: dict[str, Any] = {name: batch.column(name) for name in _KEY_COLUMNS}
    for name, read in VERDICT_COLUMNS.items():
        values = pa.array([read(verdict) for verdict in distinct], SENDERS_SCHEMA.field(name).type)
        columns[name] = values.take(take)
    zeros = pa.array([0] * batch.num_rows, pa.int32())
    columns["classifier_version"] = pa.array([classifier.version], pa.string()).take(zeros)
    columns["classified_at"] = pa.array([at], SENDERS_SCHEMA.field("classified_at").type).take(zeros)
    return pa.table(columns, schema=SENDERS_SCHEMA)


def _keys(batch: pa.RecordBatch) -> Iterator[tuple[str, AuthKey]]:
    """Each record's (address, `auth_key`), read column by column: ten times faster than `to_pylist`,
    which makes a dict of every struct."""
    plain = [batch.column(name).to_pylist() for name in _AUTH_PLAIN]
    lists = [_list_of(batch.column(name), fields) for name, fields in AUTH_FIELDS.items()]
    ips = batch.column("source_ip").to_pylist()
    for ip, *values in zip(ips, *plain, *lists, strict=True):
        yield ip or "", tuple(values)


def _list_of(column: pa.ListArray, fields: tuple[str, ...]) -> list[tuple[tuple[Any, ...], ...]]:
    offsets = column.offsets.to_pylist()
    values = column.values
    items = list(zip(*(values.field(name).to_pylist() for name in fields), strict=True))
    return [tuple(items[offsets[row] : offsets[row + 1]]) for row in range(len(column))]


def sender_items(parquet: bytes) -> Iterator[dict[str, Any]]:
    """The `ITEM_SENDER_COLUMNS` of each row of a `senders_parquet` file, in record order: what the
    DynamoDB record items carry, read back rather than classified again."""
    source = pq.ParquetFile(io.BytesIO(parquet))
    for batch in source.iter_batches(columns=list(ITEM_SENDER_COLUMNS)):
        yield from batch.to_pylist()


def senders_parquet(
    batches: Iterable[pa.RecordBatch], classifier: Classifier, classified_at: datetime
) -> bytes:
    """One Parquet file of the verdicts, a row group per batch (a million records: a few MB, dictionary
    encoded: a report repeats a handful of senders)."""
    buffer = io.BytesIO()
    with pq.ParquetWriter(buffer, SENDERS_SCHEMA, compression=_COMPRESSION) as writer:
        for batch in batches:
            writer.write_table(senders_table(batch, classifier, classified_at))
    return buffer.getvalue()
