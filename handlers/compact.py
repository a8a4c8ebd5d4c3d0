"""Compaction Lambda (daily schedule): merge each closed day's small Parquet files into one per table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from dmarc_store.compact import compact_closed_days
from dmarc_store.connect import s3_objects
from dmarc_store.settings import get_settings

logger = Logger(service="dmarc-compact")


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    objects = s3_objects(settings)
    today = datetime.now(UTC).date()
    done = compact_closed_days(objects, today, settings.compact_after_days)
    for compaction in done:
        logger.info("compacted", extra=compaction.__dict__)
    return {"compacted": [compaction.__dict__ for compaction in done]}
