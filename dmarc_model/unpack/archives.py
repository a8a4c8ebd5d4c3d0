"""gzip and zip, streamed: a gzip of any number of members (trailing bytes tolerated), every zip member.

Both count what they inflate against the budget and refuse a layer that expands more than
`Limits.max_compression_ratio` times; zip members with unsafe names, encryption (ZipCrypto, AES, strong
encryption), patched data or a compression method other than stored and deflated are refused one by one
(`unsupported-archive`), and the other members still read. bzip2 and lzma are refused although Python
could read them: no reporter sends them, and an lzma member sets its own dictionary size (up to 4 GiB),
which liblzma allocates before the first byte comes out. Zip64 archives and member names in any
encoding are read (`zipnames`); an archive with no files is `empty`.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

from dmarc_model.errors import ArchiveBomb, CorruptArchive, EmptyInput, UnsupportedArchive
from dmarc_model.limits import MIB
from dmarc_model.unpack import layers, zipnames
from dmarc_model.unpack.caps import _Budget
from dmarc_model.unpack.payload import Found

_CHUNK = 64 * 1024
_READ_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_AES = 99
_ENCRYPTED, _PATCHED, _STRONG_ENCRYPTION, _UTF8_NAME = 0x1, 0x20, 0x40, 0x800
_METHOD_NAMES = {
    **dict.fromkeys(range(1, 6), "shrunk or reduced"),
    6: "imploded",
    9: "deflate64",
    10: "old terse",
    12: "bzip2",
    14: "lzma",
    18: "terse",
    19: "lz77",
    20: "zstd",
    93: "zstd",
    94: "mp3",
    95: "xz",
    96: "jpeg",
    97: "wavpack",
    98: "ppmd",
}


# --- gzip -------------------------------------------------------------------------------------------


class _Inflater(io.RawIOBase):
    """A streaming gunzip over any number of members, with a byte budget and a ratio cap."""

    def __init__(self, raw: BinaryIO, location: str, budget: _Budget) -> None:
        super().__init__()
        self._raw = raw
        self._location = location
        self._budget = budget
        self._inflate = zlib.decompressobj(wbits=31)
        self._pending = b""
        self._consumed = 0
        self._produced = 0
        self._done = False
        self.trailing_garbage = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending and not self._done:
            self._fill()
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _fill(self) -> None:
        if self._inflate.eof:
            self._next_member()  # its first output is pending now: `readinto` hands it out first
            return
        chunk = self._inflate.unconsumed_tail or self._read_raw()
        if not chunk:
            if not self._inflate.eof:
                raise CorruptArchive("gzip stream is truncated", location=self._location)
            self._done = True
            return
        try:
            out = self._inflate.decompress(chunk, _CHUNK)
        except zlib.error as error:
            raise CorruptArchive(f"gzip stream is damaged: {error}", location=self._location) from None
        self._account(len(out))
        self._pending = out

    def _read_raw(self) -> bytes:
        chunk = self._raw.read(_CHUNK)
        self._consumed += len(chunk)
        return chunk

    def _next_member(self) -> None:
        rest = self._inflate.unused_data + self._raw.read(_CHUNK)
        self._consumed += len(rest) - len(self._inflate.unused_data)
        if rest.startswith(b"\x1f\x8b"):
            self._inflate = zlib.decompressobj(wbits=31)
            try:
                self._pending = self._inflate.decompress(rest, _CHUNK)
            except zlib.error as error:
                raise CorruptArchive(f"gzip member is damaged: {error}", location=self._location) from None
            self._account(len(self._pending))
            return
        self.trailing_garbage = bool(rest.strip(b"\x00"))
        self._done = True

    def _account(self, size: int) -> None:
        self._produced += size
        self._budget.charge(size, self._location)
        ratio_cap = self._budget.limits.max_compression_ratio
        if self._produced > MIB and self._produced > ratio_cap * max(self._consumed, 1):
            raise ArchiveBomb(f"gzip expands more than {ratio_cap} times", location=self._location)

    def close(self) -> None:
        self._raw.close()
        super().close()


def _gunzip_opener(opener: Callable[[], BinaryIO], location: str, budget: _Budget) -> Callable[[], BinaryIO]:
    def open_inflated() -> BinaryIO:
        return io.BufferedReader(_Inflater(opener(), f"{location} > gzip", budget), buffer_size=_CHUNK)

    return open_inflated


# --- zip --------------------------------------------------------------------------------------------


class _Counted(io.RawIOBase):
    """A zip member stream that counts what it produces against the budget and the ratio cap."""

    def __init__(self, raw: BinaryIO, compressed_size: int, location: str, budget: _Budget) -> None:
        super().__init__()
        self._raw = raw
        self._compressed = max(compressed_size, 1)
        self._location = location
        self._budget = budget
        self._produced = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            data = self._raw.read(len(buffer))
        except (zipfile.BadZipFile, zlib.error, EOFError) as error:
            raise CorruptArchive(f"zip member is damaged: {error}", location=self._location) from None
        self._produced += len(data)
        self._budget.charge(len(data), self._location)
        ratio_cap = self._budget.limits.max_compression_ratio
        if self._produced > MIB and self._produced > ratio_cap * self._compressed:
            raise ArchiveBomb(f"zip member expands more than {ratio_cap} times", location=self._location)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def _seekable_bytes(opener: Callable[[], BinaryIO]) -> BinaryIO:
    stream = opener()
    if stream.seekable():
        return stream
    with stream:
        return io.BytesIO(stream.read())


def _open_zip(opener: Callable[[], BinaryIO], location: str) -> zipfile.ZipFile:
    """The archive; one whose member names are flagged UTF-8 but are not is read with those names
    unflagged and shown readable (`zipnames`), rather than refused whole; unflagged names that are
    UTF-8 are shown as UTF-8."""
    stream = _seekable_bytes(opener)
    unflagged: set[int] = set()
    try:
        try:
            archive = zipfile.ZipFile(stream)
        except UnicodeDecodeError:
            stream.seek(0)
            data, unflagged = zipnames.unflag_false_utf8(stream.read())
            archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise CorruptArchive(f"not a readable zip archive: {error}", location=location) from None
    for index, member in enumerate(archive.infolist()):
        if index in unflagged:
            member.filename = zipnames.readable_name(member.orig_filename)
        elif not member.flag_bits & _UTF8_NAME:
            member.filename = zipnames.unflagged_name(member.filename)
    return archive


def _walk_zip(opener: Callable[[], BinaryIO], location: str, depth: int, budget: _Budget) -> Iterator[Found]:
    archive = _open_zip(opener, location)
    members = archive.infolist()
    if len(members) > budget.limits.max_archive_members:
        raise ArchiveBomb(f"zip holds {len(members)} members, more than {budget.limits.max_archive_members}")
    if all(_not_a_file(member) for member in members):
        yield EmptyInput("zip archive holds no files", location=location)
    for index, member in enumerate(members):
        member_location = f"{location} > zip[{index}]:{member.filename}"
        if _not_a_file(member):
            continue
        refusal = _unsafe_member(member)
        if refusal:
            yield UnsupportedArchive(refusal, location=member_location)
            continue
        yield from layers._walk(
            _member_opener(archive, member, member_location, budget), member_location, depth + 1, budget
        )


def _not_a_file(member: zipfile.ZipInfo) -> bool:
    """A directory entry, or the file-system metadata macOS's Archive Utility adds under `__MACOSX/`
    (AppleDouble `._<name>` files): neither is a document of the sender's."""
    return member.filename.endswith("/") or member.filename.replace("\\", "/").startswith("__MACOSX/")


