"""The decompressed-bytes budget of one input (`Limits.max_decompressed_bytes`), drawn on by every layer."""

from __future__ import annotations

from dmarc_model.errors import TooLarge
from dmarc_model.limits import Limits


class _Budget:
    """The decompressed bytes one input may still produce."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.produced = 0

    def charge(self, size: int, location: str) -> None:
        self.produced += size
        if self.produced > self.limits.max_decompressed_bytes:
            raise TooLarge(
                f"unpacks to more than {self.limits.max_decompressed_bytes} bytes", location=location
            )
