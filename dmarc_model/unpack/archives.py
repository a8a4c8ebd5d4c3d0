"""gzip and zip, streamed: a gzip of any number of members (trailing bytes tolerated), every zip member.

Both count what they inflate against the budget and refuse a layer that expands more than
`Limits.max_compression_ratio` times; zip members with unsafe names, encryption or an unknown
compression method are refused one by one.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

from dmarc_model.errors import ArchiveBomb, CorruptArchive, UnsupportedArchive
from dmarc_model.limits import MIB
from dmarc_model.unpack import layers, zipnames
from dmarc_model.unpack.caps import _Budget
from dmarc_model.unpack.payload import Found

_CHUNK = 64 * 1024


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
            self._pending = self._inflate.decompress(rest, _CHUNK)
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
    unflagged and shown readable (`zipnames`), rather than refused whole."""
    stream = _seekable_bytes(opener)
    try:
        try:
            return zipfile.ZipFile(stream)
        except UnicodeDecodeError:
            stream.seek(0)
            data, unflagged = zipnames.unflag_false_utf8(stream.read())
            archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise CorruptArchive(f"not a readable zip archive: {error}", location=location) from None
    members = archive.infolist()
    for index in unflagged:
        if index < len(members):
            members[index].filename = zipnames.readable_name(members[index].orig_filename)
    return archive


def _walk_zip(opener: Callable[[], BinaryIO], location: str, depth: int, budget: _Budget) -> Iterator[Found]:
    archive = _open_zip(opener, location)
    members = archive.infolist()
    if len(members) > budget.limits.max_archive_members:
        raise ArchiveBomb(f"zip holds {len(members)} members, more than {budget.limits.max_archive_members}")
    for index, member in enumerate(members):
        member_location = f"{location} > zip[{index}]:{member.filename}"
        if member.filename.endswith("/"):
            continue
        refusal = _unsafe_member(member)
        if refusal:
            yield UnsupportedArchive(refusal, location=member_location)
            continue
        yield from layers._walk(
            _member_opener(archive, member, member_location, budget), member_location, depth + 1, budget
        )


def _unsafe_member(member: zipfile.ZipInfo) -> str:
    parts = member.filename.replace("\\", "/").split("/")
    if member.filename.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", member.filename):
        return f"unsafe member name {member.filename!r} (absolute or climbing out with ..)"
    if member.flag_bits & 0x1:
        return "member is encrypted"
    if member.compress_type not in (
        zipfile.ZIP_STORED,
        zipfile.ZIP_DEFLATED,
        zipfile.ZIP_BZIP2,
        zipfile.ZIP_LZMA,
    ):
        return f"unsupported zip compression method {member.compress_type}"
    return ""


def _member_opener(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, location: str, budget: _Budget
) -> Callable[[], BinaryIO]:
    def open_member() -> BinaryIO:
        try:
            raw = archive.open(member)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, ValueError) as error:
            raise CorruptArchive(f"zip member cannot be opened: {error}", location=location) from None
        counted = _Counted(raw, member.compress_size, location, budget)  # type: ignore[arg-type]
        return io.BufferedReader(counted, buffer_size=_CHUNK)

    return open_member
