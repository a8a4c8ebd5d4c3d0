"""One bad report never takes good ones down, and every version of an object is read.

An unexpected exception (a bug) while preparing or storing one report: the other reports of the same
object and the other objects are stored; the failed one is quarantined as `internal-error` with its
traceback; the CLI goes on and exits 1, the Lambda fails only that message (SQS retries, then the DLQ).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

import dmarc_store.ingest.service as service_module
from dmarc_cli.main import cli
from dmarc_store.backends.local import LocalStore
from dmarc_store.errors import IngestIncomplete
from dmarc_store.ingest.service import IngestService
from tests import aws_support as kit


def report(report_id: str, count: int = 3) -> bytes:
    return (
        "<feedback><report_metadata><org_name>Collateral</org_name><email>r@example.net</email>"
        f"<report_id>{report_id}</report_id><date_range><begin>1735689600</begin><end>1735775999</end>"
        "</date_range></report_metadata><policy_published><domain>example.com</domain><p>none</p>"
        "</policy_published><record><row><source_ip>192.0.2.7</source_ip>"
        f"<count>{count}</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim>"
        "<spf>pass</spf></policy_evaluated></row><identifiers><header_from>example.com</header_from>"
        "</identifiers></record></feedback>"
    ).encode()


def zipped(*members: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for number, member in enumerate(members):
            archive.writestr(f"report-{number}.xml", member)
    return buffer.getvalue()


@pytest.fixture
def bug_in(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Make preparing the report with this report_id raise an unexpected exception."""

    def install(report_id: str) -> None:
        original = service_module.prepare_report

        def buggy(payload: Any, source_key: str, ingested_at: Any, **options: Any) -> Any:
            prepared = original(payload, source_key, ingested_at, **options)
            if prepared.report["report_id"] == report_id:
                raise RuntimeError(f"a bug met report {report_id}")
            return prepared

        monkeypatch.setattr(service_module, "prepare_report", buggy)

    return install


def test_a_bug_on_one_report_stores_the_others_of_the_object(
    tmp_path: Path, bug_in: Callable[[str], None]
) -> None:
    bug_in("bad")
    store = LocalStore(tmp_path / "store")
    with pytest.raises(IngestIncomplete) as incomplete:
        IngestService(store).ingest("two.zip", zipped(report("bad"), report("good")))
    result = incomplete.value.result
    assert [stored.report_id for stored in result.reports] == ["good"]
    assert not incomplete.value.retryable
    (failure,) = result.failed
    assert "a bug met report bad" in str(failure.error)
    notes = list((tmp_path / "store" / "quarantine" / "internal-error").rglob("*.json"))
    assert len(notes) == 1
    note = json.loads(notes[0].read_text())
    assert note["reason"] == "internal-error"
    assert "Traceback" in note["pieces"][0]["traceback"]
    assert "RuntimeError" in note["pieces"][0]["traceback"]


