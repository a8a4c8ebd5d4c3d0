"""Fuzzing properties over generated reports (tests/fuzz/strategies.py), valid and broken, in any container.

Examples per property: the "ci" profile (derandomized, the default) or "fuzz" (HYPOTHESIS_PROFILE=fuzz,
`make fuzz`); see tests/fuzz/__init__.py. Every failing example found is kept as an explicit test in
tests/test_fuzz_regressions.py.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import given

from dmarc_cli.main import cli
from dmarc_model.errors import REFUSAL_TYPES, InputRefused
from dmarc_model.parse.bounds import MAX_WARNINGS
from dmarc_model.parse.validate import MAX_KEPT_ASIDE
from dmarc_model.prepare import PreparedReport, prepare_report
from dmarc_model.tlsrpt import prepare_tls_report
from dmarc_model.unpack import TlsPayload, unpack
from dmarc_store.backends.aws import AwsStore
from dmarc_store.backends.local import LocalStore
from dmarc_store.ingest.service import IngestResult, IngestService
from dmarc_store.query import DuckDBQueryRunner
from tests import aws_support
from tests.fuzz import AWS_SHARE, LOCAL_SHARE, fuzz_settings
from tests.fuzz.strategies import Expected, GeneratedInput, inputs

STABLE_REASONS = frozenset(refusal.reason for refusal in REFUSAL_TYPES)
INGESTED_AT = datetime(2026, 1, 1, tzinfo=UTC)
SOURCE_KEY = "incoming/fuzz-input"


def prepared_and_refused(data: bytes) -> Iterator[PreparedReport | InputRefused]:
    """Every piece of `data`: a prepared report (to close) or the refusal of a piece."""
    for found in unpack(data, name="fuzz-input"):
        if isinstance(found, InputRefused):
            yield found
            continue
        try:
            if isinstance(found, TlsPayload):  # an SMTP TLS report: parsed, bounded, not a DMARC report
                prepare_tls_report(found.data, source_key=SOURCE_KEY, ingested_at=INGESTED_AT)
                continue
            yield prepare_report(found, SOURCE_KEY, INGESTED_AT)
        except InputRefused as refused:
            yield refused


def assert_bounded(prepared: PreparedReport) -> None:
    """Structural memory bounds: warnings and records kept aside never grow past their caps."""
    assert len(prepared.report["warnings"]) <= MAX_WARNINGS + 1
    assert len(prepared.rejected) <= MAX_KEPT_ASIDE
    assert len(prepared.rejected) <= prepared.report["rejected_record_count"]


def prepared_totals(pieces: list[PreparedReport | InputRefused]) -> Expected:
    prepared = [piece for piece in pieces if isinstance(piece, PreparedReport)]
    return Expected(
        reports=len(prepared),
        record_count=sum(piece.report["record_count"] for piece in prepared),
        message_total=sum(piece.report["message_total"] for piece in prepared),
        rejected=sum(piece.report["rejected_record_count"] for piece in prepared),
    )


@fuzz_settings()
@given(generated=inputs(intact=False))
def test_unpack_and_prepare_raise_nothing_but_refusals_with_a_stable_reason(
    generated: GeneratedInput,
) -> None:
    pieces = list(prepared_and_refused(generated.data))
    try:
        assert pieces, "every input gives a report or a refusal"
        for piece in pieces:
            if isinstance(piece, InputRefused):
                assert type(piece) in REFUSAL_TYPES
                assert piece.reason in STABLE_REASONS
            else:
                assert_bounded(piece)
        if generated.predictable:
            assert prepared_totals(pieces) == generated.expected()
    finally:
        for piece in pieces:
            if isinstance(piece, PreparedReport):
                piece.close()


def local_totals(root: Path) -> Expected:
    """What the local store's Parquet holds, read through the DuckDB tables and views."""
    runner = DuckDBQueryRunner(root)
    try:
        [reports] = runner.run_sql(
            f"SELECT count(*) AS n, {_wide_sum('record_count')} AS records, "
            f"{_wide_sum('message_total')} AS messages, {_wide_sum('rejected_record_count')} AS rejected "
            "FROM report_details"
        ).to_pylist()
        [records] = runner.run_sql(
            f"SELECT count(*) AS n, {_wide_sum('message_count')} AS messages FROM record_details"
        ).to_pylist()
    finally:
        runner.close()
    assert (records["n"], records["messages"]) == (reports["records"], reports["messages"])
    return Expected(*(int(reports[name]) for name in ("n", "records", "messages", "rejected")))


