"""Compiling the `@ip-location-db/asn` CSVs into the ASN table's bytes: for `make asn` and the refresh job.

The rows are the inclusive numeric ranges `start,end,asn,"org"` of `asn-ipv4-num.csv` and
`asn-ipv6-num.csv`; `asn_ranges.normalize` cuts overlaps and merges neighbours, `asn_format.encode`
writes the file. Pure: lines in, bytes out (the script reads files, the refresh job a tarball).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from dmarc_model.errors import AsnTableError
from dmarc_model.senders.asn_format import Meta, encode
from dmarc_model.senders.asn_ranges import Normalized, Span, normalize

__all__ = ["Compiled", "compile_table", "read_rows"]


@dataclass(frozen=True)
class Compiled:
    data: bytes
    v4: Normalized
    v6: Normalized


def read_rows(lines: Iterable[str], where: str) -> Iterator[Span]:
    """The rows of one numeric CSV; AsnTableError naming `where` and the line of the first bad one."""
    for line, row in enumerate(csv.reader(lines), start=1):
        if len(row) != 4:
            raise AsnTableError(f"{where}:{line}: {len(row)} fields, expected start,end,asn,org")
        try:
            yield Span(int(row[0]), int(row[1]), int(row[2]), row[3])
        except ValueError:
            raise AsnTableError(f"{where}:{line}: start, end and asn must be integers") from None


def compile_table(v4_rows: Iterable[Span], v6_rows: Iterable[Span], meta: Meta) -> Compiled:
    """Both families normalized and encoded with `meta` (source name and version, build day)."""
    v4 = normalize(v4_rows, 4)
    v6 = normalize(v6_rows, 6)
    return Compiled(encode(v4.spans, v6.spans, meta), v4, v6)
