"""The alert rules: each a pure function ``(facts, thresholds, now) -> list[Condition]``.

senders    1 new-sender, 3 pass-rate-drop, 5 legitimate-blocked
selectors  2 alignment-drop (DKIM per selector, SPF per sender), new-selector
reporters  4 reporter-silent, no-reports (the heartbeat), 6 policy-changed
health     7 pipeline-health
tls        8 tls-failures (SMTP TLS reports)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from dmarc_model.alerts.conditions import Condition
from dmarc_model.alerts.facts import AlertFacts
from dmarc_model.alerts.rules.health import pipeline_health
from dmarc_model.alerts.rules.reporters import no_reports, policy_changed, reporter_silent
from dmarc_model.alerts.rules.selectors import alignment_drop, new_selector
from dmarc_model.alerts.rules.senders import legitimate_blocked, new_sender, pass_rate_drop
from dmarc_model.alerts.rules.tls import tls_failures
from dmarc_model.alerts.thresholds import AlertThresholds

__all__ = [
    "RULES",
    "Rule",
    "alignment_drop",
    "legitimate_blocked",
    "new_selector",
    "new_sender",
    "no_reports",
    "pass_rate_drop",
    "pipeline_health",
    "policy_changed",
    "reporter_silent",
    "tls_failures",
]

Rule = Callable[[AlertFacts, AlertThresholds, datetime], list[Condition]]

RULES: tuple[Rule, ...] = (
    new_sender,
    alignment_drop,
    new_selector,
    pass_rate_drop,
    reporter_silent,
    no_reports,
    legitimate_blocked,
    policy_changed,
    pipeline_health,
    tls_failures,
)
"""Every rule, in the order of the issues (1 to 7 of issue 11, then 8 of issue 14)."""
