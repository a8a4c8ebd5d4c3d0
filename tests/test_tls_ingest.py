"""SMTP TLS reports (RFC 8460) through the ingest: every container, each report stored exactly once in
`tls_reports`, `tls_policies`, `tls_failures`, on the local store and on AWS (moto), and the saved
queries over what the ingest stored.

The expected totals are read from each report's JSON value here (tests/tlsrpt_samples.py builds them),
never from the code under test.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import athena_queries
from dmarc_model.tlsrpt import MAX_JSON_BYTES
from dmarc_store.backends.local import LocalStore
from dmarc_store.backends.objects import LocalObjects
from dmarc_store.compact import compact_closed_days
from dmarc_store.ingest.service import IngestService
from dmarc_store.query import DuckDBQueryRunner
from tests import tlsrpt_samples as samples
from tests.field_quirks import attachment, forwarded, gz, mail, report_mail, zipped

TODAY = date(2026, 1, 10)
NOW = datetime(2026, 1, 10, 12, tzinfo=UTC)
DAY = TODAY - timedelta(days=2)
Report = dict[str, Any]


def _shapes() -> dict[str, Report]:
    """The shapes the issue names: Google daily with no-policy-found, Microsoft without sending-mta-ip,
    an sts-policy-fetch-error, a certificate-expired, and the RFC's own example (dated 2016)."""
    fetch_error = [samples.failure("sts-policy-fetch-error", 12, mx=None)]
    expired = [
        samples.failure("certificate-expired", 40, mx="mx1.beta.example"),
        samples.failure("certificate-expired", 2, mx="mx2.beta.example", ip="192.0.2.11"),
    ]
    microsoft = [samples.failure("starttls-not-supported", 9, mx="mx.gamma.example")]
    return {
        "google-no-policy": samples.google_no_policy(DAY, ["alpha.example", "alpha.example.net"], 31),
        "microsoft": samples.microsoft_daily(
            DAY,
            "gamma.example",
            [samples.entry(samples.sts_policy("gamma.example", "testing"), 70, microsoft)],
        ),
        "sts-fetch-error": samples.google_daily(
            DAY,
            "beta.example",
            [samples.entry(samples.sts_policy("beta.example", "testing"), 5, fetch_error)],
        ),
        "certificate-expired": samples.other_reporter(
            DAY, "beta.example", [samples.entry(samples.sts_policy("beta.example", "enforce"), 900, expired)]
        ),
        "rfc8460-example": json.loads(samples.RFC8460_EXAMPLE),
    }


SHAPES = _shapes()
TLS_GZ_NAME = "google.com!example.com!1704067200!1704153599!001.json.gz"


def _tls_mail(part: str) -> bytes:
    """A report mail as RFC 8460 section 5.3 sends it: multipart/report, report-type=tlsrpt."""
    return report_mail(part, content_type='multipart/report; report-type="tlsrpt"')


CONTAINERS: dict[str, Callable[[bytes], bytes]] = {
    "json": lambda data: data,
    "json-with-bom-and-indent": lambda data: (
        b"\xef\xbb\xbf" + json.dumps(json.loads(data), indent=2).encode()
    ),
    "gzip": gz,
    "gzip-of-gzip": lambda data: gz(gz(data)),
    "zip": lambda data: zipped(("report.json", data)),
    "zip-of-gzip": lambda data: zipped(("report.json.gz", gz(data))),
    "mail-tlsrpt+gzip": lambda data: _tls_mail(
        attachment(gz(data), "application/tlsrpt+gzip", filename=TLS_GZ_NAME)
    ),
    "mail-tlsrpt+json": lambda data: _tls_mail(
        attachment(data, "application/tlsrpt+json", filename="report.json", disposition="inline")
    ),
    "mail-misdeclared-octet-stream": lambda data: report_mail(
        attachment(gz(data), "application/octet-stream", filename="report.bin")
    ),
    "mail-quoted-printable-json": lambda data: _tls_mail(
        attachment(data, "application/tlsrpt+json", filename="r.json", encoding="quoted-printable")
    ),
    "forwarded-mail": lambda data: mail(
        forwarded(_tls_mail(attachment(gz(data), "application/tlsrpt+gzip", filename=TLS_GZ_NAME)))
    ),
}


