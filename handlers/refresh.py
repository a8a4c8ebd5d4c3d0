"""Refresh Lambda: the weekly refresh of the reference data senders are named with, into the bucket.

Walks each service's documented SPF include for its netblocks (DNS TXT) and fetches the newest
`@ip-location-db/asn` from the npm registry when it is newer than the published one; publishes what
changed under `reference/` and names it in `reference/current.json` (dmarc_store.reference). Ingest
reads that at a cold start; it never looks anything up itself. Invoke it by hand with {} after the
rules change, then the classify function to name past mail again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from dmarc_model.senders.reference import PACKAGE_RULES, load_reference
from dmarc_store.connect import s3_objects
from dmarc_store.reference import sources
from dmarc_store.reference.refresh import refresh_reference
from dmarc_store.settings import get_settings

logger = Logger(service="dmarc-refresh")


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    result = refresh_reference(
        s3_objects(settings),
        load_reference(settings.sender_rules or PACKAGE_RULES),
        lookup=sources.DnsTxt(),
        fetch=sources.HttpFetch(),
        now=datetime.now(UTC),
    ).as_dict()
    if result["failures"] or result["asn_error"]:
        logger.warning("reference partly refreshed", extra=result)
    else:
        logger.info("reference refreshed", extra=result)
    return result
