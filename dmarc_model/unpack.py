"""Any input object -> the XML documents inside it.

Raw XML, gzip (any number of layers, concatenated members, trailing bytes), zip (every member,
directories skipped, nested archives), and email at any MIME depth (forwarded `message/rfc822` parts,
inline parts, `application/octet-stream`, misnamed attachments). The kind of every layer is decided by
its bytes, never by a file name or a declared MIME type.

Decompression streams: a payload is opened afresh for each reading, and a gzipped report is inflated
as the parser reads it, so memory does not grow with the size of a report. Every layer counts against
the caps in `Limits`; a cap that is hit refuses that piece with its reason, and the other pieces of the
same input still come out.
"""

from __future__ import annotations

import base64
import email
import email.message
import io
import quopri
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from dmarc_model.errors import (
    ArchiveBomb,
    CorruptArchive,
    EmptyInput,
    InputRefused,
    MalformedMime,
    NotAggregate,
    NotAReport,
    TooLarge,
    UnsupportedArchive,
)
from dmarc_model.limits import MIB, Limits

SNIFF_BYTES = 4096
_CHUNK = 64 * 1024
_HEADER_LINE = re.compile(rb"^(From |[!-9;-~]{1,76}:[ \t]?)")
_FEEDBACK_TAG = re.compile(rb"<([\w.-]+:)?feedback[\s>]")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class Payload:
    """One XML document found in an input: where it was found, and how to read it afresh."""

    location: str
    opener: Callable[[], BinaryIO] = field(repr=False)

    def open(self) -> BinaryIO:
        return self.opener()

    def read(self) -> bytes:
        with self.open() as stream:
            return stream.read()


Found = Payload | InputRefused
"""What unpacking yields: a document to parse, or a piece refused with its reason."""


