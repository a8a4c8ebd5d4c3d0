"""Installing the Athena views: the work of the custom resource `Custom::AthenaViews` (handlers/athena_setup).

Views are not CloudFormation resources, so deploy/athena.js puts their DDL (placeholders filled, each
view after the views it reads) into this resource's properties: a changed view is a changed resource,
and CloudFormation calls this function again.

    Create, Update  run each `CREATE OR REPLACE VIEW` in the stack's workgroup; on Update, drop the views
                    that are no longer in the properties
    Delete          drop the views (a failure here is logged, never blocks the stack's deletion)

Properties: Database, WorkGroup, Views: [{Name, Sql}], SqlSha256 (only there to make a change visible),
ServiceTimeout (CloudFormation's own: how long it waits for the answer).
The answer goes to the pre-signed ResponseURL of the event, always (handlers/cfn_response), or
CloudFormation waits until the ServiceTimeout. The Athena client has short timeouts (`CLIENT_CONFIG`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools import Logger
from botocore.config import Config

from dmarc_store.aws_clients import CONFIG
from dmarc_store.errors import QueryFailedError
from handlers.cfn_response import Transport, physical_id, put_response, response_body

if TYPE_CHECKING:
    from mypy_boto3_athena import AthenaClient

logger = Logger(service="dmarc-athena-setup")

POLL_SECONDS = 1.0
SAFETY_MARGIN_MS = 30_000
"""Stop waiting this long before the function's timeout, to still send an answer: room for the slowest
Athena call `CLIENT_CONFIG` allows and the answer's PUT (tests/test_custom_resources.py)."""
NAME = re.compile(r"^[a-z_][a-z0-9_]{0,254}$")
CLIENT_CONFIG = CONFIG.merge(
    Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 2})
)
"""Athena's start and get calls answer in well under a second: a dead endpoint must fail in seconds, not
hang until the function's timeout (which would leave CloudFormation unanswered).
https://docs.aws.amazon.com/botocore/latest/reference/config.html"""

__all__ = [
    "CLIENT_CONFIG",
    "SAFETY_MARGIN_MS",
    "Context",
    "QueryFailed",
    "Transport",
    "apply",
    "handle",
    "logger",
    "physical_id",
    "put_response",
    "response_body",
]


class Context(Protocol):
    @property
    def log_stream_name(self) -> str: ...

    def get_remaining_time_in_millis(self) -> int: ...


class QueryFailed(QueryFailedError):
    """Athena ran the statement and refused it, or it did not finish in time."""


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