def expected_totals(report: Report) -> dict[str, int]:
    """What the report says, summed from its JSON value."""
    policies = report["policies"]
    details = [detail for body in policies for detail in body.get("failure-details", [])]
    return {
        "policies": len(policies),
        "successful": sum(body["summary"]["total-successful-session-count"] for body in policies),
        "failed": sum(body["summary"]["total-failure-session-count"] for body in policies),
        "details": len(details),
        "detail_failed": sum(detail["failed-session-count"] for detail in details),
    }


def stored_totals(root: Path) -> dict[str, int]:
    """The same sums, read back from every Parquet file the store holds."""
    policies = _rows(root, "tls_policies")
    failures = _rows(root, "tls_failures")
    return {
        "policies": len(policies),
        "successful": sum(row["successful_session_count"] for row in policies),
        "failed": sum(row["failed_session_count"] for row in policies),
        "details": len(failures),
        "detail_failed": sum(row["failed_session_count"] for row in failures),
    }


def _rows(root: Path, table: str) -> list[dict[str, Any]]:
    return [row for path in sorted((root / "parquet" / table).rglob("*.parquet")) for row in _read(path)]


def _read(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    return rows


def service(root: Path, now: datetime = NOW) -> IngestService:
    return IngestService(LocalStore(root), clock=lambda: now)


def _clock_for(report: Report) -> datetime:
    """A clock a few days after the report, so that even the RFC's 2016 example is in the window."""
    start = datetime.fromisoformat(report["date-range"]["start-datetime"].replace("Z", "+00:00"))
    return max(start + timedelta(days=3), datetime(2016, 4, 4, tzinfo=UTC))


# --- every shape in every container --------------------------------------------------------------------


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_in_each_container_is_stored_once_with_its_totals(
    shape: str, container: str, tmp_path: Path
) -> None:
    report = SHAPES[shape]
    data = CONTAINERS[container](samples.encode(report))
    result = service(tmp_path, _clock_for(report)).ingest(f"uploads/{shape}.{container}", data)
    assert (result.new, result.duplicate, result.quarantined) == (1, 0, [])
    (stored,) = result.reports
    assert stored.kind == "tlsrpt"
    assert stored.org_name == report["organization-name"]
    assert stored.report_id == report["report-id"]
    totals = expected_totals(report)
    assert (stored.record_count, stored.message_total) == (
        totals["policies"],
        totals["successful"] + totals["failed"],
    )
    assert stored_totals(tmp_path) == totals
    (row,) = _rows(tmp_path, "tls_reports")
    assert (row["successful_session_count"], row["failed_session_count"]) == (
        totals["successful"],
        totals["failed"],
    )
    assert row["source_key"] == f"uploads/{shape}.{container}"
    assert result.records == 0  # no DMARC record came of it
    assert result.metrics()["TlsReportsStored"] == 1
    assert result.metrics()["ReportsStored"] == 0


def test_microsoft_failures_without_a_sending_ip_keep_a_null_ip(tmp_path: Path) -> None:
    data = samples.encode(SHAPES["microsoft"], gzipped=True)
    service(tmp_path).ingest("uploads/ms.json.gz", data)
    (failure,) = _rows(tmp_path, "tls_failures")
    assert failure["sending_mta_ip"] is None
    assert (failure["result_type"], failure["receiving_mx_hostname"]) == (
        "starttls-not-supported",
        "mx.gamma.example",
    )
    (report,) = _rows(tmp_path, "tls_reports")
    assert report["contact_info"] is None


def test_no_policy_found_policies_have_a_row_each_and_no_failure(tmp_path: Path) -> None:
    service(tmp_path).ingest("uploads/google.json", samples.encode(SHAPES["google-no-policy"]))
    policies = _rows(tmp_path, "tls_policies")
    assert sorted((row["policy_domain"], row["policy_type"]) for row in policies) == [
        ("alpha.example", "no-policy-found"),
        ("alpha.example.net", "no-policy-found"),
    ]
    assert _rows(tmp_path, "tls_failures") == []
    (report,) = _rows(tmp_path, "tls_reports")
    assert report["policy_domains"] == ["alpha.example", "alpha.example.net"]


def test_a_dmarc_report_and_a_tls_report_in_one_mail_are_both_stored(tmp_path: Path) -> None:
    tls = attachment(samples.encode(SHAPES["microsoft"], gzipped=True), "application/tlsrpt+gzip")
    dmarc = attachment(gz(samples_dmarc_xml()), filename="google.com!example.com!1!2.xml.gz")
    result = service(tmp_path).ingest("incoming/both", report_mail(tls, dmarc))
    assert sorted(report.kind for report in result.reports) == ["aggregate", "tlsrpt"]
    assert result.records == 1
    assert stored_totals(tmp_path)["failed"] == 9


def samples_dmarc_xml() -> bytes:
    from tests.field_quirks import ONE

    return ONE


# --- exactly once ----------------------------------------------------------------------------------------


def test_the_same_report_in_other_containers_and_spellings_is_a_duplicate(tmp_path: Path) -> None:
    report = SHAPES["certificate-expired"]
    ingest = service(tmp_path)
    outcomes = [
        ingest.ingest(f"uploads/copy-{name}", CONTAINERS[name](samples.encode(report))).reports[0].outcome
        for name in ("json", "gzip", "mail-tlsrpt+gzip", "json-with-bom-and-indent", "forwarded-mail")
    ]
    assert outcomes == ["new", "duplicate", "duplicate", "duplicate", "duplicate"]
    reordered = dict(reversed(list(report.items())))
    assert ingest.ingest("uploads/reordered", samples.encode(reordered)).duplicate == 1
    assert stored_totals(tmp_path) == expected_totals(report)
    assert len(_rows(tmp_path, "tls_reports")) == 1


def test_a_redelivered_object_adds_nothing(tmp_path: Path) -> None:
    data = CONTAINERS["mail-tlsrpt+gzip"](samples.encode(SHAPES["sts-fetch-error"]))
    first = service(tmp_path).ingest("incoming/msg-1", data)
    again = service(tmp_path).ingest("incoming/msg-1", data)
    assert (first.new, again.new, again.duplicate) == (1, 0, 1)
    assert stored_totals(tmp_path) == expected_totals(SHAPES["sts-fetch-error"])


def test_other_content_under_the_same_identity_is_a_conflict_and_the_first_stands(tmp_path: Path) -> None:
    report = SHAPES["certificate-expired"]
    changed = json.loads(json.dumps(report))
    changed["policies"][0]["summary"]["total-successful-session-count"] += 1
    ingest = service(tmp_path)
    ingest.ingest("uploads/first.json", samples.encode(report))
    second = ingest.ingest("uploads/second.json", samples.encode(changed))
    assert second.conflict == 1
    assert stored_totals(tmp_path) == expected_totals(report)
    (conflict,) = _rows(tmp_path, "conflicts")
    assert (conflict["report_id"], conflict["stored_source_key"]) == (
        report["report-id"],
        "uploads/first.json",
    )
    assert any(key.startswith("quarantine/conflict/") for key in map(str, second.quarantine_keys))


def test_tls_and_dmarc_claims_share_the_index_without_meeting(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    result = IngestService(store, clock=lambda: NOW).ingest(
        "uploads/t.json", samples.encode(SHAPES["microsoft"])
    )
    (stored,) = result.reports
    assert store.report_status(stored.report_key) == "COMPLETE"


# --- refused, with a reason -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"organization-name": "X", "date-range": {}, "report-id": "1", "policies": [', "malformed-json"),
        (b'{"organization-name": "X", "policies": []}', "schema-violation"),
        (gz(samples.encode(SHAPES["microsoft"]))[:-12], "corrupt-archive"),
        (b'{"policies": [' + b" " * (MAX_JSON_BYTES + 1) + b"]}", "too-large"),
    ],
    ids=["malformed", "missing-fields", "truncated-gzip", "over-the-cap"],
)
def test_a_broken_tls_report_is_quarantined_with_its_reason(data: bytes, reason: str, tmp_path: Path) -> None:
    result = service(tmp_path).ingest("uploads/broken.json", data)
    assert [piece.reason for piece in result.quarantined] == [reason]
    assert result.reports == []
    assert list((tmp_path / "quarantine" / reason).iterdir())
    assert not (tmp_path / "parquet").exists()