def _unsafe_member(member: zipfile.ZipInfo) -> str:
    """Why a member is not read ('' to read it): its name, or how its data is stored."""
    parts = member.filename.replace("\\", "/").split("/")
    if member.filename.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", member.filename):
        return f"unsafe member name {member.filename!r} (absolute or climbing out with ..)"
    return _unread_data(member)


def _unread_data(member: zipfile.ZipInfo) -> str:
    """Why a member's data is not read: encrypted, patched, or a method other than stored and deflated."""
    if member.flag_bits & _STRONG_ENCRYPTION:
        return "member is encrypted (strong encryption)"
    if member.compress_type == _AES:  # WinZip AE-1/AE-2, with or without the encryption flag
        return "member is encrypted (AES)"
    if member.flag_bits & _ENCRYPTED:
        return "member is encrypted (ZipCrypto)"
    if member.flag_bits & _PATCHED:
        return "member is compressed patched data"
    if member.compress_type not in _READ_METHODS:
        method = member.compress_type
        return (
            f"zip compression method {method} ({_METHOD_NAMES.get(method, 'unknown')}) is not supported:"
            " only stored and deflated members are read"
        )
    return ""


def _member_opener(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, location: str, budget: _Budget
) -> Callable[[], BinaryIO]:
    def open_member() -> BinaryIO:
        try:
            raw = archive.open(member)
        except NotImplementedError as error:  # a feature zipfile lacks, should one pass `_unread_data`
            raise UnsupportedArchive(f"zip member cannot be read: {error}", location=location) from None
        except (zipfile.BadZipFile, RuntimeError, OSError, ValueError) as error:
            raise CorruptArchive(f"zip member cannot be opened: {error}", location=location) from None
        counted = _Counted(raw, member.compress_size, location, budget)  # type: ignore[arg-type]
        return io.BufferedReader(counted, buffer_size=_CHUNK)

    return open_member
