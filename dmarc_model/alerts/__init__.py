"""Stateful alerts over the stored reports: a pure function of (facts, incident state, clock).

    thresholds  `AlertThresholds`: every rule's threshold, with its default (settings DMARC_ALERT_*)
    facts       `AlertFacts`: typed rows of the alert_* saved queries; `PipelineHealth` from the shell
    conditions  `Condition`: one rule holding for one (domain, subject); the windows of days
    rules/      one function per rule, (facts, thresholds, now) -> [Condition]
    incidents   `Incident` (JSON round-trip) and `reconcile`: open, update, escalate, resolve
    evaluate    `evaluate(facts, health, previous_incidents, now, thresholds) -> Evaluation`

No I/O here: the shell runs the saved queries (`FACT_QUERIES`), loads and stores the incidents, and
delivers `Evaluation.notifications`; so the Lambda, the CLI and the tests (with a fake clock) agree.
"""

from dmarc_model.alerts.conditions import RULE_IDS, SEVERITIES, Condition, JsonValue, Severity, Window
from dmarc_model.alerts.evaluate import Evaluation, conditions_of, evaluate
from dmarc_model.alerts.facts import (
    FACT_QUERIES,
    AlertFacts,
    HealthDay,
    PipelineHealth,
    PublishedPolicy,
    ReporterDay,
    SelectorDay,
    SenderDay,
    TlsDay,
    TlsFailure,
)
from dmarc_model.alerts.incidents import Change, ChangeKind, Incident, IncidentState, reconcile
from dmarc_model.alerts.rules import RULES, Rule
from dmarc_model.alerts.thresholds import DEFAULT_THRESHOLDS, AlertThresholds

__all__ = [
    "DEFAULT_THRESHOLDS",
    "FACT_QUERIES",
    "RULES",
    "RULE_IDS",
    "SEVERITIES",
    "AlertFacts",
    "AlertThresholds",
    "Change",
    "ChangeKind",
    "Condition",
    "Evaluation",
    "HealthDay",
    "Incident",
    "IncidentState",
    "JsonValue",
    "PipelineHealth",
    "PublishedPolicy",
    "ReporterDay",
    "Rule",
    "SelectorDay",
    "SenderDay",
    "Severity",
    "TlsDay",
    "TlsFailure",
    "Window",
    "conditions_of",
    "evaluate",
    "reconcile",
]
