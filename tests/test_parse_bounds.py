"""Bounds on the shape of a document (`dmarc_model.parse.bounds`), each at the bound and one past it, and
values that lie (two headers, a zoned or CIDR source_ip). Small bounds are patched in where the real one
would make a test slow; nothing here measures time or memory (benchmarks/bench_parse_shapes.py does)."""

from __future__ import annotations

import pytest

from dmarc_model import AggregateReport, parse_report, unpack
from dmarc_model.errors import SchemaViolation, TooLarge
from dmarc_model.models import MAX_DOMAIN_CHARS, MAX_TEXT_CHARS, canonical_ip
from dmarc_model.parse import bounds, reader, validate
from dmarc_model.unpack import Payload
from tests import hostile

BASE = hostile.xml_with_entities("Example Org", "")
RECORD = BASE[BASE.index(b"<record>") : BASE.index(b"</record>") + len(b"</record>")]
HEADER_START = BASE.index(b"<report_metadata>")
HEADER = BASE[HEADER_START : BASE.index(b"</policy_published>") + len(b"</policy_published>")]


def _with(old: bytes, new: bytes, xml: bytes = BASE) -> bytes:
    assert xml.count(old) == 1, old
    return xml.replace(old, new)


def _records(*records: bytes, header_last: bool = False) -> bytes:
    body = b"\n".join(records)
    if header_last:
        return BASE.replace(HEADER, b"").replace(RECORD, body + HEADER)
    return BASE.replace(RECORD, body)


def _parse(xml: bytes) -> AggregateReport:
    (payload,) = list(unpack(xml))
    assert isinstance(payload, Payload), str(payload)
    return parse_report(payload)


# --- bytes of one top-level element: attributes, children, text, for memory ---------------------------


@pytest.fixture
def byte_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """lxml reads one byte at a time, so the element bound holds to the byte."""
    monkeypatch.setattr(bounds, "_READ_SIZE", 1)


@pytest.mark.usefixtures("byte_at_a_time")
def test_a_top_level_element_of_the_bound_in_bytes_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bounds, "MAX_ELEMENT_BYTES", len(RECORD))
    assert len(_parse(BASE).records) == 1


@pytest.mark.usefixtures("byte_at_a_time")
def test_a_top_level_element_one_byte_past_the_bound_refuses_the_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bounds, "MAX_ELEMENT_BYTES", len(RECORD) - 1)
    with pytest.raises(TooLarge, match="bytes of XML in one top-level element"):
        _parse(BASE)


def test_attributes_past_the_element_bound_refuse_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bounds, "MAX_ELEMENT_BYTES", 64 * 1024)
    monkeypatch.setattr(bounds, "_READ_SIZE", 4096)
    attributes = b"".join(b' a%d="x"' % n for n in range(20_000))
    assert len(_parse(_with(b"<row>", b'<row a0="x" a1="y">')).records) == 1  # attributes are not read
    with pytest.raises(TooLarge):
        _parse(_with(b"<row>", b"<row" + attributes + b">"))


def test_text_between_elements_past_the_bound_refuses_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bounds, "MAX_ELEMENT_BYTES", 64 * 1024)
    monkeypatch.setattr(bounds, "_READ_SIZE", 4096)
    with pytest.raises(TooLarge):
        _parse(_with(b"<feedback>", b"<feedback>" + b" " * 200_000))


# --- records before the header ---------------------------------------------------------------------


def test_records_before_the_header_up_to_the_bound_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "MAX_RECORDS_BEFORE_HEADER", 3)
    report = _parse(_records(RECORD, RECORD, RECORD, header_last=True))
    assert len(report.records) == 3
    assert report.header.policy_domain == "example.com"


def test_one_record_past_the_bound_before_the_header_refuses_the_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reader, "MAX_RECORDS_BEFORE_HEADER", 3)
    with pytest.raises(TooLarge, match="more than 3 records"):
        _parse(_records(RECORD, RECORD, RECORD, RECORD, header_last=True))


@pytest.mark.usefixtures("byte_at_a_time")
def test_records_before_the_header_in_the_bound_of_bytes_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    xml = _records(RECORD, RECORD, header_last=True)
    monkeypatch.setattr(reader, "MAX_BYTES_BEFORE_HEADER", xml.index(b"</record><report_metadata>") + 9)
    assert len(_parse(xml).records) == 2


