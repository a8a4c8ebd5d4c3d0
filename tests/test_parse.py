"""The parser on generated reports (every container, sizes to 100k records), namespaces, encodings,
enumerations, and hypothesis properties (round trip, totals, identity key stability)."""

from __future__ import annotations

import gzip
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dmarc_model import AggregateReport, Record, ReportTotals, parse_report, report_key, unpack
from dmarc_model.digest import ReportDigest, digest_input
from dmarc_model.models import (
    AuthResults,
    DateRange,
    DkimResult,
    Identifiers,
    PolicyEvaluated,
    PolicyOverrideReason,
    PolicyPublished,
    ReportHeader,
    ReportMetadata,
    Row,
    SpfResult,
)
from dmarc_model.unpack import Payload
from tests import hostile
from tests.helpers import make_report
from tests.xml_render import render_report

CONTAINERS = {
    "xml": (),
    "gzip": ("--gzip",),
    "zip": ("--zip",),
    "eml-gzip": ("--eml",),
    "eml-zip": ("--eml", "--zip"),
    "bom": ("--bom",),
}


def _only_digest(source: bytes | Path) -> ReportDigest:
    (found,) = list(digest_input(source))
    assert isinstance(found, ReportDigest), str(found)
    return found


def _assert_totals(digest: ReportDigest, summary: dict[str, object]) -> None:
    assert digest.report_id == summary["report_id"]
    assert digest.policy_domain == summary["domain"]
    assert int(digest.begin.timestamp()) == summary["begin"]
    assert digest.totals.record_count == summary["record_count"]
    assert digest.totals.message_total == summary["message_total"]
    assert digest.totals.dkim_aligned_pass == summary["dkim_aligned_pass_total"]
    assert digest.totals.spf_aligned_pass == summary["spf_aligned_pass_total"]
    assert digest.totals.dmarc_pass == summary["dmarc_pass_total"]
    assert digest.totals.disposition_totals == summary["disposition_totals"]


@pytest.mark.parametrize("container", sorted(CONTAINERS))
def test_generated_report_in_every_container_matches_its_summary(tmp_path: Path, container: str) -> None:
    out = tmp_path / f"report.{container}"
    summary = make_report(out, 300, 11, *CONTAINERS[container])
    _assert_totals(_only_digest(out), summary)


@pytest.mark.parametrize("records", [1, 1_000, 10_000])
def test_generated_report_sizes_match_their_summary(tmp_path: Path, records: int) -> None:
    out = tmp_path / "report.xml.gz"
    summary = make_report(out, records, records, "--gzip")
    _assert_totals(_only_digest(out), summary)


@pytest.mark.slow
def test_hundred_thousand_record_report_matches_its_summary(tmp_path: Path) -> None:
    out = tmp_path / "big.xml.gz"
    summary = make_report(out, 100_000, 7, "--gzip")
    _assert_totals(_only_digest(out), summary)


def test_report_key_is_the_same_in_every_container(tmp_path: Path) -> None:
    keys = set()
    for container, options in CONTAINERS.items():
        out = tmp_path / f"r.{container}"
        make_report(out, 20, 5, *options)
        keys.add(_only_digest(out).report_key)
    assert len(keys) == 1


# --- namespaces and encodings -----------------------------------------------------------------------

NAMESPACES = [
    (None, ""),
    ("urn:ietf:params:xml:ns:dmarc-2.0", ""),
    ("urn:ietf:params:xml:ns:dmarc-2.0", "ns0"),
    ("http://dmarc.org/dmarc-xml/0.1", ""),
    ("http://example.com/anything", "x"),
]


@pytest.mark.parametrize(("namespace", "prefix"), NAMESPACES)
def test_any_namespace_and_prefix_reads_the_same(namespace: str | None, prefix: str) -> None:
    report = _sample_report()
    xml = render_report(report, namespace, prefix).encode()
    parsed = parse_report(Payload("x", lambda: __import__("io").BytesIO(xml)))
    assert parsed.records == report.records
    assert parsed.header.report_metadata == report.header.report_metadata
    assert parsed.header.xml_schema == (
        "dmarc-2.0" if namespace == "urn:ietf:params:xml:ns:dmarc-2.0" else "rfc7489"
    )


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "windows-1252", "iso-8859-1"])
def test_declared_encoding_and_bom_are_honoured(encoding: str) -> None:
    declared = "UTF-16" if encoding == "utf-16" else encoding.replace("-sig", "").upper()
    xml = hostile.xml_with_entities("Société Générale", "").decode()
    xml = xml.replace('<?xml version="1.0"?>', f'<?xml version="1.0" encoding="{declared}"?>')
    digest = _only_digest(xml.encode(encoding))
    assert digest.org_name == "Société Générale"


