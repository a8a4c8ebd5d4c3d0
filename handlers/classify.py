"""Classify Lambda: name every stored record's sender again, after the rules or the data change.

Invoke it with {"since": "YYYY-MM-DD"} (or {} for every day), as `dmarc classify --aws` does from a
workstation. It reclassifies a day at a time and stops before its deadline: the answer's "next" is the
day to invoke it again with, null when every day is done.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from dmarc_model.errors import UsageError
from dmarc_store.classify import reclassify_day, stored_days
from dmarc_store.connect import aws_classifier, s3_objects
from dmarc_store.ingest.continuation import lambda_deadline
from dmarc_store.settings import get_settings

logger = Logger(service="dmarc-classify")
RESERVE_SECONDS = 120.0
"""Left for the day in hand: a day of a million records takes about a minute."""


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    objects = s3_objects(settings)
    classifier = aws_classifier(settings)
    deadline = lambda_deadline(context)
    done: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    for day in stored_days(objects, _since(event)):
        if deadline.seconds_left() < RESERVE_SECONDS:
            return {"classifier_version": classifier.version, "done": done, "next": day.isoformat()}
        result = reclassify_day(objects, classifier, day, now).as_dict()
        logger.info("reclassified", extra=result)
        done.append(result)
    return {"classifier_version": classifier.version, "done": done, "next": None}


def _since(event: dict[str, Any]) -> date | None:
    since = event.get("since")
    if since in (None, ""):
        return None
    try:
        return date.fromisoformat(str(since))
    except ValueError:
        raise UsageError(f'"since" must be a day, YYYY-MM-DD: {since!r}') from None
