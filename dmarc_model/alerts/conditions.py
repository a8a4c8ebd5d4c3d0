"""What a rule finds: a `Condition` (it holds now), and the windows of days every rule counts in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, TypeAlias

from dmarc_model.alerts.thresholds import AlertThresholds

__all__ = [
    "PIPELINE",
    "RULE_IDS",
    "SEVERITIES",
    "Condition",
    "JsonValue",
    "Severity",
    "Window",
    "percent",
    "severity_rank",
    "share",
]

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None
Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")
RULE_IDS = (
    "new-sender",
    "alignment-drop",
    "new-selector",
    "pass-rate-drop",
    "reporter-silent",
    "no-reports",
    "legitimate-blocked",
    "policy-changed",
    "pipeline-health",
    "tls-failures",
)
PIPELINE = "*"
"""The domain of a condition about the pipeline itself (rule 7)."""


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Condition:
    """One rule holding for one (domain, subject) at the clock's time."""

    rule: str
    domain: str
    subject: str
    """The sender, selector (its DNS name) or reporter; for domain-wide rules, what is meant."""
    severity: Severity
    summary: str
    """What happened, in one sentence with the numbers."""
    next_step: str
    """What the owner should do next, in one or two sentences."""
    evidence: Mapping[str, JsonValue]

    def __post_init__(self) -> None:
        if self.rule not in RULE_IDS:
            raise ValueError(f"unknown alert rule {self.rule!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.rule, self.domain, self.subject)


@dataclass(frozen=True)
class Window:
    """The days a rule counts in, for a clock and the thresholds (see `thresholds`)."""

    today: date
    current_start: date
    baseline_start: date

    @classmethod
    def of(cls, now: datetime, thresholds: AlertThresholds) -> Window:
        today = utc(now).date()
        current_start = today - timedelta(days=thresholds.current_days)
        return cls(today, current_start, current_start - timedelta(days=thresholds.baseline_days))

    def current(self, day: date) -> bool:
        return self.current_start <= day < self.today

    def baseline(self, day: date) -> bool:
        return self.baseline_start <= day < self.current_start

    def days_back(self, days: int) -> date:
        return self.today - timedelta(days=days)


def utc(now: datetime) -> datetime:
    """The clock in UTC (a naive moment is taken as UTC, as everywhere in the project)."""
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def share(part: int, whole: int) -> float:
    """part / whole in percent, 0 for nothing."""
    return round(100.0 * part / whole, 1) if whole else 0.0


def percent(value: float) -> str:
    return f"{value:.1f}%"
