"""Source rows of the ASN table, made sorted, disjoint and merged: the one place that decides overlaps.

The source (`@ip-location-db/asn`) gives inclusive numeric ranges `start,end,asn,org`, sorted by start.
It is not always disjoint (2.3.2026061719 has one IPv4 overlap, inside 214.95.0.0-215.1.3.255), so a
lookup table needs a rule, applied at build time:

- **the range that starts later wins** over the part it overlaps; of two with the same start, the
  shorter wins; of two with the same start and end, the later row. A range nested in another
  therefore wins over it (the more specific one), and the outer range resumes after it;
- then adjacent ranges (`end + 1 == next start`) of the same ASN and organisation become one.

Pure: numbers in, numbers out. `normalize` is used by both the build script and
`AsnTable.from_ranges`, so a test's small snapshot follows the same rules as the real table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from dmarc_model.errors import AsnTableError

MAX_ASN = 2**32 - 1
MAX_ADDRESS = {4: 2**32 - 1, 6: 2**128 - 1}


class Span(NamedTuple):
    """One inclusive range of addresses (as integers) and the network announcing it."""

    start: int
    end: int
    asn: int
    org: str


@dataclass(frozen=True)
class Normalized:
    """The disjoint, sorted spans of one address family and what it took to get them."""

    spans: list[Span]
    source_rows: int
    overlaps: int
    """Source rows that overlapped an earlier one (and so cut it)."""
    merged: int
    """Spans folded into their neighbour (same ASN and organisation, adjacent)."""


def check_span(span: Span, version: int) -> None:
    """An AsnTableError unless `span` is a well-formed range of IPv`version` addresses."""
    top = MAX_ADDRESS[version]
    if not (0 <= span.start <= span.end <= top):
        raise AsnTableError(f"bad IPv{version} range {span.start}-{span.end} (AS{span.asn})")
    if not 0 <= span.asn <= MAX_ASN:
        raise AsnTableError(f"bad ASN {span.asn} for range {span.start}-{span.end}")


def _disjoint(spans: list[Span]) -> tuple[list[Span], int]:
    """The spans cut so that no two overlap, the later start winning; and how many overlapped."""
    out: list[Span] = []
    outer: list[Span] = []  # interrupted ranges, innermost last, to resume after what cut them
    overlaps = 0
    for span in spans:
        _resume(out, outer, span.start)
        if out and out[-1].end >= span.start:
            overlaps += 1
            previous = out.pop()
            if previous.end > span.end:
                outer.append(previous._replace(start=span.end + 1))
            if previous.start < span.start:
                out.append(previous._replace(end=span.start - 1))
        out.append(span)
    _resume(out, outer, MAX_ADDRESS[6] + 1)
    return out, overlaps


def _resume(out: list[Span], outer: list[Span], before: int) -> None:
    """Put back the parts of interrupted ranges that lie after `out`'s last span and before `before`."""
    while outer:
        cursor = out[-1].end + 1 if out else 0
        if cursor >= before:
            return
        top = outer[-1]
        if top.end < cursor:
            outer.pop()
            continue
        piece = top._replace(start=max(top.start, cursor), end=min(top.end, before - 1))
        out.append(piece)
        if piece.end == top.end:
            outer.pop()


def _merged(spans: list[Span]) -> tuple[list[Span], int]:
    out: list[Span] = []
    for span in spans:
        if out and out[-1].end + 1 == span.start and out[-1][2:] == span[2:]:
            out[-1] = out[-1]._replace(end=span.end)
        else:
            out.append(span)
    return out, len(spans) - len(out)


def normalize(rows: Iterable[Span], version: int) -> Normalized:
    """Sorted, disjoint, merged spans of IPv`version` from source rows in any order.

    A malformed row (start after end, an address or ASN out of range) is an AsnTableError.
    """
    spans = list(rows)
    for span in spans:
        check_span(span, version)
    spans.sort(key=lambda span: (span.start, -span.end))
    disjoint, overlaps = _disjoint(spans)
    merged, folded = _merged(disjoint)
    return Normalized(spans=merged, source_rows=len(spans), overlaps=overlaps, merged=folded)
