"""Every threshold of the alert rules, with its default: one frozen value the shell builds from settings.

Windows are counted in whole UTC days before the clock's day (the day ``now`` falls on is never read: its
reports have not arrived). With the defaults, an evaluation at 2026-03-20T06:00Z reads:

    current window   2026-03-18 .. 2026-03-19   (``current_days`` = 2)
    baseline window  2026-03-04 .. 2026-03-17   (``baseline_days`` = 14, just before the current window)
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

__all__ = ["DEFAULT_THRESHOLDS", "AlertThresholds"]


@dataclass(frozen=True)
class AlertThresholds:
    """The thresholds of the ten alert rules (setting names: ``DMARC_ALERT_<FIELD>`` upper-cased)."""

    current_days: int = 2
    """Days in the current window: the last N complete UTC days before the clock's day (all rules)."""
    baseline_days: int = 14
    """Days in the baseline window, just before the current window (rules 2, 3, 4, 1 for unknown volume)."""
    min_baseline_days: int = 5
    """Days with data a domain, sender or selector needs before a comparison or a "new" is trusted."""

    new_sender_days: int = 7
    """A sender or selector is new for this many days after its first day (its incident then resolves)."""
    new_service_messages: int = 10
    """Rule 1: messages a newly seen service must have sent since its first day to be reported."""
    new_unknown_messages: int = 100
    """Rule 1: messages from unknown sources in the current window above which (when the baseline stayed
    below it) they are reported as a new sender."""

    alignment_min_messages: int = 20
    """Rule 2: messages a selector (or a sender's SPF) needs in each of the two windows to be compared."""
    alignment_drop_points: float = 20.0
    """Rule 2: drop of the aligned share in percentage points, baseline to current, that opens one."""
    alignment_critical_points: float = 50.0
    """Rule 2: a drop of at least this many points is critical (an escalation when it grows to it)."""

    pass_rate_min_messages: int = 50
    """Rule 3: messages from the reporters present in both windows that each window needs."""
    pass_rate_drop_points: float = 15.0
    """Rule 3: drop of a sender's DMARC pass rate, in percentage points (same reporters only)."""
    pass_rate_critical_points: float = 40.0
    """Rule 3: a drop of at least this many points is critical."""

    reporter_silent_days: int = 3
    """Rule 4: a usual reporter with no report on the last N days before the clock's day is silent."""
    reporter_usual_share: float = 0.7
    """Rule 4: share of the ``baseline_days`` before its last report on which a reporter must have reported
    to count as usual."""
    heartbeat_hours: int = 48
    """Rule 4 (heartbeat): hours since the end of the newest report of a domain after which it has none."""

    blocked_min_messages: int = 10
    """Rule 5: authenticated (DMARC-passing) messages of a sender quarantined or rejected in the current
    window that open an incident."""
    blocked_critical_messages: int = 100
    """Rule 5: that many blocked messages, or any rejected above ``blocked_min_messages``, is critical."""

    policy_change_days: int = 7
    """Rule 6: days an incident about a published-policy change stays open after the day it was first seen."""

    health_quarantined_inputs: int = 5
    """Rule 7: quarantined input objects in the current window that open an incident."""
    health_conflicts: int = 1
    """Rule 7: report conflicts (same identity, other content) in the current window that open one."""

    tls_failed_sessions_floor: int = 10
    """Rule 8: a policy domain's day is failing when at least this many of its SMTP TLS sessions failed
    (and ``tls_failure_share`` of them); an incident is open while a day of the current window is failing."""
    tls_failure_share: float = 0.01
    """Rule 8: share of a day's SMTP TLS sessions (0 to 1) that must have failed too for the day to be
    failing: a few failures among very many sessions are no alert."""

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if value < 0:
                raise ValueError(f"alert threshold {field.name} must not be negative, got {value}")
        if self.current_days < 1 or self.baseline_days < 1:
            raise ValueError("alert windows need at least one day")
        for name in ("reporter_usual_share", "tls_failure_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} is a share between 0 and 1")

    @property
    def query_days(self) -> int:
        """The ``days`` to run the fact queries with: history enough for every rule (30 with the defaults).

        A reporter silent for longer than this drops out of the facts, and its incident resolves."""
        needed = self.current_days + self.baseline_days + self.new_sender_days + self.reporter_silent_days
        return max(30, needed, self.policy_change_days + self.current_days + 1)

    @classmethod
    def from_settings(cls, values: dict[str, str]) -> AlertThresholds:
        """From ``{field name: text}`` (the shell reads ``DMARC_ALERT_<FIELD>``); the rest keep defaults."""
        kinds = {field.name: field.type for field in fields(cls)}
        unknown = sorted(set(values) - set(kinds))
        if unknown:
            raise ValueError(f"no alert threshold named {', '.join(unknown)}")
        parsed: dict[str, Any] = {}
        for name, text in values.items():
            kind = float if kinds[name] in (float, "float") else int
            try:
                parsed[name] = kind(text)
            except ValueError:
                raise ValueError(f"alert threshold {name}: {text!r} is not a number") from None
        return cls(**parsed)


DEFAULT_THRESHOLDS = AlertThresholds()