def _wide_sum(column: str) -> str:
    """A plain bigint sum, as the views make: counts are capped at 2**32 - 1, so it cannot overflow."""
    return f"coalesce(sum({column}), 0)"


def result_totals(result: IngestResult, rejected: int) -> Expected:
    return Expected(
        reports=result.new,
        record_count=sum(report.record_count for report in result.reports),
        message_total=sum(report.message_total for report in result.reports),
        rejected=rejected,
    )


@fuzz_settings(LOCAL_SHARE)
@given(generated=inputs(intact=True))
def test_local_store_holds_what_the_generator_meant_and_a_second_ingest_adds_nothing(
    generated: GeneratedInput,
) -> None:
    expected = generated.expected()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "store"
        service = IngestService(LocalStore(root))
        first = service.ingest(SOURCE_KEY, generated.data)
        assert all(quarantined.reason == "record-error" for quarantined in first.quarantined)
        assert not first.failed
        assert result_totals(first, expected.rejected) == expected
        again = service.ingest(SOURCE_KEY, generated.data)
        assert (again.new, again.duplicate) == (0, expected.reports)
        assert local_totals(root) == expected  # what both ingests left: the first one's reports, once


def parquet_total(prefix: str, column: str) -> int:
    total = 0
    for key in aws_support.list_keys(prefix):
        total += sum(pq.read_table(io.BytesIO(aws_support.get_object(key))).column(column).to_pylist())
    return total


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": aws_support.REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@fuzz_settings(AWS_SHARE)
@given(generated=inputs(intact=True, max_reports=2))
def test_aws_store_dynamodb_records_and_parquet_hold_the_same_totals(
    aws_env: None, generated: GeneratedInput
) -> None:
    from moto import mock_aws

    expected = generated.expected()
    with mock_aws():
        aws_support.create_resources()
        store = AwsStore(
            s3=boto3.client("s3", region_name=aws_support.REGION),
            dynamodb=boto3.client("dynamodb", region_name=aws_support.REGION),
            bucket=aws_support.BUCKET,
            table=aws_support.TABLE,
        )
        result = IngestService(store).ingest(SOURCE_KEY, generated.data)
        assert result.new == expected.reports
        assert len(aws_support.record_items()) == expected.record_count
        assert aws_support.message_total_in_dynamodb() == expected.message_total
        assert parquet_total("parquet/records/", "message_count") == expected.message_total
        assert parquet_total("parquet/reports/", "rejected_record_count") == expected.rejected


def parse_json_lines(data: bytes) -> tuple[int, list[dict[str, Any]], str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "input.bin"
        path.write_bytes(data)
        run = CliRunner().invoke(cli, ["parse", "--json", str(path)])
    assert run.exception is None or isinstance(run.exception, SystemExit), run.exception
    return run.exit_code, [json.loads(line) for line in run.stdout.splitlines()], run.output


@fuzz_settings()
@given(generated=inputs(intact=False))
def test_dmarc_parse_json_prints_one_json_line_per_report_or_refusal_and_exits_0_or_1(
    generated: GeneratedInput,
) -> None:
    exit_code, lines, output = parse_json_lines(generated.data)
    assert exit_code in (0, 1)
    assert "Traceback" not in output
    assert lines
    refused = [line for line in lines if "error" in line]
    assert exit_code == (1 if refused else 0)
    for line in refused:
        assert line["error"]["reason"] in STABLE_REASONS, line
    for line in lines:
        if "error" not in line:
            assert len(line["warnings"]) <= MAX_WARNINGS + 1
    if generated.predictable:
        expected = generated.expected()
        assert not refused
        assert len(lines) == expected.reports
        assert sum(line["record_count"] for line in lines) == expected.record_count
        assert sum(line["message_total"] for line in lines) == expected.message_total
