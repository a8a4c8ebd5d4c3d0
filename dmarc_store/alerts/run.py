"""One alert run: the facts from the store, the incidents so far, the clock; the new state saved.

    evaluation = run_alerts(runner, objects, state, now, thresholds, domains)

The same for the CLI (DuckDB over the local store, `LocalIncidentState`) and the Lambda (Athena,
`DynamoIncidentState`); the decisions are `dmarc_model.alerts.evaluate`'s.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import athena_queries
from dmarc_model.alerts import FACT_QUERIES, AlertFacts, AlertThresholds, Evaluation, evaluate
from dmarc_store.alerts.health import DatedListing, pipeline_health
from dmarc_store.alerts.state import IncidentState, StateChanged
from dmarc_store.query.runner import QueryRunner

__all__ = ["alert_facts", "evaluation_summary", "run_alerts"]

log = logging.getLogger(__name__)


def alert_facts(
    runner: QueryRunner, thresholds: AlertThresholds, now: datetime, domains: Sequence[str] = ()
) -> AlertFacts:
    """The fact queries over the history every rule needs at `now` (`thresholds.query_days` before it;
    the queries count days back from today, so an evaluation of the past asks for more)."""
    behind = max(0, (datetime.now(UTC).date() - now.date()).days)
    values: dict[str, athena_queries.ParameterValue] = {"days": thresholds.query_days + behind, "domain": "%"}
    senders, selectors, reporters, tls = (
        runner.run_saved(athena_queries.saved_query(name), values) for name in FACT_QUERIES
    )
    return AlertFacts.from_results(senders, selectors, reporters, tls, domains=domains)


def run_alerts(
    runner: QueryRunner,
    objects: DatedListing,
    state: IncidentState,
    now: datetime,
    thresholds: AlertThresholds,
    domains: Sequence[str] = (),
    *,
    retries: int = 0,
) -> Evaluation:
    """Evaluate every rule at `now` and save the incidents and changes. When another run saved
    meanwhile, evaluate again up to `retries` times, then raise StateChanged."""
    facts = alert_facts(runner, thresholds, now, domains)
    since = (now - timedelta(days=thresholds.query_days)).date()
    health = pipeline_health(objects, runner, since)
    attempts = 0
    while True:
        loaded = state.load()
        evaluation = evaluate(facts, health, loaded.incidents, now, thresholds)
        try:
            state.save(loaded, evaluation.incidents, evaluation.changes, now)
        except StateChanged:
            attempts += 1
            if attempts > retries:
                raise
            log.warning("incident state changed meanwhile: evaluating again")
            continue
        return evaluation


def evaluation_summary(evaluation: Evaluation, *, published: int) -> dict[str, Any]:
    """What a run did, for its log line and its answer: counts of changes, the open incidents."""
    counts = Counter(change.kind for change in evaluation.changes)
    return {
        "evaluated_at": evaluation.to_dict()["evaluated_at"],
        "open_incidents": len(evaluation.open_incidents),
        "changes": dict(counts),
        "notifications": len(evaluation.notifications),
        "published": published,
        "incidents": [
            {"id": incident.id, "state": incident.state, "severity": incident.severity}
            for incident in evaluation.open_incidents
        ],
    }
