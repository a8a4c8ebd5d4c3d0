"""Failing examples the fuzzer (tests/test_fuzz.py) found, kept as explicit tests with their minimal bytes.

A bug in product code is kept as a strict xfail naming the file, the function and the diagnosis: it turns
into a failure (XPASS) the day the bug is fixed, so the mark is removed with the fix.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from dmarc_cli.main import cli
from dmarc_model.errors import REFUSAL_TYPES, InputRefused
from dmarc_model.models import INT64_MAX, MAX_MESSAGE_COUNT
from dmarc_model.prepare import prepare_report
from dmarc_model.tlsrpt import prepare_tls_report
from dmarc_model.unpack import TlsPayload, unpack
from dmarc_store.backends.local import LocalStore
from dmarc_store.ingest.service import IngestService
from dmarc_store.query import DuckDBQueryRunner
from tests.fuzz.strategies import GeneratedRecord, GeneratedReport

STABLE_REASONS = frozenset(refusal.reason for refusal in REFUSAL_TYPES)

RECORD_THEN_BYTES_NO_FALLBACK_READS = b"<?m?><feedback><record></record>\xbc\x8d"
"""Not UTF-8 after the first top-level element (0xbc), and 0x8d, which windows-1252 (the fallback) leaves
undefined: found by test_dmarc_parse_json_prints_one_json_line_per_report_or_refusal_and_exits_0_or_1 (a
byte flipped in a broken report), shrunk by hand from hypothesis' example."""

REPLAY_BUG = (  # found by the fuzzer, fixed in this way: the skipping is now inside the except
    "dmarc_model/parse/reader.py, _Reader._restart_after: after an XMLSyntaxError the document is read "
    "again in the fallback encoding, and the elements the strict pass already handed out are skipped with "
    "`next(self._elements, None)` outside the `except etree.XMLSyntaxError` of `_next_elements`; when the "
    "re-read fails too before it gets past them, the XMLSyntaxError escapes as a crash (internal-error) "
    "instead of falling back again or recovering (malformed-xml)"
)


def _pieces(data: bytes) -> list[str]:
    reasons = []
    for found in unpack(data, name="regression"):
        if isinstance(found, InputRefused):
            reasons.append(found.reason)
            continue
        try:
            if isinstance(found, TlsPayload):
                prepare_tls_report(
                    found.data, source_key="incoming/regression", ingested_at=datetime(2026, 1, 1, tzinfo=UTC)
                )
                reasons.append("tls-report")
                continue
            with prepare_report(found, "incoming/regression", datetime(2026, 1, 1, tzinfo=UTC)):
                reasons.append("report")
        except InputRefused as refused:
            reasons.append(refused.reason)
    return reasons


def test_bytes_undecodable_in_every_encoding_after_a_record_are_refused_not_a_crash() -> None:
    reasons = _pieces(RECORD_THEN_BYTES_NO_FALLBACK_READS)
    assert reasons
    assert all(reason in STABLE_REASONS for reason in reasons)


def test_dmarc_parse_json_refuses_bytes_undecodable_after_a_record_with_a_stable_reason(
    tmp_path: Path,
) -> None:
    path = tmp_path / "input.xml"
    path.write_bytes(RECORD_THEN_BYTES_NO_FALLBACK_READS)
    run = CliRunner().invoke(cli, ["parse", "--json", str(path)])
    assert run.exit_code == 1
    [line] = [json.loads(text) for text in run.stdout.splitlines()]
    assert line["error"]["reason"] in STABLE_REASONS, line


TWO_REPORTS_OF_INT64_MAX = tuple(
    GeneratedReport(
        report_id=f"max-{index}",
        begin="0",
        end="0",
        domain="a.example",
        records=(
            GeneratedRecord(source_ip="0.0.0.0", count=str(INT64_MAX), disposition="none"),
            GeneratedRecord(source_ip="0.0.0.1", count=str(MAX_MESSAGE_COUNT), disposition="none"),
        ),
    )
    for index in range(2)
)
"""Found by test_local_store_holds_what_the_generator_meant_and_a_second_ingest_adds_nothing: each report's
total fitted int64 but their sum did not, and `sum(message_total)` over report_details failed (in DuckDB,
and alike in Athena, whose bigint sum overflows). A count is now capped at 2**32 - 1: the int64 one is kept
aside with its reason, and the views' plain sums hold."""


def test_counts_past_the_cap_are_kept_aside_and_the_views_sum_what_is_stored(tmp_path: Path) -> None:
    documents = [report.render() for report in TWO_REPORTS_OF_INT64_MAX]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for index, document in enumerate(documents):
            archive.writestr(f"report-{index}.xml", document)
    root = tmp_path / "store"
    result = IngestService(LocalStore(root)).ingest("incoming/max.zip", buffer.getvalue())
    assert [report.message_total for report in result.reports] == [MAX_MESSAGE_COUNT] * 2
    assert [report.record_count for report in result.reports] == [1, 1]
    runner = DuckDBQueryRunner(root)
    try:
        sql = "SELECT sum(message_total) AS messages, sum(rejected_record_count) AS rejected"
        sql += " FROM report_details"
        [row] = runner.run_sql(sql).to_pylist()
        assert (row["messages"], row["rejected"]) == (2 * MAX_MESSAGE_COUNT, 2)
        [row] = runner.run_sql("SELECT sum(messages) AS messages FROM daily_domain_summary").to_pylist()
        assert row["messages"] == 2 * MAX_MESSAGE_COUNT
    finally:
        runner.close()


EMPTY_MEMBER_THEN_DAMAGED_MEMBER = (
    gzip.compress(b"", mtime=0) + b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\x07"
)
"""A gzip member, then a second whose first deflate block has the reserved type (0x07): found by
test_unpack_and_prepare_raise_nothing_but_refusals_with_a_stable_reason (HYPOTHESIS_PROFILE=fuzz, a byte
flipped in a multi-member gzip), shrunk by hand from hypothesis' example."""

SECOND_MEMBER_BUG = (  # found by the fuzzer, fixed: that decompress() is now inside an except
    "dmarc_model/unpack/archives.py, _Inflater._next_member: the first decompress() of every gzip member "
    "after the first is not inside the `except zlib.error` that `_fill` has, so a damaged later member "
    "escapes as zlib.error (an internal-error in the ingest service and in `dmarc parse`) instead of "
    "CorruptArchive (corrupt-archive)"
)


def test_a_damaged_second_gzip_member_is_refused_as_corrupt_archive() -> None:
    assert _pieces(EMPTY_MEMBER_THEN_DAMAGED_MEMBER) == ["corrupt-archive"]
