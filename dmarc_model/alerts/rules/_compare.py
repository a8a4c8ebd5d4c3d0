"""Shares in two windows, compared like with like: reporter by reporter, over the reporters present in both
windows, the baseline weighted by each reporter's volume in the current window (the daily reporter mix
varies: a reporter with a low rate sending more today is no drop)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from dmarc_model.alerts.conditions import JsonValue, Window, share
from dmarc_model.alerts.facts import SenderDay

__all__ = ["Comparison", "ReporterShares", "by_sender", "compare_by_reporter"]


@dataclass(frozen=True)
class ReporterShares:
    reporter: str
    baseline_messages: int
    baseline_part: int
    current_messages: int
    current_part: int

    @property
    def baseline_rate(self) -> float:
        return self.baseline_part / self.baseline_messages if self.baseline_messages else 0.0

    def evidence(self) -> dict[str, JsonValue]:
        return {
            "baseline_messages": self.baseline_messages,
            "baseline_share": share(self.baseline_part, self.baseline_messages),
            "current_messages": self.current_messages,
            "current_share": share(self.current_part, self.current_messages),
        }


@dataclass(frozen=True)
class Comparison:
    reporters: tuple[ReporterShares, ...]
    """Reporters with data in both windows: the only ones counted."""
    left_out: tuple[str, ...]
    """Reporters with data in one window only (their mail is not compared)."""
    baseline_days: int

    @property
    def baseline_messages(self) -> int:
        return sum(found.baseline_messages for found in self.reporters)

    @property
    def current_messages(self) -> int:
        return sum(found.current_messages for found in self.reporters)

    @property
    def baseline_share(self) -> float:
        """What the current window's mail would have scored at each reporter's baseline rate, in percent."""
        expected = sum(found.current_messages * found.baseline_rate for found in self.reporters)
        return round(100.0 * expected / self.current_messages, 1) if self.current_messages else 0.0

    @property
    def current_share(self) -> float:
        return share(sum(found.current_part for found in self.reporters), self.current_messages)

    @property
    def drop(self) -> float:
        return round(self.baseline_share - self.current_share, 1)

    def evidence(self) -> dict[str, JsonValue]:
        return {
            "reporters_compared": {found.reporter: found.evidence() for found in self.reporters},
            "reporters_left_out": list(self.left_out),
            "baseline_days": self.baseline_days,
            "baseline_messages": self.baseline_messages,
            "baseline_share": self.baseline_share,
            "current_messages": self.current_messages,
            "current_share": self.current_share,
            "drop_points": self.drop,
        }


def compare_by_reporter(
    rows: Iterable[SenderDay], window: Window, part: Callable[[SenderDay], int]
) -> Comparison:
    """``part`` / messages in the current and baseline windows, reporter by reporter (see the module)."""
    current: dict[str, list[SenderDay]] = defaultdict(list)
    baseline: dict[str, list[SenderDay]] = defaultdict(list)
    for row in rows:
        if window.current(row.day):
            current[row.reporter].append(row)
        elif window.baseline(row.day):
            baseline[row.reporter].append(row)
    both = sorted(set(current) & set(baseline))
    shares = tuple(
        ReporterShares(
            reporter,
            baseline_messages=sum(row.messages for row in baseline[reporter]),
            baseline_part=sum(part(row) for row in baseline[reporter]),
            current_messages=sum(row.messages for row in current[reporter]),
            current_part=sum(part(row) for row in current[reporter]),
        )
        for reporter in both
    )
    return Comparison(
        reporters=shares,
        left_out=tuple(sorted(set(current) ^ set(baseline))),
        baseline_days=len({row.day for reporter in both for row in baseline[reporter]}),
    )


def by_sender(rows: Iterable[SenderDay]) -> dict[tuple[str, str], list[SenderDay]]:
    """The rows of each (domain, sender), in a stable order."""
    grouped: dict[tuple[str, str], list[SenderDay]] = defaultdict(list)
    for row in rows:
        grouped[(row.domain, row.sender)].append(row)
    return dict(sorted(grouped.items()))
