"""Real reports from the field (tests/field_quirks.py): each quirk is accepted with exact totals or refused
with its stable reason, through unpack + prepare_report and, for a sample, through the ingest service.

A quirk the code gets wrong today is a strict xfail whose reason says where and what: it turns red the
day it is fixed, so the expectation is moved out of the xfail list then.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dmarc_model.errors import REFUSAL_TYPES, InputRefused
from dmarc_model.prepare import prepare_report
from dmarc_model.tlsrpt import prepare_tls_report
from dmarc_model.unpack import TlsPayload, sniff, unpack
from dmarc_store.backends.local import LocalStore
from dmarc_store.ingest.service import IngestService
from tests.field_quirks import QUIRKS, VALUES_KEPT, Kept, Outcome, Quirk

INGESTED_AT = datetime(2025, 1, 5, tzinfo=UTC)
REASONS = {refusal.reason for refusal in REFUSAL_TYPES}
SERVICE_SAMPLE = (
    "utf8-bom",
    "dmarc-2.0-default-namespace",
    "null-report-empty-record",
    "empty-report-id",
    "octet-stream-gzip",
    "forwarded-rfc822-with-zip",
    "two-attachments",
    "yahoo-unused-body",
    "smtp-tls-report",
)


def _param(quirk: Quirk) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=quirk.xfail)] if quirk.xfail else []
    return pytest.param(quirk, id=quirk.id, marks=marks)


def _by_id(*ids: str) -> list[object]:
    quirks = {quirk.id: quirk for quirk in QUIRKS}
    return [_param(quirks[quirk_id]) for quirk_id in ids]


def observe(data: bytes) -> Outcome:
    """Every piece of `data` through unpack and prepare_report, tallied as an Outcome."""
    reports = records = messages = 0
    refusals: list[str] = []
    for found in unpack(data, name="field-quirk"):
        if isinstance(found, InputRefused):
            refusals.append(found.reason)
            continue
        try:
            if isinstance(found, TlsPayload):  # an SMTP TLS report: its policies and sessions
                summary = prepare_tls_report(found.data, source_key="field-quirk", ingested_at=INGESTED_AT)
                reports += 1
                records += summary.report["record_count"]
                messages += summary.report["message_total"]
                continue
            with prepare_report(found, "field-quirk", INGESTED_AT) as prepared:
                reports += 1
                records += prepared.report["record_count"]
                messages += prepared.report["message_total"]
        except InputRefused as refused:
            refusals.append(refused.reason)
    return Outcome(reports, records, messages, tuple(sorted(refusals)))


def observe_service(data: bytes, root: Path) -> Outcome:
    service = IngestService(LocalStore(root), clock=lambda: INGESTED_AT)
    result = service.ingest("uploads/field-quirk", data)
    assert not result.failed, [failure.error for failure in result.failed]
    return Outcome(
        reports=len(result.reports),
        records=sum(stored.record_count for stored in result.reports),
        messages=sum(stored.message_total for stored in result.reports),
        refusals=tuple(sorted(piece.reason for piece in result.quarantined)),
    )


@pytest.mark.parametrize("quirk", [_param(quirk) for quirk in QUIRKS])
def test_field_quirk_gives_its_expected_outcome(quirk: Quirk) -> None:
    assert observe(quirk.build()) == quirk.expected


def _kept_param(quirk_id: str) -> object:
    kept = VALUES_KEPT[quirk_id]
    marks = [pytest.mark.xfail(strict=True, reason=kept.xfail)] if kept.xfail else []
    return pytest.param(quirk_id, kept, id=quirk_id, marks=marks)


def first_rows(data: bytes) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The `reports` row and the first `records` row of the first report in `data`."""
    payload = next(found for found in unpack(data) if not isinstance(found, InputRefused | TlsPayload))
    with prepare_report(payload, "field-quirk", INGESTED_AT) as prepared:
        records = prepared.records.to_pylist()
        return prepared.report, (records[0] if records else None)


@pytest.mark.parametrize(("quirk_id", "kept"), [_kept_param(quirk_id) for quirk_id in VALUES_KEPT])
def test_accepted_field_quirk_keeps_its_values_as_written(quirk_id: str, kept: Kept) -> None:
    quirk = next(quirk for quirk in QUIRKS if quirk.id == quirk_id)
    report_row, record_row = first_rows(quirk.build())
    assert {name: report_row[name] for name, _ in kept.report} == dict(kept.report)
    if kept.first_record:
        assert record_row is not None
        assert {name: record_row[name] for name, _ in kept.first_record} == dict(kept.first_record)


@pytest.mark.parametrize("quirk", _by_id(*SERVICE_SAMPLE))
def test_field_quirk_through_the_ingest_service_stores_or_quarantines_as_expected(
    quirk: Quirk, tmp_path: Path
) -> None:
    assert observe_service(quirk.build(), tmp_path / "store") == quirk.expected


def test_quirk_ids_are_unique_and_every_quirk_is_described() -> None:
    counts = Counter(quirk.id for quirk in QUIRKS)
    assert [quirk_id for quirk_id, count in counts.items() if count > 1] == []
    assert all(quirk.description for quirk in QUIRKS)
    assert len(QUIRKS) >= 40


def test_values_are_checked_only_for_quirks_that_are_accepted() -> None:
    accepted = {quirk.id for quirk in QUIRKS if quirk.expected.reports}
    assert set(VALUES_KEPT) <= accepted


def test_every_expected_refusal_is_a_stable_reason() -> None:
    named = {reason for quirk in QUIRKS for reason in quirk.expected.refusals}
    assert named <= REASONS


def test_every_reference_is_a_tracker_url_or_marked_as_none() -> None:
    assert all(quirk.reference == "" or quirk.reference.startswith("https://github.com/") for quirk in QUIRKS)


def test_builders_are_deterministic() -> None:
    assert all(quirk.build() == quirk.build() for quirk in QUIRKS)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\xef\xbb\xbfFrom: reporter@example.net\r\n", "email"),
        (b"\xef\xbb\xbfReturn-Path: <reporter@example.net>\r\n", "email"),
        (b'\xef\xbb\xbf<d:feedback xmlns:d="urn:ietf:params:xml:ns:dmarc-2.0">', "xml"),
        (b'\xef\xbb\xbf<?xml version="1.0"?><feedback>', "xml"),
    ],
)
def test_a_utf8_bom_before_mail_headers_sniffs_as_email_and_before_markup_as_xml(
    head: bytes, kind: str
) -> None:
    assert sniff(head) == kind
