"""The walk over the layers of one input: each is sniffed, then unwrapped (gzip, zip, email) or kept.

`archives` and `mime` call back into `_walk` for what they unwrap, so the three refer to each other
as modules (`archives._walk_zip`, `layers._walk`), which any import order resolves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from dmarc_model.errors import ArchiveBomb, EmptyInput, InputRefused, NotAReport, TooLarge
from dmarc_model.limits import Limits
from dmarc_model.unpack import archives, mime
from dmarc_model.unpack.caps import _Budget
from dmarc_model.unpack.payload import Found, Payload, TlsPayload, _bytes_opener
from dmarc_model.unpack.sniff import MAX_TLS_JSON_BYTES, SNIFF_BYTES, TLS_REPORT_KEYS, sniff


def unpack(source: bytes | Path, *, limits: Limits | None = None, name: str = "") -> Iterator[Found]:
    """Every XML document and TLS report inside `source`, and every piece refused on the way, in input
    order."""
    limits = limits or Limits()
    budget = _Budget(limits)
    if isinstance(source, Path):
        path = source
        opener: Callable[[], BinaryIO] = lambda: path.open("rb")  # noqa: E731
        name = name or path.name
    else:
        opener = _bytes_opener(source)
    yield from _walk(opener, name or "input", depth=0, budget=budget)


def _walk(opener: Callable[[], BinaryIO], location: str, depth: int, budget: _Budget) -> Iterator[Found]:
    if depth > budget.limits.max_nesting_depth:
        yield ArchiveBomb(
            f"nested deeper than {budget.limits.max_nesting_depth} containers", location=location
        )
        return
    try:
        with opener() as stream:
            head = stream.read(SNIFF_BYTES)
        kind = sniff(head)
        if kind == "gzip":
            yield from _walk(
                archives._gunzip_opener(opener, location, budget), f"{location} > gzip", depth + 1, budget
            )
        elif kind == "zip":
            yield from archives._walk_zip(opener, location, depth, budget)
        elif kind == "email":
            yield from mime._walk_email(opener, location, depth, budget)
        elif kind == "xml":
            yield Payload(location, opener)
        elif kind == "json":
            yield _json_piece(opener, head, location)
        elif kind == "empty":
            yield EmptyInput("no bytes, or only white space", location=location)
        else:
            yield NotAReport(f"not XML, gzip, zip or email (starts with {head[:16]!r})", location=location)
    except InputRefused as refused:
        refused.location = refused.location or location
        yield refused


def _json_piece(opener: Callable[[], BinaryIO], head: bytes, location: str) -> TlsPayload | InputRefused:
    """A JSON layer: an SMTP TLS report (RFC 8460), or one that means to be (it names the report's
    fields: its parser then says what is wrong), read whole within `MAX_TLS_JSON_BYTES`; any other
    JSON is not a report."""
    if not any(b'"' + key.encode() + b'"' in head for key in TLS_REPORT_KEYS):
        return NotAReport("JSON, neither a DMARC aggregate report nor an SMTP TLS report", location=location)
    with opener() as stream:
        data = stream.read(MAX_TLS_JSON_BYTES + 1)
    if len(data) > MAX_TLS_JSON_BYTES:
        return TooLarge(f"a TLS report over {MAX_TLS_JSON_BYTES} bytes of JSON", location=location)
    return TlsPayload(location, data)
