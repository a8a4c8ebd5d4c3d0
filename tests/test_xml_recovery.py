"""Broken XML and wrapped documents (`dmarc_model.parse.reader`): a broken document of at most
MAX_WHOLE_RECOVERY_BYTES is recovered whole (libxml2's recovering push parser ends the document at its first
fatal error; its whole-document parser reads past it), a bigger one while streaming; a <feedback> wrapped in
another root is read, with a warning; a document recovery finds nothing in is malformed-xml, not
not-a-report. Small bounds are patched in where the real one would make a test slow."""

from __future__ import annotations

import pytest

from dmarc_model import AggregateReport, parse_report, unpack
from dmarc_model.errors import MalformedXml, NotAggregate, NotAReport
from dmarc_model.parse import reader
from dmarc_model.unpack import Payload
from tests import hostile

BASE = hostile.xml_with_entities("Example Org", "")
RECORD = BASE[BASE.index(b"<record>") : BASE.index(b"</record>") + len(b"</record>")]
FEEDBACK = BASE[BASE.index(b"<feedback>") :]
BROKEN_EMAIL = BASE.replace(b"<email>a@b.c</email>", b"<email>dmarc<>@b.c</email>")
"""An unescaped '<>' inside <email> (uwaterloo.ca's reports, techsneeze/dmarcts-report-parser#14)."""


def _parse(xml: bytes) -> AggregateReport:
    (payload,) = list(unpack(xml))
    assert isinstance(payload, Payload), str(payload)
    return parse_report(payload)


def _many(xml: bytes, count: int) -> bytes:
    records = b"\n".join(
        RECORD.replace(b"192.0.2.1", f"192.0.2.{n % 250 + 1}".encode()) for n in range(count)
    )
    return xml.replace(RECORD, records)


def test_an_unescaped_angle_bracket_in_the_header_is_recovered_whole_with_every_record() -> None:
    report = _parse(_many(BROKEN_EMAIL, 50))
    assert len(report.records) == 50
    assert report.header.policy_published.domain == "example.com"
    assert any(warning.startswith("malformed XML recovered by lxml") for warning in report.warnings)


def test_past_the_whole_recovery_bound_the_streaming_recovery_keeps_what_it_read_and_refuses_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The streaming parser ends the document at '<>': the header then lacks <policy_published>."""
    xml = _many(BROKEN_EMAIL, 50)
    monkeypatch.setattr(reader, "MAX_WHOLE_RECOVERY_BYTES", len(xml) - 1)
    with pytest.raises(MalformedXml, match="broken XML: malformed XML recovered by lxml"):
        _parse(xml)
    monkeypatch.setattr(reader, "MAX_WHOLE_RECOVERY_BYTES", len(xml))
    assert len(_parse(xml).records) == 50


def test_a_record_broken_in_the_middle_of_a_big_document_is_recovered_while_streaming(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = RECORD.replace(b"<header_from>example.com", b"<header_from>a<b.example")
    xml = _many(BASE, 20).replace(RECORD, broken, 1)
    monkeypatch.setattr(reader, "MAX_WHOLE_RECOVERY_BYTES", 0)
    report = _parse(xml)
    assert len(report.records) + len(report.rejected) == 20
    assert any(warning.startswith("malformed XML recovered by lxml") for warning in report.warnings)


@pytest.mark.parametrize(
    "wrapper", [b"<wrapper>", b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">']
)
def test_a_feedback_wrapped_in_another_root_is_read_with_a_warning(wrapper: bytes) -> None:
    name = wrapper[1:].split(b" ")[0].rstrip(b">")
    xml = b'<?xml version="1.0"?>\n' + wrapper + FEEDBACK + b"</" + name + b">"
    report = _parse(xml)
    assert len(report.records) == 1
    assert f"<feedback> read from inside a <{name.decode().split(':')[-1]}> root element" in report.warnings


def test_a_root_without_a_feedback_child_is_not_a_report() -> None:
    with pytest.raises(NotAReport, match="root element is <wrapper>"):
        _parse(b'<?xml version="1.0"?>\n<wrapper><other>' + FEEDBACK + b"</other></wrapper>")


def test_a_tlsrpt_root_is_named_even_around_a_feedback() -> None:
    with pytest.raises(NotAggregate):
        _parse(b'<?xml version="1.0"?>\n<tlsrpt>' + FEEDBACK + b"</tlsrpt>")


@pytest.mark.parametrize("whole_bound", [0, 2 * 1024 * 1024])
def test_bytes_that_recovery_finds_no_element_in_are_malformed_xml(
    monkeypatch: pytest.MonkeyPatch, whole_bound: int
) -> None:
    monkeypatch.setattr(reader, "MAX_WHOLE_RECOVERY_BYTES", whole_bound)
    with pytest.raises(MalformedXml, match="broken XML"):
        _parse(b'<?xml version="1.0"?>"\n' + FEEDBACK)
