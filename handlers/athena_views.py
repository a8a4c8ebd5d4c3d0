"""Installing the Athena views: the work of the custom resource `Custom::AthenaViews` (handlers/athena_setup).

Views are not CloudFormation resources, so deploy/athena.js puts their DDL (placeholders filled, each
view after the views it reads) into this resource's properties: a changed view is a changed resource,
and CloudFormation calls this function again.

    Create, Update  run each `CREATE OR REPLACE VIEW` in the stack's workgroup; on Update, drop the views
                    that are no longer in the properties
    Delete          drop the views (a failure here is logged, never blocks the stack's deletion)

Properties: Database, WorkGroup, Views: [{Name, Sql}], SqlSha256 (only there to make a change visible).
The answer goes to the pre-signed ResponseURL of the event, always, or CloudFormation waits for an hour.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools import Logger

from dmarc_store.errors import QueryFailedError

if TYPE_CHECKING:
    from mypy_boto3_athena import AthenaClient

logger = Logger(service="dmarc-athena-setup")

POLL_SECONDS = 1.0
SAFETY_MARGIN_MS = 15_000
"""Stop waiting this long before the function's timeout, to still send an answer."""
NAME = re.compile(r"^[a-z_][a-z0-9_]{0,254}$")


class Context(Protocol):
    @property
    def log_stream_name(self) -> str: ...

    def get_remaining_time_in_millis(self) -> int: ...


class QueryFailed(QueryFailedError):
    """Athena ran the statement and refused it, or it did not finish in time."""


Transport = Callable[[str, bytes], None]
"""(pre-signed URL, JSON body) -> None: sends CloudFormation the outcome."""


def put_response(url: str, body: bytes) -> None:
    """PUT the answer to the pre-signed S3 URL CloudFormation gave (no Content-Type: it is signed without)."""
    if not url.startswith("https://"):
        raise ValueError(f"refusing a non-https response URL: {url[:60]}")
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        response.read()


def run_query(
    athena: AthenaClient,
    sql: str,
    database: str,
    workgroup: str,
    time_left_ms: Callable[[], int],
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Run one statement to its end; return its query execution id."""
    execution_id = athena.start_query_execution(
        QueryString=sql, QueryExecutionContext={"Database": database}, WorkGroup=workgroup
    )["QueryExecutionId"]
    while True:
        status = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]
        state = status["State"]
        if state == "SUCCEEDED":
            return execution_id
        if state in ("FAILED", "CANCELLED"):
            reason = status.get("StateChangeReason", state)
            raise QueryFailed(f"query {execution_id} {state.lower()}: {reason}")
        if time_left_ms() < SAFETY_MARGIN_MS:
            raise QueryFailed(f"query {execution_id} still {state.lower()} when time ran out")
        sleep(POLL_SECONDS)


def view_names(views: Sequence[Mapping[str, str]]) -> list[str]:
    names = [view["Name"] for view in views]
    for name in names:
        if not NAME.match(name):
            raise ValueError(f"not a view name: {name!r}")
    return names


def apply(
    event: Mapping[str, Any],
    athena: AthenaClient,
    time_left_ms: Callable[[], int],
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, str]:
    """Do what the request asks; return the resource's attributes (`Views`: the names, comma-separated)."""
    properties = event["ResourceProperties"]
    database, workgroup = properties["Database"], properties["WorkGroup"]
    views: Sequence[Mapping[str, str]] = properties.get("Views", [])
    names = view_names(views)

    def run(sql: str) -> None:
        run_query(athena, sql, database, workgroup, time_left_ms, sleep)

    if event["RequestType"] == "Delete":
        for name in reversed(names):
            run(f"DROP VIEW IF EXISTS {name}")
        return {"Views": ""}
    for view in views:
        logger.info("creating view", extra={"view": view["Name"], "database": database})
        run(view["Sql"])
    if event["RequestType"] == "Update":
        old = event.get("OldResourceProperties", {})
        if old.get("Database") == database:
            for name in reversed(view_names(old.get("Views", []))):
                if name not in names:
                    run(f"DROP VIEW IF EXISTS {name}")
    return {"Views": ",".join(names)}


def physical_id(event: Mapping[str, Any]) -> str:
    """Stable per database: a new database is a new resource, and CloudFormation deletes the old one."""
    return f"athena-views-{event['ResourceProperties']['Database']}"


def response_body(
    event: Mapping[str, Any], status: str, reason: str, data: Mapping[str, str] | None = None
) -> bytes:
    return json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": event.get("PhysicalResourceId") or physical_id(event),
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": dict(data or {}),
        }
    ).encode()


def handle(
    event: Mapping[str, Any],
    context: Context,
    athena: AthenaClient,
    transport: Transport = put_response,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Apply the request and always answer CloudFormation; return the status sent."""
    log_hint = f"see CloudWatch log stream {context.log_stream_name}"
    try:
        data = apply(event, athena, context.get_remaining_time_in_millis, sleep)
        status, reason = "SUCCESS", log_hint
    except Exception as error:
        logger.exception("athena setup failed", extra={"request_type": event.get("RequestType")})
        data = {}
        if event.get("RequestType") == "Delete":
            status, reason = "SUCCESS", f"views not dropped ({error}); {log_hint}"
        else:
            status, reason = "FAILED", f"{error}; {log_hint}"
    transport(event["ResponseURL"], response_body(event, status, reason, data))
    return status