class _Budget:
    """The decompressed bytes one input may still produce."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.produced = 0

    def charge(self, size: int, location: str) -> None:
        self.produced += size
        if self.produced > self.limits.max_decompressed_bytes:
            raise TooLarge(
                f"unpacks to more than {self.limits.max_decompressed_bytes} bytes", location=location
            )


def unpack(source: bytes | Path, *, limits: Limits | None = None, name: str = "") -> Iterator[Found]:
    """Every XML document inside `source`, and every piece refused on the way, in input order."""
    limits = limits or Limits()
    budget = _Budget(limits)
    if isinstance(source, Path):
        path = source
        opener: Callable[[], BinaryIO] = lambda: path.open("rb")  # noqa: E731
        name = name or path.name
    else:
        opener = _bytes_opener(source)
    yield from _walk(opener, name or "input", depth=0, budget=budget)


def _walk(opener: Callable[[], BinaryIO], location: str, depth: int, budget: _Budget) -> Iterator[Found]:
    if depth > budget.limits.max_nesting_depth:
        yield ArchiveBomb(
            f"nested deeper than {budget.limits.max_nesting_depth} containers", location=location
        )
        return
    try:
        with opener() as stream:
            head = stream.read(SNIFF_BYTES)
        kind = sniff(head)
        if kind == "gzip":
            yield from _walk(
                _gunzip_opener(opener, location, budget), f"{location} > gzip", depth + 1, budget
            )
        elif kind == "zip":
            yield from _walk_zip(opener, location, depth, budget)
        elif kind == "email":
            yield from _walk_email(opener, location, depth, budget)
        elif kind == "xml":
            yield Payload(location, opener)
        elif kind == "json":
            yield _refuse_json(head, location)
        elif kind == "empty":
            yield EmptyInput("no bytes, or only white space", location=location)
        else:
            yield NotAReport(f"not XML, gzip, zip or email (starts with {head[:16]!r})", location=location)
    except InputRefused as refused:
        refused.location = refused.location or location
        yield refused


def sniff(head: bytes) -> str:
    """The kind of a blob from its first bytes: gzip, zip, xml, email, json, empty or unknown."""
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "zip"
    text = head
    for bom in _BOMS:
        if text.startswith(bom):
            return "xml"
    text = text.lstrip(b" \t\r\n")
    if not text:
        return "empty"
    if text.startswith((b"<", b"\x00<")):
        return "xml"
    if text.startswith((b"{", b"[")):
        return "json"
    if _HEADER_LINE.match(text):
        return "email"
    return "unknown"


def _refuse_json(head: bytes, location: str) -> InputRefused:
    if b"policies" in head or b"organization-name" in head:
        return NotAggregate("an SMTP TLS report (RFC 8460), not a DMARC aggregate report", location=location)
    return NotAReport("JSON, not a DMARC aggregate report", location=location)


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
            self._next_member()
            if self._done:
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


def _walk_zip(opener: Callable[[], BinaryIO], location: str, depth: int, budget: _Budget) -> Iterator[Found]:
    try:
        archive = zipfile.ZipFile(_seekable_bytes(opener))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise CorruptArchive(f"not a readable zip archive: {error}", location=location) from None
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
        yield from _walk(
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
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as error:
            raise CorruptArchive(f"zip member cannot be opened: {error}", location=location) from None
        counted = _Counted(raw, member.compress_size, location, budget)  # type: ignore[arg-type]
        return io.BufferedReader(counted, buffer_size=_CHUNK)

    return open_member


# --- email ------------------------------------------------------------------------------------------


def _walk_email(
    opener: Callable[[], BinaryIO], location: str, depth: int, budget: _Budget
) -> Iterator[Found]:
    with opener() as stream:
        raw = stream.read()
    budget.charge(0, location)
    try:
        message = email.message_from_bytes(raw)
    except Exception as error:
        raise MalformedMime(f"cannot be read as an email: {error}", location=location) from None
    del raw
    counter = [0]
    found_any = False
    for found in _walk_message(message, location, depth, budget, counter):
        found_any = True
        yield found
    if not found_any:
        subject = str(message.get("Subject", "")).strip()
        yield NotAReport(f"email without a report attachment (subject {subject!r})", location=location)


def _walk_message(
    message: email.message.Message, location: str, depth: int, budget: _Budget, counter: list[int]
) -> Iterator[Found]:
    if depth > budget.limits.max_nesting_depth:
        yield ArchiveBomb(
            f"MIME nested deeper than {budget.limits.max_nesting_depth} levels", location=location
        )
        return
    report_type = (
        (message.get_param("report-type") or "") if message.get_content_maintype() == "multipart" else ""
    )
    if isinstance(report_type, str) and report_type.lower() == "feedback-report":
        yield NotAggregate(
            "a DMARC failure report (RUF, RFC 9991), not an aggregate report", location=location
        )
        return
    if isinstance(report_type, str) and report_type.lower() == "tlsrpt":
        yield NotAggregate("an SMTP TLS report (RFC 8460), not a DMARC aggregate report", location=location)
        return
    for index, part in enumerate(_children(message)):
        counter[0] += 1
        if counter[0] > budget.limits.max_mime_parts:
            yield ArchiveBomb(
                f"email has more than {budget.limits.max_mime_parts} MIME parts", location=location
            )
            return
        part_location = f"{location} > mime[{index}]{_part_label(part)}"
        encoded_mail = _encoded_rfc822(part)
        if encoded_mail is not None:
            yield from _walk(_bytes_opener(encoded_mail), part_location, depth + 1, budget)
        elif part.is_multipart():
            yield from _walk_message(part, part_location, depth + 1, budget, counter)
        else:
            yield from _walk_leaf(part, part_location, depth, budget)


def _children(message: email.message.Message) -> list[email.message.Message]:
    if not message.is_multipart():
        return [message]
    payload = message.get_payload()
    return (
        [part for part in payload if isinstance(part, email.message.Message)]
        if isinstance(payload, list)
        else []
    )


def _encoded_rfc822(part: email.message.Message) -> bytes | None:
    """A forwarded mail sent base64 or quoted-printable encoded (against RFC 2046, but seen): its bytes."""
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if part.get_content_type() != "message/rfc822" or encoding not in ("base64", "quoted-printable"):
        return None
    inner = part.get_payload()
    first = inner[0] if isinstance(inner, list) and inner else inner
    text = first.as_string() if isinstance(first, email.message.Message) else str(first)
    if encoding == "base64":
        return base64.b64decode("".join(text.split()) + "==", validate=False)
    return quopri.decodestring(text.encode("ascii", "replace"))


def _part_label(part: email.message.Message) -> str:
    filename = part.get_filename()
    return f":{filename}" if filename else f":{part.get_content_type()}"


def _walk_leaf(part: email.message.Message, location: str, depth: int, budget: _Budget) -> Iterator[Found]:
    content_type = part.get_content_type()
    if content_type == "message/feedback-report":
        yield NotAggregate(
            "a DMARC failure report (RUF, RFC 9991), not an aggregate report", location=location
        )
        return
    body = part.get_payload(decode=True)
    if not isinstance(body, bytes):
        return
    budget.charge(len(body), location)
    is_attachment = part.get_filename() is not None or part.get_content_disposition() == "attachment"
    head = body[:SNIFF_BYTES]
    if not is_attachment and content_type.startswith("text/") and not _FEEDBACK_TAG.search(head):
        return  # the human-readable body of a report mail (text or HTML): not a report, nothing to keep
    if not is_attachment and sniff(head) in ("empty", "unknown"):
        return
    yield from _walk(_bytes_opener(body), location, depth + 1, budget)


def _bytes_opener(data: bytes) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(data)
