"""Zip member names flagged UTF-8 (general purpose bit 11) that are not UTF-8.

Python's zipfile decodes a flagged name strictly, so one such name makes the whole archive unreadable
(`UnicodeDecodeError`), good members and all. `unflag_false_utf8` returns a copy of the archive with
the flag cleared on those entries only (in the central directory and in their local headers), which
zipfile then reads as it reads unflagged names; `readable_name` gives such a member a name fit for
locations, logs and notes: its bytes as UTF-8, each undecodable byte shown as U+FFFD.

Only the flag bits change: names, sizes, offsets and CRCs are untouched.
"""

from __future__ import annotations

import struct

__all__ = ["readable_name", "unflag_false_utf8", "unflagged_name"]

_UTF8_FLAG = 0x800
_END = b"PK\x05\x06"
_END64_LOCATOR = b"PK\x06\x07"
_END64 = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_SATURATED = 0xFFFFFFFF
_LONGEST_COMMENT = 0xFFFF


def readable_name(cp437_name: str) -> str:
    """The name of an entry whose false flag was cleared (read by zipfile as cp437), as UTF-8."""
    return cp437_name.encode("cp437").decode("utf-8", "replace")


def unflagged_name(cp437_name: str) -> str:
    """A name without the UTF-8 flag, as zipfile read it (CP437), or as UTF-8 when its bytes are UTF-8:
    7-Zip, macOS and Windows write UTF-8 names unflagged, and CP437 text is rarely valid UTF-8."""
    if cp437_name.isascii():
        return cp437_name
    try:
        return cp437_name.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):  # not CP437 (metadata_encoding), or not UTF-8
        return cp437_name


def unflag_false_utf8(archive: bytes) -> tuple[bytes, set[int]]:
    """A copy with the UTF-8 flag cleared where a name is not UTF-8, and those entries' indexes.

    Returns the archive unchanged (and no indexes) when its directory cannot be found: zipfile then
    says what is wrong with it.
    """
    data = bytearray(archive)
    directory = _central_directory(archive)
    if directory is None:
        return archive, set()
    position, count, base = directory
    patched: set[int] = set()
    for index in range(count):
        if archive[position : position + 4] != _CENTRAL or position + 46 > len(archive):
            break
        flags, name_length, extra_length, comment_length = struct.unpack_from(
            "<H18xHHH", archive, position + 8
        )
        name_at = position + 46
        name = archive[name_at : name_at + name_length]
        if flags & _UTF8_FLAG and not _is_utf8(name):
            struct.pack_into("<H", data, position + 8, flags & ~_UTF8_FLAG)
            extra = archive[name_at + name_length : name_at + name_length + extra_length]
            _unflag_local(data, base + _local_offset(archive, position, extra))
            patched.add(index)
        position = name_at + name_length + extra_length + comment_length
    return bytes(data), patched


def _is_utf8(name: bytes) -> bool:
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _central_directory(archive: bytes) -> tuple[int, int, int] | None:
    """(where the central directory starts, how many entries, the offset of any bytes before the zip)."""
    end = archive.rfind(_END, max(0, len(archive) - 22 - _LONGEST_COMMENT))
    if end < 0 or end + 22 > len(archive):
        return None
    count, size, offset = struct.unpack_from("<10xHII", archive, end)
    start = end - size
    end64 = end - 20 - 56  # a Zip64 end record right before its locator, as zipfile reads it
    if end64 >= 0 and archive[end - 20 : end - 16] == _END64_LOCATOR and archive[end64 : end64 + 4] == _END64:
        count, size, offset = struct.unpack_from("<32xQQQ", archive, end64)
        start = end64 - size
    base = start - offset  # bytes prepended to the archive (a self-extractor, a mail's leftovers)
    return (start, count, base) if start >= 0 else None


def _local_offset(archive: bytes, position: int, extra: bytes) -> int:
    """A central entry's local header offset, from the Zip64 extra field when the 32-bit one is full."""
    compressed, uncompressed, offset = struct.unpack_from("<16xII14xI", archive, position + 4)
    if offset != _SATURATED:
        return int(offset)
    at = 0
    while at + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, at)
        if tag == 1:  # Zip64: the 64-bit values of the saturated fields, in this order
            skip = 8 * ((uncompressed == _SATURATED) + (compressed == _SATURATED))
            if at + 4 + skip + 8 <= len(extra):
                return int(struct.unpack_from("<Q", extra, at + 4 + skip)[0])
        at += 4 + length
    return -1


def _unflag_local(data: bytearray, offset: int) -> None:
    if offset >= 0 and data[offset : offset + 4] == _LOCAL:
        (flags,) = struct.unpack_from("<H", data, offset + 6)
        struct.pack_into("<H", data, offset + 6, flags & ~_UTF8_FLAG)
