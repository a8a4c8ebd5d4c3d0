"""handlers/athena_setup.py, the custom resource that installs the views: against moto's Athena, which
accepts any statement (the SQL itself is tested on DuckDB elsewhere) and records what was run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from handlers import athena_setup

if TYPE_CHECKING:
    from mypy_boto3_athena import AthenaClient

VIEWS = [
    {"Name": "report_details", "Sql": "CREATE OR REPLACE VIEW report_details AS SELECT 1 AS one"},
    {"Name": "record_details", "Sql": "CREATE OR REPLACE VIEW record_details AS SELECT 2 AS two"},
]


@dataclass
class FakeContext:
    log_stream_name: str = "2026/11/28/[$LATEST]abc"
    remaining_ms: int = 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class Responses:
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, url: str, body: bytes) -> None:
        self.sent.append((url, json.loads(body)))


def event(
    request_type: str, views: list[dict[str, str]], old: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-custom-resource-response.example/signed",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/dmarc-dev/x",
        "RequestId": "request-1",
        "LogicalResourceId": "AthenaViews",
        "ResourceType": "Custom::AthenaViews",
        "ResourceProperties": {
            "ServiceToken": "arn",
            "Database": "dmarc",
            "WorkGroup": "dmarc-dev",
            "Views": views,
        },
    }
    if request_type != "Create":
        request["PhysicalResourceId"] = "athena-views-dmarc"
    if old is not None:
        request["OldResourceProperties"] = {"Database": "dmarc", "WorkGroup": "dmarc-dev", "Views": old}
    return request


@pytest.fixture
def athena() -> Iterator[AthenaClient]:
    with mock_aws():
        client = boto3.client("athena", region_name="us-east-1")
        client.create_work_group(Name="dmarc-dev")
        yield client


def statements_run(athena: AthenaClient) -> list[str]:
    ids = athena.list_query_executions(WorkGroup="dmarc-dev")["QueryExecutionIds"]
    executions = [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]
    for execution in executions:
        assert execution["QueryExecutionContext"]["Database"] == "dmarc"
    return sorted(execution["Query"] for execution in executions)


def test_create_runs_every_view_and_answers_success_with_their_names(athena: AthenaClient) -> None:
    responses = Responses()
    status = athena_setup.handle(
        event("Create", VIEWS), FakeContext(), athena, responses, sleep=lambda _: None
    )
    assert status == "SUCCESS"
    assert statements_run(athena) == sorted(view["Sql"] for view in VIEWS)
    ((url, body),) = responses.sent
    assert url.startswith("https://")
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == "athena-views-dmarc"
    assert body["Data"] == {"Views": "report_details,record_details"}
    assert (body["StackId"], body["RequestId"], body["LogicalResourceId"]) == (
        "arn:aws:cloudformation:us-east-1:123456789012:stack/dmarc-dev/x",
        "request-1",
        "AthenaViews",
    )


def test_update_recreates_the_views_and_drops_the_ones_removed(athena: AthenaClient) -> None:
    old = [*VIEWS, {"Name": "old_summary", "Sql": "CREATE OR REPLACE VIEW old_summary AS SELECT 3"}]
    athena_setup.handle(event("Update", VIEWS, old), FakeContext(), athena, Responses(), sleep=lambda _: None)
    assert statements_run(athena) == sorted(
        [*(view["Sql"] for view in VIEWS), "DROP VIEW IF EXISTS old_summary"]
    )


def test_delete_drops_the_views_and_never_blocks_the_stack(athena: AthenaClient) -> None:
    responses = Responses()
    athena_setup.handle(event("Delete", VIEWS), FakeContext(), athena, responses, sleep=lambda _: None)
    assert statements_run(athena) == [
        "DROP VIEW IF EXISTS record_details",
        "DROP VIEW IF EXISTS report_details",
    ]
    assert responses.sent[0][1]["Status"] == "SUCCESS"


class FailingAthena:
    """Stands for an Athena that refuses the statement (moto's accepts everything)."""

    def start_query_execution(self, **_: Any) -> dict[str, str]:
        return {"QueryExecutionId": "q-1"}

    def get_query_execution(self, **_: Any) -> dict[str, Any]:
        reason = "line 1:8: Table 'dmarc.records' does not exist"
        return {"QueryExecution": {"Status": {"State": "FAILED", "StateChangeReason": reason}}}


def test_a_refused_view_fails_the_deploy_with_athenas_reason() -> None:
    responses = Responses()
    status = athena_setup.handle(event("Create", VIEWS), FakeContext(), FailingAthena(), responses)  # type: ignore[arg-type]
    assert status == "FAILED"
    reason = responses.sent[0][1]["Reason"]
    assert "does not exist" in reason
    assert "log stream" in reason


def test_a_refused_drop_still_lets_the_stack_be_deleted() -> None:
    responses = Responses()
    status = athena_setup.handle(event("Delete", VIEWS), FakeContext(), FailingAthena(), responses)  # type: ignore[arg-type]
    assert status == "SUCCESS"
    assert "not dropped" in responses.sent[0][1]["Reason"]


class SlowAthena(FailingAthena):
    def get_query_execution(self, **_: Any) -> dict[str, Any]:
        return {"QueryExecution": {"Status": {"State": "RUNNING"}}}


def test_it_answers_before_the_function_times_out() -> None:
    responses = Responses()
    context = FakeContext(remaining_ms=athena_setup.SAFETY_MARGIN_MS - 1)
    slow: Any = SlowAthena()
    status = athena_setup.handle(event("Create", VIEWS), context, slow, responses, sleep=lambda _: None)
    assert status == "FAILED"
    assert "time ran out" in responses.sent[0][1]["Reason"]


def test_a_view_name_that_is_not_an_identifier_is_refused(athena: AthenaClient) -> None:
    responses = Responses()
    bad = [{"Name": "x; DROP TABLE records", "Sql": "CREATE OR REPLACE VIEW x AS SELECT 1"}]
    assert athena_setup.handle(event("Delete", bad), FakeContext(), athena, responses) == "SUCCESS"
    assert statements_run(athena) == []


def test_the_response_goes_only_to_an_https_url() -> None:
    with pytest.raises(ValueError, match="non-https"):
        athena_setup.put_response("http://169.254.169.254/latest", b"{}")
