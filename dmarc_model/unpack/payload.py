"""What unpacking yields: a `Payload` (one XML document, opened afresh for each reading), a `TlsPayload`
(one SMTP TLS report's JSON, RFC 8460, read whole: it is capped small) or a refusal."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from dmarc_model.errors import InputRefused


@dataclass(frozen=True)
class Payload:
    """One XML document found in an input: where it was found, and how to read it afresh."""

    location: str
    opener: Callable[[], BinaryIO] = field(repr=False)

    def open(self) -> BinaryIO:
        return self.opener()

    def read(self) -> bytes:
        with self.open() as stream:
            return stream.read()


@dataclass(frozen=True)
class TlsPayload:
    """One SMTP TLS report (RFC 8460) found in an input: where, and its JSON bytes (gzip removed)."""

    location: str
    data: bytes = field(repr=False)


Found = Payload | TlsPayload | InputRefused
"""What unpacking yields: a DMARC document or a TLS report to parse, or a piece refused with its reason."""


def _bytes_opener(data: bytes) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(data)
