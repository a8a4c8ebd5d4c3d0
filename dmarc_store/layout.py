"""Where things live, the same in an S3 bucket and in a local store folder.

incoming/<ses message id>                       raw mail written by SES
uploads/<name>                                  files a user drops in
parquet/<table>/dt=YYYY-MM-DD/<report_key>.parquet
parquet/<table>/dt=YYYY-MM-DD/compacted-<hash>.parquet   after daily compaction
parquet/record_senders/dt=YYYY-MM-DD/classified-<hash>.parquet   a day reclassified (`dmarc classify`)
parquet/conflicts/dt=YYYY-MM-DD/<report_key>-<sha16>.parquet   a copy that conflicts with the stored report
kept-aside/dt=YYYY-MM-DD/<report_key>.json      records of a stored report that failed validation
quarantine/<reason>/<name>                      a copy of refused input, <name> made from its source key
parquet/failure_reports/dt=YYYY-MM-DD/<failure_key>.parquet   a failure report's fields and hashes
parquet/tls_reports|tls_policies|tls_failures/dt=YYYY-MM-DD/<report_key>.parquet   an SMTP TLS report
ruf-raw/<name>                                  the raw mail of a failure report (RUF), kept a few days only
quarantine/<reason>/<name>%note.json            its note {reason, detail, source, report_keys, ...}

Names of quarantined objects (`object_name`). A source key is any text: a local path (absolute,
relative, with `..`), an S3 key (`a//b`, a backslash, a newline), of any length. Its name is the key
with these characters percent-encoded as UTF-8 (`%XX`, upper-case hex):

- `%` itself, `\\`, control characters (C0, DEL, C1), U+2028/U+2029, lone surrogates, and the
  invisible characters that hide or reorder a listed name (bidi, zero-width, BOM, tags: `_ESCAPED`);
- every `/` that does not stand between two non-empty parts (`/tmp/a` gives `%2Ftmp/a`, `a//b`
  gives `a%2F%2Fb`), so no part is empty and no name starts with `/`;
- a `.` that starts a part (`..` gives `%2E.`, `.x` gives `%2Ex`), so no part is `.` or `..` and
  no part is hidden or looks like a temporary file (`write_atomically`).

An ordinary key (`uploads/report.xml`, `incoming/<id>`) is its own name. Percent-decoding a name
gives the key back, so two keys never share a name. A name whose part exceeds 245 bytes (a file name
is at most 255, less the note's 10) or whose whole exceeds what S3 allows (1,024 bytes with prefix and
note suffix) is shortened: each part cut to 211 bytes, the whole cut to fit, both on character
boundaries, then `%-` and 32 hex digits of the SHA-256 of the source key appended. The note's suffix
starts with `%n` and the shortened tag with `%-`, which encoding never produces (it only writes `%`
before two hex digits), so:

1. a copy is never a note: notes end in `%note.json`, a copy has no `%n`;
2. two plain names are equal only if their keys are (decoding);
3. a shortened name is never a plain one (`%-`), two shortened names are equal only if the keys'
   hashes are (128 bits);
4. a note or a shortened name is never a folder of another name (folders are plain encoded parts, or
   parts cut without the tag); a folder of one name is the file of another only when one source path
   is a folder under the other (`a`, then `a/b`): never at once, as a path is a file or a folder.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

INCOMING_PREFIX = "incoming/"
UPLOADS_PREFIX = "uploads/"
PARQUET_PREFIX = "parquet/"
QUARANTINE_PREFIX = "quarantine/"
QUARANTINE_NOTE_SUFFIX = "%note.json"
NAME_MAX_BYTES = 255
"""A file name's limit in bytes on the usual local file systems (ext4, XFS, Btrfs, APFS)."""
KEY_MAX_BYTES = 1024
"""An S3 key's limit in UTF-8 bytes."""
_SHORTENED_TAG = "%-"
_ESCAPED = re.compile(
    "[%\\\\\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
    "\ud800-\udfff\U000e0000-\U000e007f]"
)
"""What a name never holds as it is: `%`, `\\`, controls (C0, DEL, C1), and the characters that hide or
reorder text when a name is listed (bidi overrides and isolates, zero-width, BOM, tags), separators and
lone surrogates."""
_TOKEN = re.compile(r"%[0-9A-F]{2}|.", re.DOTALL)
KEPT_ASIDE_PREFIX = "kept-aside/"
RUF_RAW_PREFIX = "ruf-raw/"
"""The raw mail of failure reports: personal data, out of the long-retention prefixes, short-lived."""
FAILURES_TABLE = "failure_reports"
TLS_TABLES = ("tls_reports", "tls_policies", "tls_failures")
"""The SMTP TLS report tables (RFC 8460): `dmarc_model.tls_columns`."""
TABLES = ("reports", "records", "record_senders")
"""The tables of DMARC aggregate reports, one file per report each day."""
COMPACTED_TABLES = (*TABLES, *TLS_TABLES)
"""The tables compaction merges (one file per report each day)."""
ALL_TABLES = (*TABLES, "conflicts", FAILURES_TABLE, *TLS_TABLES)
"""Every Parquet table, for what removes data by day (prune)."""
PARQUET_COMPRESSION = "snappy"
"""The AWS SDK for pandas layer builds pyarrow without zstd, lz4 and brotli: snappy is what it reads."""


