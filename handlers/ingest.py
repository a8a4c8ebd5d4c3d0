"""Ingest Lambda: SQS batch of S3 notifications -> the ingest service, with partial batch failures.

Bad input is quarantined by the service and acknowledged; any other exception fails only its
message, which SQS redelivers and finally moves to the dead-letter queue.

A report too big for the invocation's time left stops between batches with what it wrote recorded
(`WriteDeferred`); its message is failed and made visible again at once, and the next invocation goes
on from there (dmarc_store.ingest.continuation). INIT imports only Powertools and the SQS loop.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from dmarc_store.errors import IngestIncomplete
from dmarc_store.ingest.continuation import lambda_deadline, redeliver_now
from dmarc_store.ingest.s3_events import object_versions

if TYPE_CHECKING:
    from dmarc_store.ingest.service import IngestResult, IngestService

logger = Logger(service="dmarc-ingest")
metrics = Metrics(namespace="DmarcReports", service="ingest")
processor = BatchProcessor(event_type=EventType.SQS)


@cache
def service() -> IngestService:
    """Built at the first message, once per container, with the store, parser and pyarrow: not at INIT."""
    from dmarc_store.connect import aws_ingest_service

    return aws_ingest_service()


def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    """Every object the message names; one that is not stored whole fails the message, after the others."""
    deadline = lambda_deadline(lambda_context)
    incomplete: list[IngestIncomplete] = []
    for key, version_id in object_versions(record.body):
        try:
            _report(service().ingest_key(key, version_id, deadline=deadline))
        except IngestIncomplete as error:
            _report(error.result)
            logger.error("ingest incomplete", extra={"source": error.result.source_key, "error": str(error)})
            incomplete.append(error)
    if incomplete:
        if all(error.continues for error in incomplete):
            visible = redeliver_now(record.event_source_arn, record.receipt_handle)
            logger.info("continues next invocation", extra={"message_id": record.message_id, "now": visible})
        raise incomplete[0]


def _report(result: IngestResult) -> None:
    logger.info("ingested", extra=result.as_json())
    for name, value in result.metrics().items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event, record_handler, processor, context)
