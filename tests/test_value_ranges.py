"""Every value is range-checked against the type it is stored as, and refused with a reason before any
write: a record that does not fit is kept aside (the report stands), a header that does not fit is a
`schema-violation`, a `pct` outside RFC 7489's 0..100 is stored as null with a warning, and a zip member
name flagged UTF-8 that is not UTF-8 is read under a readable name. Nothing here raises anything but a
refusal, and every report that is accepted turns into Arrow rows of the declared types."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import pytest

from dmarc_model.digest import ReportDigest, digest_input
from dmarc_model.errors import InputRefused
from dmarc_model.models import MAX_MESSAGE_COUNT
from dmarc_model.parse import validate
from dmarc_model.prepare import PreparedReport, prepare_report
from dmarc_model.rows import reports_table
from dmarc_model.unpack import Payload, unpack
from tests import hostile

INT64_MAX = 2**63 - 1
BASE = hostile.xml_with_entities("Example Org", "")
RECORD = b"<record>" + BASE.split(b"<record>")[1].split(b"</record>")[0] + b"</record>"


def _with(old: bytes, new: bytes, xml: bytes = BASE) -> bytes:
    assert old in xml
    return xml.replace(old, new)


def _counts(*counts: str) -> bytes:
    records = b"".join(RECORD.replace(b"<count>1</count>", f"<count>{c}</count>".encode()) for c in counts)
    return BASE.replace(RECORD, records)


def _prepared(xml: bytes) -> PreparedReport:
    """The rows every store writes, converted to Arrow so that a value that does not fit would raise."""
    (payload,) = list(unpack(xml))
    assert isinstance(payload, Payload), str(payload)
    prepared = prepare_report(payload, "uploads/r.xml", datetime(2025, 1, 2, tzinfo=UTC))
    reports_table([prepared.report])
    return prepared


def _refusal(xml: bytes) -> InputRefused:
    (found,) = list(digest_input(xml))
    assert isinstance(found, InputRefused), "expected a refusal"
    return found


def _digest(xml: bytes) -> ReportDigest:
    (found,) = list(digest_input(xml))
    assert isinstance(found, ReportDigest), str(found)
    return found


# --- record counts: int64 message_count, capped at 2**32 - 1 --------------------------------------------


@pytest.mark.parametrize(
    "count", [str(MAX_MESSAGE_COUNT + 1), str(INT64_MAX), str(INT64_MAX + 1), str(10**30), "-1"]
)
def test_a_count_past_the_cap_is_kept_aside_and_the_report_stands(count: str) -> None:
    prepared = _prepared(_counts("5", count))
    assert prepared.records.column("message_count").to_pylist() == [5]
    (rejected,) = prepared.rejected
    assert rejected.index == 1
    assert "count" in rejected.reason
    assert prepared.report["message_total"] == 5


def test_the_largest_count_is_stored() -> None:
    prepared = _prepared(_counts(str(MAX_MESSAGE_COUNT), str(MAX_MESSAGE_COUNT)))
    assert prepared.records.column("message_count").to_pylist() == [MAX_MESSAGE_COUNT] * 2
    assert prepared.rejected == []
    assert prepared.report["message_total"] == 2 * MAX_MESSAGE_COUNT


def test_the_cap_leaves_room_for_2_to_the_31_records_in_one_int64_sum() -> None:
    assert MAX_MESSAGE_COUNT * 2**31 <= INT64_MAX


def test_a_record_that_would_carry_the_message_total_past_int64_is_kept_aside(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Out of reach at the real cap (2**31 records), so the limit is lowered to show the rule."""
    monkeypatch.setattr(validate, "INT64_MAX", 10)
    prepared = _prepared(_counts("8", "5", "2"))
    assert prepared.records.column("message_count").to_pylist() == [8, 2]
    (rejected,) = prepared.rejected
    assert rejected.index == 1
    assert "message total" in rejected.reason
    assert prepared.report["message_total"] == 10


# --- dates: timestamp(ms) date_range_begin / date_range_end ------------------------------------------


@pytest.mark.parametrize(
    "begin",
    ["1e400", "inf", "-inf", "nan", "1e300", "253402300800", "-1", "-1e12", "1e18"],
)
def test_a_begin_that_is_no_finite_second_from_1970_to_9999_is_a_schema_violation(begin: str) -> None:
    refusal = _refusal(_with(b"<begin>1700000000</begin>", f"<begin>{begin}</begin>".encode()))
    assert refusal.reason == "schema-violation"
    assert "date_range.begin" in refusal.detail
    assert "1970" in refusal.detail


@pytest.mark.parametrize("end", ["1e400", "NaN", "99999999999999"])
def test_an_end_out_of_range_is_a_schema_violation(end: str) -> None:
    refusal = _refusal(_with(b"<end>1700086399</end>", f"<end>{end}</end>".encode()))
    assert refusal.reason == "schema-violation"
    assert "date_range.end" in refusal.detail


