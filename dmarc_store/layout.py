"""Where things live, the same in an S3 bucket and in a local store folder.

incoming/<ses message id>                       raw mail written by SES
uploads/<name>                                  files a user drops in
parquet/<table>/dt=YYYY-MM-DD/<report_key>.parquet
parquet/<table>/dt=YYYY-MM-DD/compacted-<hash>.parquet   after daily compaction
quarantine/<reason>/<source key>                a copy of refused input
quarantine/<reason>/<source key>.json           its sidecar {reason, detail, source, report_keys, ...}
"""

from __future__ import annotations

import io
import re

import pyarrow as pa
import pyarrow.parquet as pq

INCOMING_PREFIX = "incoming/"
UPLOADS_PREFIX = "uploads/"
PARQUET_PREFIX = "parquet/"
QUARANTINE_PREFIX = "quarantine/"
TABLES = ("reports", "records")
PARQUET_COMPRESSION = "snappy"
"""The AWS SDK for pandas layer builds pyarrow without zstd, lz4 and brotli: snappy is what it reads."""


def partition_prefix(table: str, dt: str) -> str:
    return f"{PARQUET_PREFIX}{table}/dt={dt}/"


def parquet_key(table: str, dt: str, report_key: str) -> str:
    return f"{partition_prefix(table, dt)}{report_key}.parquet"


def quarantine_key(reason: str, source_key: str) -> str:
    return f"{QUARANTINE_PREFIX}{reason}/{safe_relative(source_key)}"


def safe_relative(name: str) -> str:
    """A source name as a relative key: no leading slash, no '..', no empty parts."""
    parts = [part for part in re.split(r"[\\/]+", name) if part not in ("", ".", "..")]
    return "/".join(parts) or "unnamed"


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression=PARQUET_COMPRESSION)
    return buffer.getvalue()
