"""Hostile input is refused with its reason, quickly and in bounded memory, and never crashes a run."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from dmarc_model.digest import digest_input
from dmarc_model.errors import InputRefused
from dmarc_model.limits import Limits
from tests import hostile
from tests.helpers import CORPUS, REPO

MIB = 1 << 20


def _reasons(data: bytes, limits: Limits | None = None) -> list[str]:
    return [f.reason if isinstance(f, InputRefused) else "report" for f in digest_input(data, limits=limits)]


def _peak_mib(action: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1] / MIB
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def report_xml() -> bytes:
    return (CORPUS / "crv__google.xml").read_bytes()


def test_external_entity_is_refused_and_the_file_never_appears(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    doc = hostile.xml_with_entities("&xxe;", f'<!DOCTYPE feedback [<!ENTITY xxe SYSTEM "file://{secret}">]>')
    target = tmp_path / "xxe.xml"
    target.write_bytes(doc)
    result = subprocess.run(
        [sys.executable, "-m", "dmarc_cli.main", "parse", "--json", str(target)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert "TOP-SECRET-CONTENT" not in result.stdout + result.stderr
    line = json.loads(result.stdout)
    assert line["error"]["reason"] == "forbidden-xml"
    assert result.returncode == 1


def test_external_dtd_over_the_network_is_refused_without_fetching() -> None:
    doc = hostile.xml_with_entities("x", '<!DOCTYPE feedback SYSTEM "http://127.0.0.1:9/evil.dtd">')
    assert _reasons(doc) == ["forbidden-xml"]


def test_billion_laughs_is_refused_in_bounded_memory() -> None:
    doc = hostile.xml_with_entities("&lol9;", hostile.BILLION_LAUGHS)
    reasons: list[str] = []
    peak = _peak_mib(lambda: reasons.extend(_reasons(doc)))
    assert reasons == ["forbidden-xml"]
    assert peak < 20


SPACES = b" " * MIB


@pytest.mark.parametrize("build", [hostile.gzip_bomb, hostile.zip_bomb], ids=["gzip", "zip"])
def test_bomb_of_a_gib_of_zeros_is_refused_after_reading_its_first_bytes(build: Callable[..., bytes]) -> None:
    """Zeros are not a report: sniffing the first 4 KiB says so, and the rest is never inflated."""
    bomb = build()
    reasons: list[str] = []
    peak = _peak_mib(lambda: reasons.extend(_reasons(bomb)))
    assert reasons == ["not-a-report"]
    assert peak < 50


@pytest.mark.parametrize("build", [hostile.gzip_bomb, hostile.zip_bomb], ids=["gzip", "zip"])
def test_bomb_that_starts_like_a_report_is_refused_as_a_bomb(build: Callable[..., bytes]) -> None:
    """A <feedback> start, then a GiB of white space: the ratio cap stops it inside the parser."""
    bomb = build(filler=SPACES, prefix=hostile.XML_START)
    reasons: list[str] = []
    peak = _peak_mib(lambda: reasons.extend(_reasons(bomb)))
    assert reasons == ["archive-bomb"]
    assert peak < 50


def test_total_size_cap_refuses_as_too_large_even_at_a_modest_ratio(report_xml: bytes) -> None:
    limits = Limits(max_decompressed_bytes=1000)
    assert _reasons(hostile.zip_of({"a.xml": report_xml}), limits) == ["too-large"]


def test_zips_nested_past_the_depth_cap_are_refused(report_xml: bytes) -> None:
    assert _reasons(hostile.nested_zips(report_xml, 3)) == ["report"]
    assert _reasons(hostile.nested_zips(report_xml, 12)) == ["archive-bomb"]


def test_too_many_zip_members_are_refused(report_xml: bytes) -> None:
    archive = hostile.zip_of({f"r{i}.xml": report_xml for i in range(20)})
    assert _reasons(archive, Limits(max_archive_members=10)) == ["archive-bomb"]


def test_deep_mime_nesting_is_refused() -> None:
    mail = hostile.mail_with_attachment(b"<feedback/>", "r.xml")
    reasons = _reasons(hostile.forwarded(mail, 30))
    assert reasons == ["archive-bomb"]


def test_mime_part_count_is_capped() -> None:
    assert "archive-bomb" in _reasons(hostile.many_parts(50), Limits(max_mime_parts=20))


def test_zip_member_climbing_out_with_dotdot_is_refused_and_its_siblings_still_read(
    report_xml: bytes,
) -> None:
    archive = hostile.zip_of({"../../etc/cron.d/evil.xml": report_xml, "good.xml": report_xml})
    assert _reasons(archive) == ["unsupported-archive", "report"]


def test_truncated_gzip_is_a_corrupt_archive(report_xml: bytes) -> None:
    import gzip

    data = gzip.compress(report_xml * 50)
    assert _reasons(data[: len(data) // 2]) == ["corrupt-archive"]


def test_truncated_zip_is_a_corrupt_archive(report_xml: bytes) -> None:
    data = hostile.zip_of({"r.xml": report_xml * 50})
    assert _reasons(data[: len(data) // 2]) == ["corrupt-archive"]


def test_gzip_with_trailing_garbage_still_reads(report_xml: bytes) -> None:
    import gzip

    assert _reasons(gzip.compress(report_xml) + b"\x00\x00garbage") == ["report"]


def test_gzip_in_gzip_in_zip_reads(report_xml: bytes) -> None:
    import gzip

    assert _reasons(hostile.zip_of({"r.xml.gz": gzip.compress(gzip.compress(report_xml))})) == ["report"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \r\n\t ", "empty"),
        (bytes(range(256)) * 4, "not-a-report"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "not-a-report"),
        (b"<html><body>hi</body></html>", "not-a-report"),
        (b"<feedback><report_metadata>", "malformed-xml"),
        (b'{"organization-name": "Google", "policies": []}', "schema-violation"),
        (b'{"name": "not a report", "values": [1, 2]}', "not-a-report"),
    ],
    ids=["empty", "whitespace", "binary", "png", "html", "unclosed", "tlsrpt-json-incomplete", "other-json"],
)
def test_junk_is_refused_with_its_reason(data: bytes, reason: str) -> None:
    assert _reasons(data) == [reason]


def test_malformed_mime_headers_do_not_crash(report_xml: bytes) -> None:
    mail = b"From: \x00\xff broken\r\nContent-Type: multipart/mixed; boundary=\r\n\r\n--\r\n" + report_xml
    reasons = _reasons(mail)
    assert reasons, "something must be said about the input"
    assert all(isinstance(r, str) for r in reasons)


def test_a_bomb_next_to_a_good_report_does_not_sink_the_report(report_xml: bytes) -> None:
    bomb = hostile.gzip_bomb(64 * MIB, filler=SPACES, prefix=hostile.XML_START)
    archive = hostile.zip_of({"good.xml": report_xml, "bomb.gz": bomb})
    assert _reasons(archive) == ["report", "archive-bomb"]