def test_a_report_dated_in_the_future_is_out_of_window(tmp_path: Path) -> None:
    ahead = samples.google_daily(TODAY + timedelta(days=5), "alpha.example", [])
    result = service(tmp_path).ingest("uploads/ahead.json", samples.encode(ahead))
    assert [piece.reason for piece in result.quarantined] == ["out-of-window"]


# --- the saved queries over what the ingest stored ---------------------------------------------------------


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/tlsrpt_samples.store_reports, each mailed as RFC 8460 says, one of them twice."""
    root = tmp_path_factory.mktemp("tls-ingested")
    today = datetime.now(UTC).date()
    ingest = service(root, datetime.now(UTC))
    reports = samples.store_reports(today)[:-1]  # the 2016 example is outside the window
    for number, report in enumerate(reports):
        data = CONTAINERS["mail-tlsrpt+gzip"](samples.encode(report))
        assert ingest.ingest(f"incoming/tls-{number}", data).new == 1
    assert ingest.ingest("incoming/tls-again", CONTAINERS["gzip"](samples.encode(reports[3]))).duplicate == 1
    return root


def _run(root: Path, name: str, **values: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        DuckDBQueryRunner(root).run_saved(athena_queries.saved_query(name), values).to_pylist()
    )
    return rows


def test_failures_by_type_over_the_ingested_reports_are_exact(ingested: Path) -> None:
    rows = _run(ingested, "tls_failures_by_type", days=30)
    by_type: dict[str, int] = {}
    for row in rows:
        by_type[row["result_type"]] = by_type.get(row["result_type"], 0) + row["failed_sessions"]
    assert by_type == {
        "certificate-expired": 45,
        "starttls-not-supported": 10,
        "sts-policy-fetch-error": 7,
        "tls-version-too-old": 3,
    }


def test_the_ingested_store_answers_every_tls_query_as_rows_written_directly_do(
    ingested: Path, tmp_path: Path
) -> None:
    samples.write_store(tmp_path, datetime.now(UTC).date())
    for name in ("tls_failures_by_type", "tls_daily_success", "mta_sts_readiness"):
        ours = _run(ingested, name, days=30)
        theirs = _run(tmp_path, name, days=30)
        assert sorted(map(repr, ours)) == sorted(map(repr, theirs)), name


def test_compaction_keeps_every_tls_row_once(tmp_path: Path) -> None:
    today = datetime.now(UTC).date()
    ingest = service(tmp_path, datetime.now(UTC))
    reports = samples.store_reports(today)[:-1]
    for number, report in enumerate(reports):
        ingest.ingest(f"uploads/tls-{number}.json", samples.encode(report))
    before = {name: _run(tmp_path, name, days=30) for name in ("tls_failures_by_type", "tls_daily_success")}
    run = compact_closed_days(LocalObjects(tmp_path), today, after_days=1)
    assert {item.table for item in run.compacted} >= {"tls_reports", "tls_policies"}
    for day in samples.store_days(today):
        folder = tmp_path / "parquet" / "tls_policies" / f"dt={day}"
        assert len(list(folder.glob("*.parquet"))) == 1
    after = {name: _run(tmp_path, name, days=30) for name in before}
    assert after == before


# --- on AWS (moto) ------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_on_aws_a_tls_report_mailed_twice_is_one_meta_and_three_parquet_files(lambda_context: object) -> None:
    from handlers import ingest
    from tests import aws_support as aws_kit

    report = SHAPES["certificate-expired"]
    data = CONTAINERS["mail-tlsrpt+gzip"](samples.encode(report))
    aws_kit.put_object("incoming/tls-1", data)
    aws_kit.put_object("incoming/tls-2", data)
    ingest.service.cache_clear()
    try:
        response = ingest.handler(aws_kit.sqs_event("incoming/tls-1", "incoming/tls-2"), lambda_context)
    finally:
        ingest.service.cache_clear()
    assert response == {"batchItemFailures": []}
    (meta,) = aws_kit.scan_all()  # no record item, no by-source-ip entry: only the claim
    totals = expected_totals(report)
    assert (meta["SK"], meta["status"], meta["kind"]) == ("META", "COMPLETE", "tlsrpt")
    assert int(meta["failed_session_count"]) == totals["failed"]
    assert int(meta["message_total"]) == totals["successful"] + totals["failed"]
    assert "GSI2PK" not in meta
    keys = aws_kit.list_keys("parquet/")
    assert sorted(key.split("/")[1] for key in keys) == ["tls_failures", "tls_policies", "tls_reports"]
    assert all(f"/dt={DAY}/" in key for key in keys)
    failures = [
        row for key in keys if "/tls_failures/" in key for row in pq.read_table(_s3_file(key)).to_pylist()
    ]
    assert sum(row["failed_session_count"] for row in failures) == totals["detail_failed"]
    assert aws_kit.list_keys("quarantine/") == []


def _s3_file(key: str) -> io.BytesIO:
    from tests import aws_support as aws_kit

    return io.BytesIO(aws_kit.get_object(key))
