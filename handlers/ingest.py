"""Ingest Lambda: SQS batch of S3 notifications -> the ingest service, with partial batch failures.

Bad input is quarantined by the service and acknowledged; any other exception fails only its
message, which SQS redelivers and finally moves to the dead-letter queue.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from dmarc_store.connect import aws_store, ingest_service
from dmarc_store.errors import IngestIncomplete
from dmarc_store.ingest.s3_events import object_versions
from dmarc_store.ingest.service import IngestResult, IngestService
from dmarc_store.settings import get_settings

logger = Logger(service="dmarc-ingest")
metrics = Metrics(namespace="DmarcReports", service="ingest")
processor = BatchProcessor(event_type=EventType.SQS)


@cache
def service() -> IngestService:
    settings = get_settings()
    return ingest_service(aws_store(settings), settings)


def record_handler(record: SQSRecord) -> None:
    """Every object the message names; one that is not stored whole fails the message, after the others."""
    incomplete: list[IngestIncomplete] = []
    for key, version_id in object_versions(record.body):
        try:
            _report(service().ingest_key(key, version_id))
        except IngestIncomplete as error:
            _report(error.result)
            logger.error("ingest incomplete", extra={"source": error.result.source_key, "error": str(error)})
            incomplete.append(error)
    if incomplete:
        raise incomplete[0]


def _report(result: IngestResult) -> None:
    logger.info("ingested", extra=result.as_json())
    metrics.add_metric(name="ReportsStored", unit=MetricUnit.Count, value=result.new)
    metrics.add_metric(name="RecordsStored", unit=MetricUnit.Count, value=result.records)
    metrics.add_metric(name="Duplicates", unit=MetricUnit.Count, value=result.duplicate)
    metrics.add_metric(name="Quarantined", unit=MetricUnit.Count, value=len(result.quarantined))
    metrics.add_metric(name="Conflicts", unit=MetricUnit.Count, value=result.conflict)
    metrics.add_metric(name="Failed", unit=MetricUnit.Count, value=len(result.failed))


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