@pytest.mark.usefixtures("byte_at_a_time")
def test_records_before_the_header_one_byte_past_the_bound_refuse_the_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    xml = _records(RECORD, RECORD, header_last=True)
    monkeypatch.setattr(reader, "MAX_BYTES_BEFORE_HEADER", xml.index(b"</record><report_metadata>") + 8)
    with pytest.raises(TooLarge, match="bytes before <report_metadata>"):
        _parse(xml)


# --- child elements and auth results of one record ---------------------------------------------------

RECORD_CHILDREN = 3  # row, identifiers, auth_results


def test_a_record_with_the_bound_of_children_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validate, "MAX_RECORD_CHILDREN", RECORD_CHILDREN + 2)
    report = _parse(_with(b"</auth_results>", b"</auth_results><x/><y/>"))
    assert len(report.records) == 1


def test_a_record_with_one_child_past_the_bound_is_kept_aside(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validate, "MAX_RECORD_CHILDREN", RECORD_CHILDREN + 2)
    report = _parse(_records(RECORD, _with(b"</auth_results>", b"</auth_results><x/><y/><z/>", RECORD)))
    assert len(report.records) == 1
    (rejected,) = report.rejected
    assert rejected.index == 1
    assert rejected.reason == "record: 6 child elements, more than 5"


SPF = b"<spf><domain>example.com</domain><result>pass</result></spf>"
DKIM = b"<dkim><domain>example.com</domain><result>pass</result></dkim>"


def test_a_record_with_the_bound_of_auth_results_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validate, "MAX_AUTH_RESULTS", 3)
    (record,) = _parse(_with(SPF, DKIM + DKIM + SPF)).records
    assert len(record.auth_results.dkim) == 2
    assert len(record.auth_results.spf) == 1


def test_a_record_with_one_auth_result_past_the_bound_is_kept_aside(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validate, "MAX_AUTH_RESULTS", 3)
    report = _parse(_with(SPF, DKIM + DKIM + SPF + SPF))
    assert report.records == ()
    (rejected,) = report.rejected
    assert rejected.reason == "auth_results: 4 <dkim> and <spf> results, more than 3"


# --- text per field -----------------------------------------------------------------------------------


def _domain(length: int) -> bytes:
    label = b"a" * 63 + b"."
    name = label * (length // len(label)) + b"example.com"
    return b"b" * (length - len(name)) + name


def test_a_domain_of_253_characters_is_stored() -> None:
    domain = _domain(MAX_DOMAIN_CHARS)
    (record,) = _parse(
        _with(b"<header_from>example.com</header_from>", b"<header_from>%s</header_from>" % domain)
    ).records
    assert record.identifiers.header_from == domain.decode()


@pytest.mark.parametrize(
    ("old", "element"),
    [
        (b"<header_from>example.com</header_from>", "header_from"),
        (b"<spf><domain>example.com</domain>", "spf"),
    ],
)
def test_a_domain_one_character_past_253_keeps_its_record_aside(old: bytes, element: str) -> None:
    new = old.replace(b">example.com<", b">%s<" % _domain(MAX_DOMAIN_CHARS + 1))
    report = _parse(_records(RECORD, _with(old, new, RECORD)))
    assert len(report.records) == 1
    (rejected,) = report.rejected
    assert element in rejected.reason
    assert "253" in rejected.reason


def test_a_policy_domain_past_253_characters_is_a_schema_violation() -> None:
    domain = _domain(MAX_DOMAIN_CHARS + 1)
    xml = _with(b"<domain>example.com</domain><p>", b"<domain>%s</domain><p>" % domain)
    with pytest.raises(SchemaViolation, match=r"policy_published\.domain"):
        _parse(xml)


def test_an_org_name_of_the_text_bound_is_stored_and_one_past_it_is_a_schema_violation() -> None:
    old = b"<org_name>Example Org</org_name>"
    report = _parse(_with(old, b"<org_name>%s</org_name>" % (b"O" * MAX_TEXT_CHARS)))
    assert report.header.report_metadata.org_name == "O" * MAX_TEXT_CHARS
    with pytest.raises(SchemaViolation, match="org_name"):
        _parse(_with(old, b"<org_name>%s</org_name>" % (b"O" * (MAX_TEXT_CHARS + 1))))


# --- warnings per report ------------------------------------------------------------------------------


def _unknown_dispositions(count: int) -> bytes:
    return _records(
        *(
            _with(b"<disposition>none</disposition>", b"<disposition>odd%d</disposition>" % n, RECORD)
            for n in range(count)
        )
    )


def test_warnings_up_to_the_bound_are_all_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bounds, "MAX_WARNINGS", 3)
    report = _parse(_unknown_dispositions(3))
    assert len(report.warnings) == 3
    assert all("unknown disposition value" in warning for warning in report.warnings)


