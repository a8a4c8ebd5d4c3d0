"""Bounds on the shape of one document, so parse memory stays flat whatever the shape (not only the size).

A cap on the decompressed bytes (`dmarc_model.limits`) does not bound memory by itself: lxml builds each
top-level element whole before the parser sees it, and 12 MB of attributes on one element, or a million
<dkim> results in one record, is a tree of hundreds of MiB. Each dimension is bounded here:

    dimension                       bound                       past it
    bytes of one top-level element  MAX_ELEMENT_BYTES (1 MiB)   too-large: the report is refused
      (so attributes per element, child elements, auth results and text per field, for memory)
    records before the header       MAX_RECORDS_BEFORE_HEADER   too-large: the report is refused
      (and their bytes)             MAX_BYTES_BEFORE_HEADER
    child elements of a <record>    MAX_RECORD_CHILDREN         the record is kept aside with the reason
    <dkim> + <spf> in a record      MAX_AUTH_RESULTS            the record is kept aside with the reason
    a domain name                   MAX_DOMAIN_CHARS (253)      the record is kept aside (a header:
    other free text                 MAX_TEXT_CHARS              schema-violation), `dmarc_model.models`
    unknown-value warnings          MAX_WARNINGS                the first ones, then one with the count
      (the only warnings that grow with the document: the others are one each of a handful of kinds)
    broken XML recovered whole      MAX_WHOLE_RECOVERY_BYTES    recovered while streaming instead
      (libxml2's recovering push parser ends the document at its first fatal error, an unescaped '<'
      in a field, say; the whole-document parser reads past it, but holds the whole tree)

The element bound is checked on the bytes lxml reads (`BoundedStream`): between two top-level elements
the parser may read at most MAX_ELEMENT_BYTES (and one read more), so no element, attribute list or
text node can grow past it before it is refused.
"""

from __future__ import annotations

from typing import BinaryIO

from dmarc_model.errors import TooLarge

MAX_ELEMENT_BYTES = 1024 * 1024
"""Bytes of XML from one top-level element (a <record>, <report_metadata>, ...) to the next. A record of
a real report is under 1 kB, and one with a hundred auth results under 20 kB; 1 MiB of XML is a tree of
at most about 40 MiB in lxml. It bounds, for memory, attributes per element, child elements per record,
auth results per record and text per field."""
MAX_RECORDS_BEFORE_HEADER = 5_000
"""Records that may come before <report_metadata> and <policy_published>: they are held (about 3 kB
each) until the header is read. Real reporters put the header first."""
MAX_BYTES_BEFORE_HEADER = 2 * 1024 * 1024
"""Bytes of XML read while records are held for a header yet to come: fewer records, each near
MAX_ELEMENT_BYTES, would otherwise hold gigabytes (lxml holds up to 33 times the XML of dense empty
elements). 5,000 records of a usual 350 bytes are 1.75 MB."""
MAX_WHOLE_RECOVERY_BYTES = 2 * 1024 * 1024
"""A broken document of at most this many bytes is recovered by parsing it whole (a tree of at most
about 66 MiB, lxml holding up to 33 times the XML of dense empty elements); a bigger one by the
streaming parser, which stops at the first fatal error (what it read before is kept)."""
MAX_RECORD_CHILDREN = 64
"""Child elements of one <record>: RFC 7489 and RFC 9990 define four (row, identifiers, auth_results,
extensions)."""
MAX_AUTH_RESULTS = 10_000
"""<dkim> and <spf> results in one record's <auth_results>. Real records hold one to a few, but a record
of a few thousand signatures is stored (whole in Parquet, in part in DynamoDB: `dynamo_items`)."""
MAX_WARNINGS = 10_000
"""Unknown-value warnings kept on one report (one per distinct value, so a hostile report could have a
million); past it, one more says how many were left out. 10k warnings are about 1 MB, in the report's
Parquet row (DynamoDB's META item keeps them only while they fit)."""
_READ_SIZE = 64 * 1024
_DRAINED_BYTES = 256 * 1024 * 1024
"""Read on (in constant memory) past MAX_ELEMENT_BYTES before refusing: a gzip or zip layer below stops a
bomb once its ratio cap is passed (past 200 times the compressed bytes read, or the member's size), so a
bomb is still refused as `archive-bomb`, not as `too-large`."""


class BoundedStream:
    """A payload stream for lxml that refuses, as too-large, MAX_ELEMENT_BYTES without a top-level element.

    `element_done()` is called as each top-level element is handed over: lxml hands over every event of
    what it has read before it reads more, so what was read since then is the next element's XML.
    """

    def __init__(self, stream: BinaryIO, location: str) -> None:
        self._stream = stream
        self._location = location
        self._read = 0
        self._mark = 0

    def read(self, size: int = -1) -> bytes:
        if self._read - self._mark > MAX_ELEMENT_BYTES:
            self._drain()
            raise TooLarge(
                f"more than {MAX_ELEMENT_BYTES} bytes of XML in one top-level element"
                f" (after byte {self._mark} of the document)",
                location=self._location,
            )
        data = self._stream.read(_READ_SIZE if size < 0 else min(size, _READ_SIZE))
        self._read += len(data)
        return data

    def _drain(self) -> None:
        """Read on, discarding, so that a compression bomb below is refused as the bomb it is."""
        for _ in range(_DRAINED_BYTES // _READ_SIZE):
            if not self._stream.read(_READ_SIZE):
                return

    @property
    def bytes_read(self) -> int:
        return self._read

    def element_done(self) -> None:
        self._mark = self._read

    def close(self) -> None:
        self._stream.close()


def capped_warnings(warnings: list[str]) -> list[str]:
    """The first MAX_WARNINGS warnings, and one that counts the others if there are more."""
    if len(warnings) <= MAX_WARNINGS:
        return warnings
    left_out = len(warnings) - MAX_WARNINGS
    return [*warnings[:MAX_WARNINGS], f"{left_out} more warning(s) not listed (the first {MAX_WARNINGS} are)"]
