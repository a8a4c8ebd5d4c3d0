"""Alerts Lambda (daily, EventBridge Scheduler): evaluate every alert rule over the stored reports, keep
the incidents in the table, and publish each notification to the alert topic.

    run_alerts(Athena, the bucket, DynamoIncidentState, now, DMARC_ALERT_* thresholds, DMARC_DOMAINS)
    -> one SNS message per notification (opened, escalated, resolved); an update publishes nothing

The messages are dmarc_store.alerts.notify's: a short ASCII subject, the text with its evidence for
email subscribers, the change as JSON for the others, and attributes for filter policies.

When another run saved the incidents meanwhile (`StateChanged`), the evaluation runs once more, then
fails (the invocation is retried). A message that cannot be published is logged, the others are sent,
and the invocation fails (its errors alarm): the change stays in the table's change log (the digest).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from dmarc_store.alerts.notify import publish
from dmarc_store.alerts.run import evaluation_summary, run_alerts
from dmarc_store.aws_clients import AwsClients
from dmarc_store.connect import athena_runner, incident_state, s3_objects
from dmarc_store.errors import TransientStoreError
from dmarc_store.settings import get_settings
from dmarc_store.thresholds import alert_thresholds

if TYPE_CHECKING:
    from dmarc_store.query.runner import QueryRunner

logger = Logger(service="dmarc-alerts")


def runner() -> QueryRunner:
    """The query runner (Athena); the tests put DuckDB over a local store in its place."""
    return athena_runner(get_settings())


def clock() -> datetime:
    return datetime.now(UTC)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    clients = AwsClients()
    objects, state = s3_objects(settings, clients), incident_state(settings, clients)
    evaluation = run_alerts(
        runner(), objects, state, clock(), alert_thresholds(), settings.domain_list, retries=1
    )
    topic = settings.alerts_topic_arn
    failures = 0
    for change in evaluation.notifications:
        if topic:
            failures += not publish(clients.client("sns"), topic, change)
        logger.info("notification", extra={"published": bool(topic), "change": change.to_dict()})
    summary = evaluation_summary(
        evaluation, published=len(evaluation.notifications) - failures if topic else 0
    )
    logger.info("alerts evaluated", extra=summary)
    if failures:
        raise TransientStoreError(
            f"{failures} of {len(evaluation.notifications)} notifications not published"
        )
    return summary
