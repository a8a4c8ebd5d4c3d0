"""One alert run: the facts from the store, the incidents so far, the clock; the new state saved.

    evaluation = run_alerts(runner, objects, state, now, thresholds, domains)

The same for the CLI (DuckDB over the local store, `LocalIncidentState`) and the Lambda (Athena,
`DynamoIncidentState`); the decisions are `dmarc_model.alerts.evaluate`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import athena_queries
from dmarc_model.alerts import FACT_QUERIES, AlertFacts, AlertThresholds, Evaluation, evaluate
from dmarc_store.alerts.health import DatedListing, pipeline_health
from dmarc_store.alerts.state import IncidentState
from dmarc_store.query.runner import QueryRunner

__all__ = ["alert_facts", "run_alerts"]


def alert_facts(
    runner: QueryRunner, thresholds: AlertThresholds, now: datetime, domains: Sequence[str] = ()
) -> AlertFacts:
    """The fact queries over the history every rule needs at `now` (`thresholds.query_days` before it;
    the queries count days back from today, so an evaluation of the past asks for more)."""
    behind = max(0, (datetime.now(UTC).date() - now.date()).days)
    values: dict[str, athena_queries.ParameterValue] = {"days": thresholds.query_days + behind, "domain": "%"}
    senders, selectors, reporters = (
        runner.run_saved(athena_queries.saved_query(name), values) for name in FACT_QUERIES
    )
    return AlertFacts.from_results(senders, selectors, reporters, domains=domains)


def run_alerts(
    runner: QueryRunner,
    objects: DatedListing,
    state: IncidentState,
    now: datetime,
    thresholds: AlertThresholds,
    domains: Sequence[str] = (),
) -> Evaluation:
    """Evaluate every rule at `now` and save the incidents and changes (StateChanged if another run
    saved meanwhile)."""
    facts = alert_facts(runner, thresholds, now, domains)
    since = (now - timedelta(days=thresholds.query_days)).date()
    health = pipeline_health(objects, runner, since)
    loaded = state.load()
    evaluation = evaluate(facts, health, loaded.incidents, now, thresholds)
    state.save(loaded, evaluation.incidents, evaluation.changes, now)
    return evaluation
