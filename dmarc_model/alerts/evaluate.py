"""One evaluation: facts, health, the incidents so far and a clock in; incidents and changes out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from dmarc_model.alerts.conditions import Condition, JsonValue, utc
from dmarc_model.alerts.facts import AlertFacts, PipelineHealth
from dmarc_model.alerts.incidents import Change, Incident, reconcile
from dmarc_model.alerts.rules import RULES, Rule
from dmarc_model.alerts.thresholds import DEFAULT_THRESHOLDS, AlertThresholds

__all__ = ["Evaluation", "conditions_of", "evaluate"]


@dataclass(frozen=True)
class Evaluation:
    evaluated_at: datetime
    conditions: tuple[Condition, ...]
    incidents: tuple[Incident, ...]
    """The state to keep: every active incident, and those this evaluation resolved."""
    changes: tuple[Change, ...]

    @property
    def notifications(self) -> tuple[Change, ...]:
        """The changes worth telling the owner about (opened, escalated, resolved)."""
        return tuple(change for change in self.changes if change.notify)

    @property
    def open_incidents(self) -> tuple[Incident, ...]:
        return tuple(incident for incident in self.incidents if incident.active)

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "evaluated_at": utc(self.evaluated_at).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "incidents": [incident.to_dict() for incident in self.incidents],
            "changes": [change.to_dict() for change in self.changes],
        }


def conditions_of(
    facts: AlertFacts,
    now: datetime,
    thresholds: AlertThresholds = DEFAULT_THRESHOLDS,
    rules: Iterable[Rule] = RULES,
) -> list[Condition]:
    """Every condition that holds at ``now``, reading only the facts of the days before ``now``'s day."""
    seen = facts.before(utc(now).date())
    return [condition for rule in rules for condition in rule(seen, thresholds, now)]


def evaluate(
    facts: AlertFacts,
    health: PipelineHealth,
    previous_incidents: Iterable[Incident],
    now: datetime,
    thresholds: AlertThresholds = DEFAULT_THRESHOLDS,
) -> Evaluation:
    """Run every rule at ``now`` and reconcile the conditions with the incidents so far (pure)."""
    conditions = conditions_of(replace(facts, health=health), now, thresholds)
    incidents, changes = reconcile(conditions, previous_incidents, now)
    return Evaluation(utc(now), tuple(conditions), tuple(incidents), tuple(changes))
