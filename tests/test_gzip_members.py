"""A gzip of many members is read to its end, whatever the size of each member.

bgzip and some MTAs write a report as a series of gzip members (bgzip's are 64 KiB of input each).
Every member size around the reader's 64 KiB chunk, a member per byte, empty members, trailing bytes,
and gzip inside zip inside gzip must give every record of the report, never a silent part of it.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from dmarc_model.parse import parse_report
from dmarc_model.unpack import Payload, unpack
from tests.helpers import make_report

RECORDS = 300


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, dict[str, Any]]:
    path = tmp_path_factory.mktemp("gzip") / "r.xml"
    summary = make_report(path, RECORDS, 5)
    return path.read_bytes(), summary


def members(data: bytes, size: int) -> bytes:
    """`data` gzipped as one member per `size` bytes of it."""
    return b"".join(gzip.compress(data[start : start + size]) for start in range(0, len(data), size))


def read(data: bytes) -> list[Any]:
    return list(unpack(data, name="r.gz"))


def records_of(data: bytes) -> tuple[int, int]:
    (payload,) = read(data)
    assert isinstance(payload, Payload), payload
    parsed = parse_report(payload)
    return len(parsed.records), sum(record.row.count for record in parsed.records)


@pytest.mark.parametrize(
    "size", [1, 7, 512, 4096, 65_535, 65_536, 65_537, 131_072, 100_000, 10_000_000], ids=str
)
def test_every_member_size_gives_every_record(size: int, report: tuple[bytes, Any]) -> None:
    xml, summary = report
    if size == 1:
        xml_part = xml[:2000]  # a member per byte: the header and no record would be slow to parse
        assert read(members(xml_part, 1))[0].read() == xml_part
        return
    assert records_of(members(xml, size)) == (summary["record_count"], summary["message_total"])


def test_empty_members_between_others_are_skipped(report: tuple[bytes, Any]) -> None:
    xml, summary = report
    half = len(xml) // 2
    data = gzip.compress(b"") + gzip.compress(xml[:half]) + gzip.compress(b"") + gzip.compress(xml[half:])
    assert records_of(data) == (summary["record_count"], summary["message_total"])


@pytest.mark.parametrize("trailer", [b"\x00" * 4096, b"garbage after the last member", b"\n"])
def test_bytes_after_the_last_member_do_not_lose_records(trailer: bytes, report: tuple[bytes, Any]) -> None:
    xml, summary = report
    assert records_of(members(xml, 65_536) + trailer) == (summary["record_count"], summary["message_total"])


def test_gzip_in_zip_in_gzip_gives_every_record(report: tuple[bytes, Any], tmp_path: Path) -> None:
    xml, summary = report
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("r.xml.gz", members(xml, 65_536))
    data = members(buffer.getvalue(), 4096)
    assert records_of(data) == (summary["record_count"], summary["message_total"])
