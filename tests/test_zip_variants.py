"""Every kind of zip a reporter sends, or an attacker does: each member is read or refused on its own.

The matrix: stored and deflated members; zip64 (zip64 extra fields on small members, and an archive
whose end record and 32-bit fields are all saturated, as past 4 GiB or 65,535 members); streamed zips
(data descriptors); member names in CP437, in true UTF-8 with and without the flag, and flagged UTF-8
when they are not; compression methods other than stored and deflated (bzip2, lzma, deflate64, ppmd,
xz, zstd, unknown), ZipCrypto, AES and strong encryption, patched data: `unsupported-archive` for that
member, and the others still read; an archive with no files: `empty`.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable, Iterator

import pytest

from dmarc_model.errors import EmptyInput, InputRefused, UnsupportedArchive
from dmarc_model.unpack import Payload, unpack

REPORT = (
    b'<?xml version="1.0" encoding="UTF-8"?><feedback><report_metadata><org_name>Zip</org_name>'
    b"<email>r@example.net</email><report_id>z-1</report_id><date_range><begin>1735689600</begin>"
    b"<end>1735775999</end></date_range></report_metadata><policy_published><domain>example.com</domain>"
    b"<p>none</p></policy_published><record><row><source_ip>192.0.2.7</source_ip><count>3</count>"
    b"<policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated>"
    b"</row><identifiers><header_from>example.com</header_from></identifiers></record></feedback>"
)
GOOD = "good.xml"


def build(*members: tuple[str, int], force_zip64: bool = False) -> bytes:
    """A zip of `REPORT` under each (name, compression method) written by zipfile."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, method in members:
            info = zipfile.ZipInfo(name, (2025, 1, 1, 0, 0, 0))
            info.compress_type = method
            with archive.open(info, "w", force_zip64=force_zip64) as member:
                member.write(REPORT)
    return buffer.getvalue()


def _central_entries(data: bytes) -> Iterator[int]:
    position = data.find(b"PK\x01\x02")
    while position >= 0:
        yield position
        position = data.find(b"PK\x01\x02", position + 46)


def patched(archive: bytes, index: int, *, method: int | None = None, flags: int = 0) -> bytes:
    """`archive` with member `index` given another compression method and more flag bits, in its local
    header and its central directory entry alike (what an archiver with that method would write)."""
    data = bytearray(archive)
    local = zipfile.ZipFile(io.BytesIO(archive)).infolist()[index].header_offset
    central = list(_central_entries(archive))[index]
    for flags_at, method_at in ((local + 6, local + 8), (central + 8, central + 10)):
        (old_flags,) = struct.unpack_from("<H", data, flags_at)
        struct.pack_into("<H", data, flags_at, old_flags | flags)
        if method is not None:
            struct.pack_into("<H", data, method_at, method)
    return bytes(data)


def outcome(data: bytes) -> list[str]:
    """What came out, in order: 'read <name>' for a payload, the reason of a refusal."""
    found: list[str] = []
    for piece in unpack(data, name="in.zip"):
        if isinstance(piece, Payload):
            assert piece.read() == REPORT
            found.append("read " + piece.location.rsplit(":", 1)[1])
        else:
            found.append(piece.reason)
    return found


def refusals(data: bytes) -> list[InputRefused]:
    return [piece for piece in unpack(data, name="in.zip") if isinstance(piece, InputRefused)]


# --- read -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored", "deflated"])
def test_stored_and_deflated_members_are_read(method: int) -> None:
    assert outcome(build(("a.xml", method), ("b.xml", method))) == ["read a.xml", "read b.xml"]


def test_zip64_extra_fields_on_small_members_are_read() -> None:
    data = build(("a.xml", zipfile.ZIP_DEFLATED), ("b.xml", zipfile.ZIP_STORED), force_zip64=True)
    assert outcome(data) == ["read a.xml", "read b.xml"]


@pytest.fixture
def saturated_zip64(monkeypatch: pytest.MonkeyPatch) -> Callable[..., bytes]:
    """Builds archives written as zipfile writes them past 4 GiB and 65,535 members: a zip64 end record,
    and 0xFFFFFFFF in the 32-bit sizes and offsets with the true values in zip64 extra fields."""

    def build_saturated(*members: tuple[str, int]) -> bytes:
        with monkeypatch.context() as limits:
            limits.setattr(zipfile, "ZIP64_LIMIT", 64)
            limits.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)
            data = build(*members, force_zip64=True)
        assert b"PK\x06\x06" in data
        assert b"PK\x06\x07" in data
        assert data.count(b"\xff\xff\xff\xff") >= 3 * len(members)
        return data

    return build_saturated


def test_zip64_archive_with_saturated_fields_is_read(saturated_zip64: Callable[..., bytes]) -> None:
    data = saturated_zip64(("a.xml", zipfile.ZIP_DEFLATED), ("b.xml", zipfile.ZIP_STORED))
    assert outcome(data) == ["read a.xml", "read b.xml"]


def test_zip64_archive_with_a_false_utf8_name_reads_every_member(
    saturated_zip64: Callable[..., bytes],
) -> None:
    data = saturated_zip64(("é.xml", zipfile.ZIP_DEFLATED), (GOOD, zipfile.ZIP_DEFLATED))
    data = data.replace("é.xml".encode(), b"\xe9_.xml")  # flagged UTF-8, now Latin-1
    assert outcome(data) == ["read \ufffd_.xml", f"read {GOOD}"]


