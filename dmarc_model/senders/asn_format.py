"""The ASN table's file format (`asn.bin`): a fixed header, then flat little-endian arrays.

Loading is one read, a CRC and one `array.frombytes` per section (no parsing per range), so a cold load
of the full table takes milliseconds and needs nothing beyond the standard library.

    offset  size  field
    0       8     magic b"DMARCASN"
    8       2     format version (uint16, FORMAT_VERSION)
    10      2     header size (uint16, HEADER.size: 104)
    12      4     CRC-32 of every byte after the header (uint32)
    16      4     n4: IPv4 ranges           20  4  n6: IPv6 ranges
    24      4     k: organisation names     28  4  organisation bytes (UTF-8, all names)
    32      32    source package name, ASCII, NUL-padded ("@ip-location-db/asn")
    64      24    source package version, ASCII, NUL-padded ("2.3.2026061719")
    88      10    build date, ISO "YYYY-MM-DD" (UTC)
    98      6     zero

    sections, in this order, with no gaps (uint32 is 4 bytes, uint64 8, all little-endian):
    IPv4:  start[n4] end[n4] asn[n4] org[n4]                        uint32 each
    IPv6:  start_hi[n6] start_lo[n6] end_hi[n6] end_lo[n6]          uint64 each (high, low 64 bits)
           asn[n6] org[n6]                                          uint32 each
    names: offsets[k + 1] (uint32; name i is bytes offsets[i]:offsets[i+1]), then the UTF-8 bytes

Ranges are inclusive, sorted by start and disjoint (`asn_ranges.normalize`), so a lookup is a bisection
over `start`. IPv6 keeps the full 128 bits: not every boundary of the source is /64-aligned (183 of the
103,197 IPv6 ranges of 2.3.2026061719 are not), so a 64-bit prefix would be wrong. `org` indexes the
deduplicated name table.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array
from dataclasses import dataclass

from dmarc_model.errors import AsnTableError
from dmarc_model.senders.asn_ranges import Span

MAGIC = b"DMARCASN"
FORMAT_VERSION = 1
HEADER = struct.Struct("<8sHHIIIII32s24s10s6x")
LOW64 = 2**64 - 1
U32 = next(code for code in "IL" if array(code).itemsize == 4)
U64 = next(code for code in "LQ" if array(code).itemsize == 8)


@dataclass(frozen=True)
class Meta:
    """Where the data came from and when it was compiled."""

    source_package: str
    source_version: str
    build_date: str


@dataclass(frozen=True)
class Sections:
    """The decoded arrays of one file (see the module docstring for each)."""

    meta: Meta
    v4: tuple[array[int], array[int], array[int], array[int]]
    v6: tuple[array[int], array[int], array[int], array[int], array[int], array[int]]
    name_offsets: array[int]
    names: bytes


def _raw(code: str, values: list[int]) -> bytes:
    data = array(code, values)
    if sys.byteorder == "big":
        data.byteswap()
    return data.tobytes()


def _name_table(spans: list[Span]) -> tuple[dict[str, int], bytes]:
    index: dict[str, int] = {}
    offsets = [0]
    blob = bytearray()
    for span in spans:
        if span.org not in index:
            index[span.org] = len(index)
            blob += span.org.encode("utf-8")
            offsets.append(len(blob))
    return index, _raw(U32, offsets) + bytes(blob)


def _field(text: str, size: int, what: str) -> bytes:
    raw = text.encode("ascii")
    if len(raw) > size:
        raise AsnTableError(f"{what} {text!r} is longer than {size} bytes")
    return raw


def encode(v4: list[Span], v6: list[Span], meta: Meta) -> bytes:
    """The file holding these normalized (sorted, disjoint) spans."""
    index, names = _name_table(v4 + v6)
    body = b"".join(
        [
            _raw(U32, [s.start for s in v4]),
            _raw(U32, [s.end for s in v4]),
            _raw(U32, [s.asn for s in v4]),
            _raw(U32, [index[s.org] for s in v4]),
            _raw(U64, [s.start >> 64 for s in v6]),
            _raw(U64, [s.start & LOW64 for s in v6]),
            _raw(U64, [s.end >> 64 for s in v6]),
            _raw(U64, [s.end & LOW64 for s in v6]),
            _raw(U32, [s.asn for s in v6]),
            _raw(U32, [index[s.org] for s in v6]),
            names,
        ]
    )
    header = HEADER.pack(
        MAGIC,
        FORMAT_VERSION,
        HEADER.size,
        zlib.crc32(body),
        len(v4),
        len(v6),
        len(index),
        len(names) - 4 * (len(index) + 1),
        _field(meta.source_package, 32, "source package"),
        _field(meta.source_version, 24, "source version"),
        _field(meta.build_date, 10, "build date"),
    )
    return header + body


def _text(raw: bytes) -> str:
    return raw.rstrip(b"\0").decode("ascii", errors="replace")


def _header(data: bytes, where: str) -> tuple[int, int, int, int, int, Meta]:
    if len(data) < HEADER.size:
        if not MAGIC.startswith(data[:8]):
            raise AsnTableError(f"{where} is not an ASN table (no {MAGIC.decode()} magic)")
        raise AsnTableError(f"{where} is truncated: {len(data)} bytes, shorter than its header")
    magic, version, size, crc, n4, n6, k, name_bytes, package, source, built = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise AsnTableError(f"{where} is not an ASN table (no {MAGIC.decode()} magic)")
    if version != FORMAT_VERSION or size != HEADER.size:
        raise AsnTableError(
            f"{where} has format version {version}; this code reads version {FORMAT_VERSION}:"
            " rebuild it with `make asn`"
        )
    expected = HEADER.size + 16 * n4 + 40 * n6 + 4 * (k + 1) + name_bytes
    if len(data) != expected:
        state = "truncated" if len(data) < expected else "longer than its header says"
        raise AsnTableError(f"{where} is {state}: {len(data)} bytes, expected {expected}")
    if zlib.crc32(memoryview(data)[HEADER.size :]) != crc:
        raise AsnTableError(f"{where} is corrupt: its CRC-32 does not match")
    return n4, n6, k, name_bytes, expected, Meta(_text(package), _text(source), _text(built))


def _array(code: str, data: memoryview, start: int, count: int) -> tuple[array[int], int]:
    values = array(code)
    end = start + count * values.itemsize
    values.frombytes(data[start:end])
    if sys.byteorder == "big":
        values.byteswap()
    return values, end


def decode(data: bytes, where: str = "the ASN table") -> Sections:
    """The sections of a file, checked (magic, version, size, CRC); AsnTableError if any is wrong."""
    n4, n6, k, name_bytes, size, meta = _header(data, where)
    view = memoryview(data)
    cursor = HEADER.size
    v4 = []
    for _ in range(4):
        values, cursor = _array(U32, view, cursor, n4)
        v4.append(values)
    v6 = []
    for code in (U64, U64, U64, U64, U32, U32):
        values, cursor = _array(code, view, cursor, n6)
        v6.append(values)
    offsets, cursor = _array(U32, view, cursor, k + 1)
    if offsets[0] != 0 or offsets[-1] != name_bytes:
        raise AsnTableError(f"{where} is corrupt: its name table does not add up")
    return Sections(
        meta=meta,
        v4=(v4[0], v4[1], v4[2], v4[3]),
        v6=(v6[0], v6[1], v6[2], v6[3], v6[4], v6[5]),
        name_offsets=offsets,
        names=bytes(view[cursor:size]),
    )