@pytest.mark.parametrize(("begin", "year"), [("0", 1970), ("253402300799", 9999), ("1.7e9", 2023)])
def test_the_edges_of_the_date_range_are_stored(begin: str, year: int) -> None:
    xml = _with(b"<begin>1700000000</begin>", f"<begin>{begin}</begin>".encode())
    xml = _with(b"<end>1700086399</end>", b"<end>253402300799</end>", xml)
    prepared = _prepared(xml)
    assert prepared.report["date_range_begin"].year == year
    assert prepared.records.column("date_range_begin").to_pylist()[0].year == year


def test_a_begin_after_its_end_is_kept_with_a_warning() -> None:
    xml = _with(b"<begin>1700000000</begin>", b"<begin>1800000000</begin>")
    digest = _digest(xml)
    assert digest.begin.year == 2027
    assert any("after" in warning and "end" in warning for warning in digest.warnings)


# --- pct: int32 published_pct, 0..100 by RFC 7489 ---------------------------------------------------


@pytest.mark.parametrize("pct", ["2147483648", "101", "-1", "abc", "50%", "1e2", "99999999999999999999"])
def test_a_pct_outside_0_to_100_is_stored_as_null_with_a_warning_and_the_report_stands(pct: str) -> None:
    xml = _with(b"<p>none</p>", f"<p>none</p><pct>{pct}</pct>".encode())
    prepared = _prepared(xml)
    assert prepared.report["published_pct"] is None
    assert prepared.records.num_rows == 1
    assert any("pct" in warning and repr(pct) in warning for warning in prepared.report["warnings"])


@pytest.mark.parametrize(("pct", "stored"), [("0", 0), ("100", 100), (" 50 ", 50), ("007", 7)])
def test_a_pct_from_0_to_100_is_stored(pct: str, stored: int) -> None:
    xml = _with(b"<p>none</p>", f"<p>none</p><pct>{pct}</pct>".encode())
    prepared = _prepared(xml)
    assert prepared.report["published_pct"] == stored
    assert not any("pct" in warning for warning in prepared.report["warnings"])


# --- zip member names flagged UTF-8 that are not -----------------------------------------------------


def _zip_with_false_utf8_name(first: bytes, second: bytes) -> bytes:
    """Two members; the first one's name is b'\\xff\\xfe.xml' with the UTF-8 flag (0x800) set."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ab.xml", first)
        archive.writestr("good.xml", second)
    data = bytearray(buffer.getvalue())
    for signature, flags_at, name_at in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        start = data.index(signature)
        assert data[start + name_at : start + name_at + 6] == b"ab.xml"
        data[start + name_at : start + name_at + 6] = b"\xff\xfe.xml"
        data[start + flags_at + 1] |= 0x08  # bit 11 of the little-endian flags: names are UTF-8
    return bytes(data)


def test_a_zip_member_name_flagged_utf8_that_is_not_is_read_under_a_readable_name() -> None:
    other = _with(b"<report_id>1</report_id>", b"<report_id>2</report_id>")
    archive = _zip_with_false_utf8_name(BASE, other)
    with pytest.raises(UnicodeDecodeError):
        zipfile.ZipFile(io.BytesIO(archive))  # what Python's zipfile does with it on its own
    found = list(digest_input(archive, name="mail.zip"))
    assert [type(f).__name__ for f in found] == ["ReportDigest", "ReportDigest"]
    assert [f.report_id for f in found if isinstance(f, ReportDigest)] == ["1", "2"]
    location = found[0].location
    assert "zip[0]:\ufffd\ufffd.xml" in location
    location.encode("utf-8")  # printable in logs, JSON and quarantine notes


def test_a_false_utf8_name_climbing_out_is_still_refused_and_its_sibling_read() -> None:
    archive = bytearray(_zip_with_false_utf8_name(BASE, BASE))
    for signature, name_at in ((b"PK\x03\x04", 30), (b"PK\x01\x02", 46)):
        start = archive.index(signature)
        archive[start + name_at : start + name_at + 6] = b"..\\\xff.x"
    found = list(digest_input(bytes(archive)))
    assert [f.reason if isinstance(f, InputRefused) else "report" for f in found] == [
        "unsupported-archive",
        "report",
    ]


def test_a_huge_value_is_named_in_short_in_the_refusal_and_the_warning() -> None:
    refusal = _refusal(_with(b"<begin>1700000000</begin>", b"<begin>" + b"9" * 100_000 + b"</begin>"))
    assert refusal.reason == "schema-violation"
    assert len(refusal.detail) < 300
    prepared = _prepared(_with(b"<p>none</p>", b"<p>none</p><pct>" + b"1" * 100_000 + b"</pct>"))
    assert prepared.report["published_pct"] is None
    assert max(len(warning) for warning in prepared.report["warnings"]) < 300