def test_streamed_zip_with_data_descriptors_is_read() -> None:
    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.written = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, data: bytes) -> int:  # type: ignore[override]
            self.written += data
            return len(data)

    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.xml", REPORT)
        archive.writestr("b.xml", REPORT)
    assert all(info.flag_bits & 0x8 for info in zipfile.ZipFile(io.BytesIO(sink.written)).infolist())
    assert outcome(bytes(sink.written)) == ["read a.xml", "read b.xml"]


# --- member names ------------------------------------------------------------------------------------------


def test_cp437_name_without_the_utf8_flag_reads_as_cp437() -> None:
    data = build(("cafe.xml", zipfile.ZIP_DEFLATED)).replace(b"cafe.xml", "café.xml".encode("cp437"))
    assert zipfile.ZipFile(io.BytesIO(data)).infolist()[0].flag_bits & 0x800 == 0
    assert outcome(data) == ["read café.xml"]


def test_true_utf8_name_with_the_flag_reads_and_shows_as_written() -> None:
    assert outcome(build(("отчёт-東京.xml", zipfile.ZIP_DEFLATED))) == ["read отчёт-東京.xml"]


def test_utf8_name_without_the_flag_shows_as_utf8_not_as_cp437_mojibake() -> None:
    data = build(("cafeX.xml", zipfile.ZIP_DEFLATED)).replace(b"cafeX.xml", "café.xml".encode())
    assert outcome(data) == ["read café.xml"]


@pytest.mark.parametrize(
    "name",
    [b"\xe9t\xe9.xml", b"\x82\xa0\x93\xfa\x96{.xml", b"\xff\xfe\x80.xml"],
    ids=["latin-1", "sjis", "junk"],
)
def test_name_flagged_utf8_that_is_not_never_aborts_the_archive(name: bytes) -> None:
    placeholder = "\u00e9" * (len(name) // 2) + "x" * (len(name) % 2)  # as many bytes once in UTF-8
    data = build((placeholder, zipfile.ZIP_DEFLATED), (GOOD, zipfile.ZIP_DEFLATED))
    data = data.replace(placeholder.encode(), name)
    assert outcome(data) == ["read " + name.decode("utf-8", "replace"), f"read {GOOD}"]


# --- refused, one member at a time ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "named"),
    [
        (zipfile.ZIP_BZIP2, "bzip2"),
        (zipfile.ZIP_LZMA, "lzma"),
    ],
)
def test_bzip2_and_lzma_members_are_refused_and_the_others_read(method: int, named: str) -> None:
    data = build(("a.xml", method), (GOOD, zipfile.ZIP_DEFLATED))
    assert outcome(data) == ["unsupported-archive", f"read {GOOD}"]
    (refused,) = refusals(data)
    assert isinstance(refused, UnsupportedArchive)
    assert f"method {method} ({named})" in refused.detail


@pytest.mark.parametrize(
    ("method", "named"),
    [(9, "deflate64"), (98, "ppmd"), (95, "xz"), (93, "zstd"), (97, "wavpack"), (4711, "unknown")],
)
def test_other_compression_methods_are_refused_by_name_and_the_others_read(method: int, named: str) -> None:
    data = patched(build(("a.xml", zipfile.ZIP_STORED), (GOOD, zipfile.ZIP_STORED)), 0, method=method)
    assert outcome(data) == ["unsupported-archive", f"read {GOOD}"]
    (refused,) = refusals(data)
    assert f"method {method} ({named})" in refused.detail


@pytest.mark.parametrize(
    ("method", "flags", "kind"),
    [
        (None, 0x1, "ZipCrypto"),
        (99, 0x1, "AES"),
        (99, 0x0, "AES"),
        (None, 0x41, "strong encryption"),
        (None, 0x40, "strong encryption"),
    ],
    ids=["zipcrypto", "aes", "aes-unflagged", "strong", "strong-unflagged"],
)
def test_encrypted_members_are_refused_and_the_others_read(method: int | None, flags: int, kind: str) -> None:
    data = patched(
        build(("a.xml", zipfile.ZIP_DEFLATED), (GOOD, zipfile.ZIP_DEFLATED)), 0, method=method, flags=flags
    )
    assert outcome(data) == ["unsupported-archive", f"read {GOOD}"]
    (refused,) = refusals(data)
    assert refused.detail == f"member is encrypted ({kind})"


def test_encrypted_member_between_two_good_ones_refuses_only_itself() -> None:
    archive = build(
        ("a.xml", zipfile.ZIP_DEFLATED), ("b.xml", zipfile.ZIP_DEFLATED), ("c.xml", zipfile.ZIP_STORED)
    )
    assert outcome(patched(archive, 1, flags=0x1)) == ["read a.xml", "unsupported-archive", "read c.xml"]


def test_patched_data_member_is_unsupported_not_corrupt() -> None:
    data = patched(build(("a.xml", zipfile.ZIP_STORED), (GOOD, zipfile.ZIP_STORED)), 0, flags=0x20)
    assert outcome(data) == ["unsupported-archive", f"read {GOOD}"]


# --- nothing inside -----------------------------------------------------------------------------------------


def test_zip_with_no_members_is_refused_as_empty() -> None:
    (refused,) = refusals(build())
    assert isinstance(refused, EmptyInput)


def test_zip_with_only_directories_is_refused_as_empty() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.mkdir("reports")
        archive.mkdir("reports/2025")
    assert outcome(buffer.getvalue()) == ["empty"]


def test_a_feature_zipfile_lacks_past_the_checks_is_unsupported_not_corrupt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def lacking(*args: object, **kwargs: object) -> None:
        raise NotImplementedError("some future zip feature")

    data = build(("a.xml", zipfile.ZIP_DEFLATED))
    monkeypatch.setattr(zipfile.ZipFile, "open", lacking)
    assert outcome(data) == ["unsupported-archive"]
