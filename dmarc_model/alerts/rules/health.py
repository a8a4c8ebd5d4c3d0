"""Rule 7: the pipeline's own health: quarantined input or report conflicts above a floor."""

from __future__ import annotations

from datetime import datetime

from dmarc_model.alerts.conditions import PIPELINE, Condition, Window
from dmarc_model.alerts.facts import AlertFacts
from dmarc_model.alerts.thresholds import AlertThresholds

__all__ = ["pipeline_health"]


def pipeline_health(facts: AlertFacts, thresholds: AlertThresholds, now: datetime) -> list[Condition]:
    """Rule 7: ``health_quarantined_inputs`` quarantined objects, or ``health_conflicts`` conflicts, in the
    current window (domain ``*``: the pipeline, not a domain)."""
    window = Window.of(now, thresholds)
    days = [day for day in facts.health.days if window.current(day.day)]
    quarantined = sum(day.quarantined_inputs for day in days)
    conflicts = sum(day.conflicts for day in days)
    per_day = {day.day.isoformat(): day.quarantined_inputs for day in days if day.quarantined_inputs}
    found = []
    if quarantined and quarantined >= thresholds.health_quarantined_inputs:
        found.append(
            Condition(
                rule="pipeline-health",
                domain=PIPELINE,
                subject="quarantined input",
                severity="warning",
                summary=(
                    f"{quarantined} input objects were quarantined in the last {thresholds.current_days} days"
                    f" (floor {thresholds.health_quarantined_inputs})."
                ),
                next_step=(
                    "Read the notes next to them under quarantine/ (<key>%note.json): each names its reason;"
                    " a burst of one reason is usually a reporter's changed format or a decompression cap."
                ),
                evidence={"quarantined_inputs": quarantined, "per_day": dict(per_day)},
            )
        )
    if conflicts and conflicts >= thresholds.health_conflicts:
        found.append(
            Condition(
                rule="pipeline-health",
                domain=PIPELINE,
                subject="conflicts",
                severity="warning",
                summary=(
                    f"{conflicts} report(s) arrived again with other content in the last"
                    f" {thresholds.current_days} days; the first copy of each stands."
                ),
                next_step="List them with `dmarc query conflicts` and compare the two sources each names.",
                evidence={"conflicts": conflicts},
            )
        )
    return found
