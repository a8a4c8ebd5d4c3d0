"""The time an invocation has left, as the store's writes see it (`Deadline`).

Its own module, importing nothing, so the ingest Lambda can build one from its context without
loading the store (and pyarrow) before its first message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Deadline"]


@dataclass(frozen=True)
class Deadline:
    """How long the caller has left (the Lambda's remaining time), and how much of it the writes leave
    for what follows them: a store that finds `near()` stops between batches (`WriteDeferred`)."""

    seconds_left: Callable[[], float]
    reserve_seconds: float = 45.0

    def near(self) -> bool:
        return self.seconds_left() < self.reserve_seconds