def test_the_cli_goes_on_past_a_bug_and_exits_1_without_a_traceback(
    tmp_path: Path, bug_in: Callable[[str], None]
) -> None:
    bug_in("bad")
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.xml").write_bytes(report("bad"))
    (inputs / "b.xml").write_bytes(report("good"))
    result = CliRunner().invoke(cli, ["ingest", "--json", "--store", str(tmp_path / "store"), str(inputs)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert (summary["files"], summary["new"]) == (2, 1)
    assert [failure["source"] for failure in summary["failed"]] == [str(inputs / "a.xml")]
    assert "a bug met report bad" in summary["failed"][0]["error"]


@pytest.fixture
def handler(aws: None) -> Iterator[Callable[[dict[str, Any], Any], dict[str, Any]]]:
    from handlers import ingest

    ingest.service.cache_clear()
    yield ingest.handler  # type: ignore[misc]
    ingest.service.cache_clear()


def test_the_lambda_stores_the_good_reports_and_fails_only_the_message_with_the_bug(
    handler: Callable[..., dict[str, Any]], lambda_context: object, bug_in: Callable[[str], None]
) -> None:
    bug_in("bad")
    kit.put_object("uploads/mixed.zip", zipped(report("bad"), report("good-1")))
    kit.put_object("uploads/clean.xml", report("good-2"))
    event = kit.sqs_event("uploads/mixed.zip", "uploads/clean.xml")
    response = handler(event, lambda_context)
    assert response["batchItemFailures"] == [{"itemIdentifier": "message-0"}]
    stored = {item["report_id"] for item in kit.scan_all() if item["SK"] == "META"}
    assert stored == {"good-1", "good-2"}


@pytest.mark.usefixtures("aws")
def test_ingest_aws_goes_on_past_a_permanent_aws_error_on_one_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dmarc_store.aws_clients import TranslatingClient, translate
    from tests.test_aws_clients import client_error

    original = TranslatingClient.__getattr__

    def denied_for_one(self: TranslatingClient, name: str) -> Any:
        call = original(self, name)
        if self._service != "s3" or name != "put_object":
            return call

        def put(**kwargs: Any) -> Any:
            if "first" in kwargs.get("Key", "") or b"first" in kwargs.get("Body", b""):
                raise translate(client_error("AccessDenied", 403), "s3.put_object")
            return call(**kwargs)

        return put

    monkeypatch.setattr(TranslatingClient, "__getattr__", denied_for_one)
    (tmp_path / "1.xml").write_bytes(report("first"))
    (tmp_path / "2.xml").write_bytes(report("second"))
    result = CliRunner().invoke(
        cli, ["ingest", "--aws", "--json", str(tmp_path / "1.xml"), str(tmp_path / "2.xml")]
    )
    assert result.exit_code == 1, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["new"] == 1
    assert "AccessDenied" in summary["failed"][0]["error"]


def _event_with_versions(key: str, versions: list[str]) -> dict[str, Any]:
    event = kit.sqs_event(*[key] * len(versions))
    for record, version in zip(event["Records"], versions, strict=True):
        body = json.loads(record["body"])
        body["Records"][0]["s3"]["object"]["versionId"] = version
        record["body"] = json.dumps(body)
    return event


def test_two_uploads_to_one_key_are_both_ingested_by_version(
    handler: Callable[..., dict[str, Any]], lambda_context: object
) -> None:
    s3 = boto3.client("s3", region_name=kit.REGION)
    s3.put_bucket_versioning(Bucket=kit.BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=kit.BUCKET, Key="uploads/same", Body=report("one"))["VersionId"]
    second = s3.put_object(Bucket=kit.BUCKET, Key="uploads/same", Body=report("two"))["VersionId"]
    response = handler(_event_with_versions("uploads/same", [first, second]), lambda_context)
    assert response["batchItemFailures"] == []
    metas = {item["report_id"]: item for item in kit.scan_all() if item["SK"] == "META"}
    assert set(metas) == {"one", "two"}
    assert metas["one"]["source_key"] == f"uploads/same?versionId={first}"
    assert metas["two"]["source_key"] == f"uploads/same?versionId={second}"


def test_the_quarantine_copy_is_of_the_version_the_event_named(
    handler: Callable[..., dict[str, Any]], lambda_context: object
) -> None:
    s3 = boto3.client("s3", region_name=kit.REGION)
    s3.put_bucket_versioning(Bucket=kit.BUCKET, VersioningConfiguration={"Status": "Enabled"})
    junk = s3.put_object(Bucket=kit.BUCKET, Key="uploads/later", Body=b"not a report")["VersionId"]
    s3.put_object(Bucket=kit.BUCKET, Key="uploads/later", Body=report("fine"))
    assert handler(_event_with_versions("uploads/later", [junk]), lambda_context)["batchItemFailures"] == []
    copies = [key for key in kit.list_keys("quarantine/") if not key.endswith(".json")]
    assert len(copies) == 1
    assert junk in copies[0]
    assert kit.get_object(copies[0]) == b"not a report"
