"""Compaction Lambda (daily schedule): delete expired days, then merge each closed day's small Parquet
files into one per table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from dmarc_store.compact import FAILED, compact_closed_days
from dmarc_store.connect import s3_objects
from dmarc_store.prune import prune_parquet
from dmarc_store.retention import first_kept_day
from dmarc_store.settings import get_settings

logger = Logger(service="dmarc-compact")


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    objects = s3_objects(settings)
    today = datetime.now(UTC).date()
    pruned = prune_parquet(objects, settings.retention_days, today)  # first: nothing expired is merged
    logger.info("pruned", extra=pruned.summary())
    first_kept = first_kept_day(settings.retention_days, today)
    run = compact_closed_days(objects, today, settings.compact_after_days, first_kept=first_kept)
    for compaction in run.compacted:
        logger.info("compacted", extra=compaction.as_dict())
    for skipped in run.skipped:  # one day's trouble stops no other; `taken`: another compaction has it
        log = logger.error if skipped.reason == FAILED else logger.warning
        log("compaction skipped", extra=skipped.as_dict())
    return {"pruned": pruned.summary(), **run.as_dict()}