def test_past_the_bound_the_first_warnings_are_kept_and_the_others_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bounds, "MAX_WARNINGS", 3)
    report = _parse(_unknown_dispositions(5))
    assert report.warnings[:3] == tuple(
        f"unknown disposition value 'odd{n}' kept as written" for n in range(3)
    )
    assert report.warnings[3:] == ("2 more warning(s) not listed (the first 3 are)",)
    assert len(report.records) == 5


# --- values that lie ----------------------------------------------------------------------------------


@pytest.mark.parametrize("part", [b"report_metadata", b"policy_published"])
def test_two_of_a_header_part_before_the_records_is_a_schema_violation(part: bytes) -> None:
    start, end = BASE.index(b"<" + part + b">"), BASE.index(b"</" + part + b">") + len(part) + 3
    twice = BASE[start:end] + BASE[start:end].replace(b"example.com", b"example.net")
    with pytest.raises(SchemaViolation, match=f"two <{part.decode()}>"):
        _parse(BASE[:start] + twice + BASE[end:])


def test_a_policy_published_after_the_records_is_not_read_and_said_so() -> None:
    policy = HEADER[HEADER.index(b"<policy_published>") :]
    report = _parse(_with(b"</record>", b"</record>" + policy.replace(b"example.com", b"example.net")))
    assert report.header.policy_domain == "example.com"
    assert "<policy_published> after the records is not read" in report.warnings


@pytest.mark.parametrize("source_ip", ["fe80::1%eth0", "fe80::1%25", "192.0.2.1%1"])
def test_a_source_ip_with_a_zone_id_keeps_its_record_aside(source_ip: str) -> None:
    record = _with(b"192.0.2.1", source_ip.encode(), RECORD)
    report = _parse(_records(RECORD, record))
    assert [r.row.source_ip for r in report.records] == ["192.0.2.1"]
    (rejected,) = report.rejected
    assert "zone id" in rejected.reason
    assert "row.source_ip" in rejected.reason


@pytest.mark.parametrize("source_ip", ["192.0.2.0/24", "2001:db8::/32", "192.0.2.1/32"])
def test_a_cidr_where_an_address_belongs_keeps_its_record_aside(source_ip: str) -> None:
    report = _parse(_records(RECORD, _with(b"192.0.2.1", source_ip.encode(), RECORD)))
    assert len(report.records) == 1
    (rejected,) = report.rejected
    assert "network (CIDR), not an address" in rejected.reason


def test_canonical_ip_refuses_a_zone_id_rather_than_keeping_it() -> None:
    with pytest.raises(ValueError, match="zone id"):
        canonical_ip("fe80::1%eth0")
    assert canonical_ip("FE80::1") == "fe80::1"


# --- XML of the records kept aside --------------------------------------------------------------------


def _bad_records(count: int) -> bytes:
    return _records(
        *(_with(b"<count>1</count>", b"<count>-%d</count>" % (n + 1), RECORD) for n in range(count))
    )


def test_records_kept_aside_up_to_the_bound_of_their_xml_are_all_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = _parse(_bad_records(1)).rejected[0].xml
    monkeypatch.setattr(validate, "MAX_KEPT_ASIDE_CHARS", 3 * len(first))
    report = _parse(_bad_records(3))
    assert [r.index for r in report.rejected] == [0, 1, 2]


def test_past_the_bound_of_their_xml_bad_records_are_counted_not_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = _parse(_bad_records(1)).rejected[0].xml
    monkeypatch.setattr(validate, "MAX_KEPT_ASIDE_CHARS", 3 * len(first) - 1)
    report = _parse(_bad_records(4))
    assert [r.index for r in report.rejected] == [0, 1]
    assert "4 record(s) failed validation; the first 2 were kept aside" in report.warnings[-1]