def partition_prefix(table: str, dt: str) -> str:
    return f"{PARQUET_PREFIX}{table}/dt={dt}/"


def parquet_key(table: str, dt: str, report_key: str) -> str:
    return f"{partition_prefix(table, dt)}{report_key}.parquet"


def conflict_key(dt: str, report_key: str, content_sha256: str) -> str:
    """One file per conflicting copy: the same copy seen again overwrites its own row."""
    return f"{partition_prefix('conflicts', dt)}{report_key}-{content_sha256[:16]}.parquet"


def kept_aside_key(dt: str, report_key: str) -> str:
    return f"{KEPT_ASIDE_PREFIX}dt={dt}/{report_key}.json"


def quarantine_key(reason: str, source_key: str) -> str:
    """Where the copy of refused input goes: `quarantine/<reason>/<name>`, its note beside it."""
    folder = f"{QUARANTINE_PREFIX}{escape_part(reason)}/"
    budget = KEY_MAX_BYTES - _size(folder) - _size(QUARANTINE_NOTE_SUFFIX)
    return folder + object_name(source_key, budget, NAME_MAX_BYTES - _size(QUARANTINE_NOTE_SUFFIX))


def ruf_raw_key(source_key: str) -> str:
    """Where the raw mail of a failure report goes: `ruf-raw/<name>`, named like a quarantined copy."""
    budget = KEY_MAX_BYTES - _size(RUF_RAW_PREFIX)
    return RUF_RAW_PREFIX + object_name(source_key, budget, NAME_MAX_BYTES)


def failure_report_key(dt: str, failure_key: str) -> str:
    return parquet_key(FAILURES_TABLE, dt, failure_key)


def quarantine_note_key(copy_key: str) -> str:
    """The note of a quarantined copy: `<copy key>%note.json`, a name no copy can have."""
    return f"{copy_key}{QUARANTINE_NOTE_SUFFIX}"


def object_name(source_key: str, budget: int, part_bytes: int) -> str:
    """The source key as a relative name: a different name for every key, none empty, `.`, `..` or
    hidden, no part over `part_bytes` and the whole within `budget` bytes (see the module docstring)."""
    name = escape_key(source_key)
    parts = name.split("/")
    if name and _size(name) <= budget and all(_size(part) <= part_bytes for part in parts):
        return name
    tag = f"{_SHORTENED_TAG}{_digest(source_key)}"
    parts = [_cut(part, part_bytes - len(tag)) for part in parts]
    return _cut("/".join(parts), budget - len(tag)) + tag


def escape_key(source_key: str) -> str:
    """The source key with the characters listed in the module docstring percent-encoded; its
    percent-decoding is the key itself."""
    parts = [escape_text(part) for part in source_key.split("/")]
    joined = parts[0]
    for before, after in itertools.pairwise(parts):
        joined += ("/" if before and after else "%2F") + after
    return "/".join(_no_leading_dot(part) for part in joined.split("/"))


def escape_part(text: str) -> str:
    """Text as one part of a name: escaped like a key, and any `/` in it too."""
    return _no_leading_dot(escape_text(text).replace("/", "%2F")) or _SHORTENED_TAG + _digest(text)


def escape_text(text: str) -> str:
    return _ESCAPED.sub(_percent, text)


def _percent(found: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in found.group().encode("utf-8", "surrogatepass"))


def _no_leading_dot(part: str) -> str:
    return f"%2E{part[1:]}" if part.startswith(".") else part


def _cut(text: str, limit: int) -> str:
    """The longest start of `text` within `limit` UTF-8 bytes that splits no character and no `%XX`."""
    if _size(text) <= limit:
        return text
    size = end = 0
    for token in _TOKEN.finditer(text):
        size += _size(token.group())
        if size > limit:
            break
        end = token.end()
    return text[:end]


def _digest(source_key: str) -> str:
    return hashlib.sha256(source_key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


ROW_GROUP_BYTES = 128 * 1024 * 1024
"""A compacted file's row groups hold about this much data (Arrow's in-memory size, at least the
uncompressed Parquet size): the 128 MB block size Athena's performance tuning guidance gives for Parquet,
so that a big day splits into row groups Athena reads in parallel, each with its own statistics."""


def parquet_bytes(table: pa.Table, *, row_group_bytes: int | None = None) -> bytes:
    """The table as a Parquet file; with ``row_group_bytes``, in row groups of about that much data."""
    import pyarrow.parquet as pq  # here: the ingest Lambda's import (its cold start) needs no pyarrow

    rows = None
    if row_group_bytes is not None and table.num_rows:
        rows = max(1, row_group_bytes * table.num_rows // max(table.nbytes, 1))
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression=PARQUET_COMPRESSION, row_group_size=rows)
    return buffer.getvalue()
