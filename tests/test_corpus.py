"""Every file of the shared corpus against expected.json (parsedmarc plus an independent lxml cross-check).

Where a file's verdict is accept*, our totals must equal the cross-check for every XML payload in it
(parsedmarc returns at most one report per file; the cross-check reads them all). Where it is
quarantine or not-aggregate, we must refuse it, with the reason pinned below, unless it is an SMTP TLS
report (RFC 8460), which parsedmarc's verdict calls not-aggregate and we read as one (`TLS_REPORTS`).
Where we knowingly differ from the reference, a test at the bottom says which side is right and why.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from dmarc_model.digest import ReportDigest, TlsDigest, digest_input
from dmarc_model.errors import InputRefused
from tests.helpers import ACCEPT_VERDICTS, CORPUS, TLS_REPORT_FILES, corpus_files, expected_files

REFUSAL_REASONS: dict[str, set[str]] = {
    "aal__report-invalid.xml": {"not-a-report"},  # root element <invalid>
    "dsd__corrupt.xml.gz": {"not-a-report"},  # plain text named .gz: the bytes say text, not gzip
    "dsd__notxml.xml": {"not-a-report"},
    "jjs__mail-with-bad-gzip.txt": {"corrupt-archive"},  # inflate fails: invalid distance too far back
    "jjs__mail-with-non-dmarc-zip.txt": {"not-a-report"},  # zip member is a text file
    "jjs__mail-without-attachments.txt": {"not-a-report"},
    "pdm__dmarc_ruf_report_linkedin.eml": {"not-aggregate"},  # DMARC failure report
    "pdm__empty.xml": {"empty"},
    "pkg__test.gz": {"not-a-report"},
    "pkg__test.gz.eml": {"not-a-report"},
    "pkg__test.none.eml": {"not-a-report"},
    "pkg__test.zip": {"not-a-report"},
    "pkg__test.zip.eml": {"not-a-report"},
}


TLS_REPORTS: dict[str, dict[str, Any]] = {
    # read from the mail by hand: one no-policy-found policy, 48 successful sessions, no failure
    "pdm__google.com_smtp_tls_report.eml": {
        "org_name": "Google Inc.",
        "report_id": "2024-09-03T00:00:00Z_cardinalhealth.ca",
        "policy_domain": "cardinalhealth.ca",
        "begin": "2024-09-03T00:00:00Z",
        "end": "2024-09-03T23:59:59Z",
        "record_count": 1,
        "successful_session_count": 48,
        "failed_session_count": 0,
    },
}
"""Corpus files that are SMTP TLS reports, with what each says."""


def _read(path: Path) -> tuple[list[ReportDigest], list[InputRefused]]:
    digests: list[ReportDigest] = []
    refusals: list[InputRefused] = []
    for found in digest_input(path):
        if isinstance(found, TlsDigest):
            raise AssertionError(f"{path.name}: an SMTP TLS report where none is expected")
        (refusals if isinstance(found, InputRefused) else digests).append(found)
    return digests, refusals


def _ours(digest: ReportDigest) -> dict[str, Any]:
    return {
        "org_name": digest.org_name,
        "report_id": digest.report_id,
        "domain": digest.policy_domain,
        "begin": int(digest.begin.timestamp()),
        "end": int(digest.end.timestamp()),
        "records": digest.totals.record_count + digest.rejected_records,
        "message_total": digest.totals.message_total,
        "dkim": digest.totals.dkim_aligned_pass,
        "spf": digest.totals.spf_aligned_pass,
        "dmarc": digest.totals.dmarc_pass,
        "dispositions": {k: v for k, v in digest.totals.disposition_totals.items() if v},
    }


def _crosscheck(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "org_name": (entry["org_name_raw"] or "").strip() or None,
        "report_id": entry["report_id_raw"].strip(),
        "domain": entry["domain"].strip().lower(),
        # the cross-check reads no date where a reporter misspelt <date_range> (KDDI): pinned below
        "begin": int(entry["begin_raw"]) if entry["begin_raw"] else None,
        "end": int(entry["end_raw"]) if entry["end_raw"] else None,
        "records": entry["xml_record_count"],
        "message_total": entry["message_total"],
        "dkim": entry["dkim_aligned_pass_total"],
        "spf": entry["spf_aligned_pass_total"],
        "dmarc": entry["dmarc_pass_total"],
        "dispositions": {k: v for k, v in entry["disposition_totals"].items() if v},
    }


def _key(totals: dict[str, Any]) -> tuple[str, int]:
    return totals["report_id"], totals["begin"] or 0


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_corpus_file_matches_its_verdict(path: Path) -> None:
    expected = expected_files()[path.name]
    if path.name in TLS_REPORTS:
        (tls,) = digest_input(path)
        assert isinstance(tls, TlsDigest)
        line = tls.as_json(path.name)
        assert {name: line[name] for name in TLS_REPORTS[path.name]} == TLS_REPORTS[path.name]
        return
    digests, refusals = _read(path)
    if expected["verdict"] in ACCEPT_VERDICTS:
        assert not refusals, [str(r) for r in refusals]
        theirs = sorted((_crosscheck(e) for e in expected["crosscheck_lxml"]), key=_key)
        ours = sorted((_ours(d) for d in digests), key=_key)
        for mine, reference in zip(ours, theirs, strict=True):
            if reference["begin"] is None:
                mine["begin"] = mine["end"] = None
        assert ours == theirs
    else:
        assert digests == []
        assert refusals, "a refused file must say why"
        assert {r.reason for r in refusals} <= REFUSAL_REASONS[path.name]
        assert all(r.detail for r in refusals)


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_corpus_totals_equal_parsedmarc_where_it_succeeded(path: Path) -> None:
    """parsedmarc's totals are right for the one report it returns; ours include that one."""
    expected = expected_files()[path.name]
    if expected["verdict"] not in ACCEPT_VERDICTS or expected["parsedmarc_failed"]:
        return
    digests, _ = _read(path)
    by_id = {(d.report_id.strip("<>").split("@")[0], int(d.begin.timestamp())): d for d in digests}
    for report in expected["reports"]:
        digest = by_id[(report["report_id"], report["begin"])]
        assert digest.totals.message_total == report["message_total"]
        assert digest.totals.dmarc_pass == report["dmarc_pass_total"]
        assert digest.totals.dkim_aligned_pass == report["dkim_aligned_pass_total"]
        assert digest.totals.spf_aligned_pass == report["spf_aligned_pass_total"]


