"""What unpacking yields: a `Payload` (one XML document, opened afresh for each reading) or a refusal."""

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


Found = Payload | InputRefused
"""What unpacking yields: a document to parse, or a piece refused with its reason."""


def _bytes_opener(data: bytes) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(data)