def test_enumerations_accept_any_case_and_keep_unknown_values_visible() -> None:
    xml = hostile.xml_with_entities("x", "").replace(b"<dkim>pass</dkim>", b"<dkim>PASS</dkim>")
    xml = xml.replace(b"<result>pass</result>", b"<result>HardFail</result>")
    report = parse_report(next(p for p in unpack(xml) if isinstance(p, Payload)))
    assert report.records[0].row.policy_evaluated.dkim == "pass"
    assert report.records[0].auth_results.spf[0].result == "hardfail"
    assert "unknown spf_result value 'hardfail' kept as written" in report.warnings


def test_a_bad_record_is_kept_aside_and_the_rest_stand() -> None:
    xml = hostile.xml_with_entities("x", "")
    two = xml.replace(
        b"</record>",
        b"</record>"
        + xml.split(b"<record>")[1]
        .split(b"</record>")[0]
        .join([b"<record>", b"</record>"])
        .replace(b"192.0.2.1", b"999.1.1.1"),
        1,
    )
    report = parse_report(next(p for p in unpack(two) if isinstance(p, Payload)))
    assert len(report.records) == 1
    (rejected,) = report.rejected
    assert rejected.index == 1
    assert "source_ip" in rejected.reason
    assert "999.1.1.1" in rejected.xml


def test_ipv6_source_is_canonicalised() -> None:
    xml = hostile.xml_with_entities("x", "").replace(b"192.0.2.1", b"2001:0DB8:0000:0000:0000:0000:0000:0001")
    report = parse_report(next(p for p in unpack(xml) if isinstance(p, Payload)))
    assert report.records[0].row.source_ip == "2001:db8::1"


def test_records_before_the_header_are_still_read() -> None:
    xml = hostile.xml_with_entities("x", "").decode()
    record = "<record>" + xml.split("<record>")[1].split("</record>")[0] + "</record>"
    moved = xml.replace(record, "").replace("<feedback>", "<feedback>" + record)
    report = parse_report(next(p for p in unpack(moved.encode()) if isinstance(p, Payload)))
    assert len(report.records) == 1


# --- properties -------------------------------------------------------------------------------------

_words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._", min_size=1, max_size=20)
_ipv4 = st.ip_addresses(v=4).map(str)
_ipv6 = st.ip_addresses(v=6).filter(lambda ip: getattr(ip, "ipv4_mapped", None) is None).map(str)
_results = st.sampled_from(
    ["pass", "fail", "none", "softfail", "neutral", "temperror", "permerror", "hardfail"]
)


@st.composite
def records(draw: st.DrawFn) -> Record:
    return Record(
        row=Row(
            source_ip=draw(st.one_of(_ipv4, _ipv6)),
            count=draw(st.integers(min_value=0, max_value=10**9)),
            policy_evaluated=PolicyEvaluated(
                disposition=draw(st.sampled_from(["none", "quarantine", "reject"])),
                dkim=draw(st.sampled_from(["pass", "fail"])),
                spf=draw(st.sampled_from(["pass", "fail"])),
                reason=tuple(
                    PolicyOverrideReason(type=t, comment=c)
                    for t, c in draw(
                        st.lists(
                            st.tuples(st.sampled_from(["forwarded", "local_policy"]), st.none() | _words),
                            max_size=2,
                        )
                    )
                ),
            ),
        ),
        identifiers=Identifiers(header_from=draw(_words), envelope_from=draw(st.none() | _words)),
        auth_results=AuthResults(
            dkim=tuple(
                DkimResult(domain=d, selector=s, result=r)
                for d, s, r in draw(st.lists(st.tuples(_words, st.none() | _words, _results), max_size=3))
            ),
            spf=tuple(
                SpfResult(domain=d, scope="mfrom", result=r)
                for d, r in draw(st.lists(st.tuples(_words, _results), min_size=1, max_size=2))
            ),
        ),
    )