def test_every_corpus_file_is_covered() -> None:
    on_disk = {p.name for p in CORPUS.iterdir()} - {"SOURCES.md", "expected.json"}
    assert on_disk == set(expected_files())
    refused = {name for name, e in expected_files().items() if e["verdict"] not in ACCEPT_VERDICTS}
    assert set(TLS_REPORTS) == TLS_REPORT_FILES
    assert refused == set(REFUSAL_REASONS) | set(TLS_REPORTS)


# --- where we differ from the reference, and why we are right ------------------------------------------


def test_two_member_zip_yields_both_reports_where_parsedmarc_returns_one() -> None:
    digests, _ = _read(CORPUS / "cmp__two-members.zip")
    assert len(expected_files()["cmp__two-members.zip"]["reports"]) == 1
    assert Counter(d.org_name for d in digests) == Counter({"google.com": 1, "Yahoo": 1})


def test_two_attachment_mail_yields_both_reports() -> None:
    digests, _ = _read(CORPUS / "cmp__two-attachments.eml")
    assert len(digests) == 2
    assert len({d.report_key for d in digests}) == 2


def test_org_name_and_report_id_are_kept_raw_not_normalised() -> None:
    """parsedmarc lower-cases org names and cuts report ids at '@'; we keep what the reporter wrote."""
    (digest,), _ = _read(CORPUS / "mwv__cisco.com!example.com!1745884803!1745971203.xml")
    assert digest.report_id == "1bbdd6$aada01a=576ec7deeb58e253@cisco.com"
    (mailru,), _ = _read(CORPUS / "crv__mailru.xml")
    assert mailru.org_name == "Mail.Ru"


def test_empty_org_name_stays_empty_rather_than_guessed() -> None:
    """parsedmarc fills an empty org_name from the email domain; a guess is not the report's data."""
    (digest,), _ = _read(CORPUS / "pdm__!example.com!1538204542!1538463818.xml")
    assert digest.org_name is None
    assert expected_files()["pdm__!example.com!1538204542!1538463818.xml"]["reports"][0]["org_name"]


def test_record_with_empty_source_ip_is_kept_aside_and_the_report_stands() -> None:
    """parsedmarc rejects the whole report; the cross-check counts the record. It has no IP and count 0:
    it can be stored nowhere by source, so we keep the report and flag the record with its reason."""
    (digest,), refusals = _read(CORPUS / "tpc__test_empty.xml")
    assert refusals == []
    assert digest.totals.record_count == 0
    assert digest.rejected_records == 1
    assert any("kept aside" in w for w in digest.warnings)


def test_kddi_data_range_typo_is_read_with_a_warning() -> None:
    (digest,), _ = _read(CORPUS / "cmt__report_invalid_mindate.xml")
    assert digest.begin.year == 2024
    assert any("data_range" in w for w in digest.warnings)


def test_zero_record_report_is_accepted_empty_with_a_warning() -> None:
    (digest,), _ = _read(CORPUS / "pmo__zero_records.xml")
    assert digest.totals.record_count == 0
    assert "report has no <record> elements" in digest.warnings


def test_malformed_xml_is_recovered_with_a_warning() -> None:
    (digest,), _ = _read(CORPUS / "pdm__invalid_xml.xml")
    assert digest.totals.message_total == 1
    assert any(w.startswith("malformed XML recovered") for w in digest.warnings)


def test_windows_1252_declaration_is_honoured() -> None:
    (digest,), _ = _read(CORPUS / "bbp__dmarc.xml")
    assert digest.org_name == "AOL"
