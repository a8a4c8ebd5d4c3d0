"""Lookup Lambda: {"ip": "...", "since": "YYYY-MM-DD", "until": "YYYY-MM-DD"} -> every record of that IP."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from dmarc_store import connect
from dmarc_store.lookup import lookup_dynamodb
from dmarc_store.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = Logger(service="dmarc-lookup")


@cache
def dynamodb() -> tuple[DynamoDBClient, str]:
    """The table's client (made once per container) and name; ConfigurationError without DMARC_TABLE."""
    return connect.dynamodb(get_settings())


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    client, table = dynamodb()
    try:
        since = date.fromisoformat(event["since"]) if event.get("since") else None
        until = date.fromisoformat(event["until"]) if event.get("until") else None
        records = list(lookup_dynamodb(client, table, str(event["ip"]), since, until))
    except (KeyError, ValueError) as error:
        return {"error": f"bad request: {error}"}
    logger.info("lookup", extra={"ip": event["ip"], "records": len(records)})
    return {"ip": event["ip"], "records": records}