@st.composite
def reports(draw: st.DrawFn) -> AggregateReport:
    begin = draw(st.integers(min_value=0, max_value=4_000_000_000))
    header = ReportHeader(
        xml_schema="rfc7489",
        report_metadata=ReportMetadata(
            org_name=draw(_words),
            email="a@b.example",
            report_id=draw(_words),
            date_range=DateRange(
                begin=datetime.fromtimestamp(begin, UTC), end=datetime.fromtimestamp(begin + 86399, UTC)
            ),
        ),
        policy_published=PolicyPublished(domain=draw(_words), adkim="r", aspf="r", p="none", pct=100),
    )
    return AggregateReport(header=header, records=tuple(draw(st.lists(records(), max_size=8))))


def _payload(xml: bytes) -> Payload:
    return next(p for p in unpack(xml) if isinstance(p, Payload))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reports())
def test_render_then_parse_round_trips(report: AggregateReport) -> None:
    parsed = parse_report(_payload(render_report(report).encode()))
    assert parsed.records == report.records
    assert parsed.header.report_metadata == report.header.report_metadata
    assert parsed.header.policy_published == report.header.policy_published


@settings(max_examples=60, deadline=None)
@given(reports())
def test_totals_are_sums_over_record_counts(report: AggregateReport) -> None:
    totals = ReportTotals()
    for record in report.records:
        totals.add(record)
    counts = [r.row.count for r in report.records]
    assert totals.message_total == sum(counts)
    assert sum(totals.disposition_totals.values()) == sum(counts)
    assert max(totals.dkim_aligned_pass, totals.spf_aligned_pass) <= totals.dmarc_pass <= totals.message_total
    assert totals.dmarc_pass <= totals.dkim_aligned_pass + totals.spf_aligned_pass


@settings(max_examples=60, deadline=None)
@given(reports(), st.sampled_from(["xml", "gzip", "zip", "mail"]))
def test_report_key_is_stable_across_containers_and_case(report: AggregateReport, container: str) -> None:
    xml = render_report(report).encode()
    wrapped = {
        "xml": xml,
        "gzip": gzip.compress(xml),
        "zip": hostile.zip_of({"r.xml": xml}),
        "mail": hostile.mail_with_attachment(gzip.compress(xml), "r.xml.gz", "application/gzip"),
    }[container]
    assert _only_digest(wrapped).report_key == report_key(report.header)
    shouted = report.header.model_copy(
        update={
            "report_metadata": report.header.report_metadata.model_copy(
                update={"org_name": f"  {(report.header.report_metadata.org_name or '').upper()} "}
            )
        }
    )
    assert report_key(shouted) == report_key(report.header)


def _sample_report() -> AggregateReport:
    return parse_report(_payload(hostile.xml_with_entities("Sample Org", "")))


def test_report_extensions_after_policy_published_are_read_into_the_header() -> None:
    """RFC 9990 puts the report's <extensions> between <policy_published> and the records."""
    xml = hostile.xml_with_entities("x", "").replace(
        b"</policy_published>", b'</policy_published><extensions><x:a xmlns:x="urn:x">1</x:a></extensions>'
    )
    report = parse_report(_payload(xml))
    assert report.header.extensions is not None
    assert 'xmlns:x="urn:x"' in report.header.extensions
    assert len(report.records) == 1


def test_report_extensions_after_the_records_are_named_in_a_warning() -> None:
    xml = hostile.xml_with_entities("x", "").replace(
        b"</feedback>", b"<extensions><a>1</a></extensions></feedback>"
    )
    report = parse_report(_payload(xml))
    assert len(report.records) == 1
    assert "<extensions> after the records is not read" in report.warnings


def test_dmarc_parse_imports_no_pyarrow_until_a_tls_report_is_found() -> None:
    """pyarrow (from `dmarc_model.tlsrpt`'s rows) costs `dmarc parse` memory and start-up time."""
    code = (
        "import sys, dmarc_cli.parse_cmd\n"
        "print(sorted(m for m in ('pyarrow', 'numpy', 'duckdb', 'boto3') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
