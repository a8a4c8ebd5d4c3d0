"""Which encoding lxml reads a document in: the one the document gives, unless that cannot be right.

lxml honours a byte order mark and the XML declaration itself; this module steps in only where that
fails, and each step it takes is a warning on the report:

- UTF-32 with a BOM, and UTF-16 with neither BOM nor declaration, which libxml2 does not detect: the
  encoding is read off the first four bytes (XML 1.0, appendix F) and given to lxml (no warning for
  UTF-32 with a BOM: that document is well-formed).
- a declaration of UTF-16 or UTF-32 on a document written one byte per character: read as UTF-8.
- an encoding lxml does not know (`encoding="x-made-up"`): read as UTF-8.
- bytes that are not UTF-8 where UTF-8 is declared or implied (a declaration that lies; in the wild
  Latin-1 or windows-1252 labelled UTF-8): read as windows-1252, and if that fails too as ISO-8859-1,
  which reads any byte. Not after a UTF-8 BOM, which is taken at its word.
- the reverse lie: a legacy one-byte-per-character encoding declared (ISO-8859-1, windows-1252, KOI8-R,
  ...) over bytes that are UTF-8, which read as declared would be mojibake ('SociÃ©tÃ©'): when the first
  `_SAMPLE_BYTES` hold non-ASCII bytes and all of them are valid UTF-8, read as UTF-8 (text in a legacy
  encoding is valid UTF-8 only by accident: it takes a letter such as 'Ã' before each accented one).

What is still unreadable after that goes to lxml's recovery pass (`reader`), as any broken XML does.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from lxml import etree

from dmarc_model.unpack import Payload

__all__ = ["DocumentEncoding"]

_HEAD_BYTES = 512
"""Enough for a BOM and an XML declaration in any encoding (a declaration in UTF-32 takes four times)."""
_SAMPLE_BYTES = 64 * 1024
"""What is checked for UTF-8 under a legacy declaration: the header, where the org name is, and more."""
_SINGLE_BYTE = ("iso8859-", "cp12", "cp437", "cp85", "koi8-", "mac-", "latin")
"""Python's names (`codecs.lookup(...).name`) of the legacy one-byte-per-character encodings."""
_UTF8_BOM = b"\xef\xbb\xbf"
_BOMS = {b"\x00\x00\xfe\xff": "UTF-32BE", b"\xff\xfe\x00\x00": "UTF-32LE"}
"""BOMs libxml2 does not read; UTF-8 and UTF-16 BOMs it reads itself."""
_DECLARATION = re.compile(r"""^\s*<\?xml\s[^>]*?\bencoding\s*=\s*["']([^"']{0,64})["']""")
_WIDE = ("utf-16", "utf-32")
_UNKNOWN_ENCODING = frozenset(
    {etree.ErrorTypes.ERR_UNSUPPORTED_ENCODING, etree.ErrorTypes.ERR_UNKNOWN_ENCODING}
)
_NEXT_SINGLE_BYTE = {"utf-8": "windows-1252", "cp1252": "ISO-8859-1"}
"""After bytes invalid in the first, the encoding tried next."""
_ZERO_PATTERNS: dict[tuple[bool, ...], str] = {
    (False, True, True, True): "UTF-32LE",
    (True, True, True, False): "UTF-32BE",
    (False, True, False, True): "UTF-16LE",
    (True, False, True, False): "UTF-16BE",
}
"""Which of the first four bytes are zero, for '<' or white space in a wide encoding without a BOM."""


@dataclass
class DocumentEncoding:
    """The encoding lxml is told (`override`, None: its own detection) and the steps taken to choose it."""

    declared: str = ""
    """The encoding named in the XML declaration ('' when there is none)."""
    override: str | None = None
    warnings: list[str] = field(default_factory=list)
    utf8_bom: bool = False

    @classmethod
    def of(cls, payload: Payload) -> DocumentEncoding:
        with payload.open() as stream:
            head = stream.read(_HEAD_BYTES)
            chosen = cls.from_head(head)
            if chosen.override is None and _canonical(chosen.declared).startswith(_SINGLE_BYTE):
                chosen._check_for_utf8(head + stream.read(_SAMPLE_BYTES - len(head)))
        return chosen

    def _check_for_utf8(self, sample: bytes) -> None:
        """Under a legacy declaration, bytes that are UTF-8 (and not ASCII) are read as UTF-8."""
        if sample.isascii():
            return
        try:
            sample.decode("utf-8")
        except UnicodeDecodeError as error:
            if error.start < len(sample) - 3 or len(sample) < _SAMPLE_BYTES:  # not a character cut short
                return
        self.override = "UTF-8"
        self.warnings.append(f"declares encoding {self.declared!r} but its bytes are UTF-8: read as UTF-8")

    @classmethod
    def from_head(cls, head: bytes) -> DocumentEncoding:
        """The encoding of a document from its first bytes, before lxml reads any of it."""
        wide, has_bom = _wide_encoding(head)
        text = head.decode(wide or "latin-1", "replace")
        match = _DECLARATION.match(text.lstrip("\ufeff"))
        chosen = cls(declared=match.group(1) if match else "", utf8_bom=head.startswith(_UTF8_BOM))
        if wide is not None and ((wide.startswith("UTF-32") and has_bom) or not (has_bom or match)):
            chosen.override = wide
            if not has_bom:
                chosen.warnings.append(f"no byte order mark or encoding declaration: read as {wide}")
        elif wide is None and _canonical(chosen.declared).startswith(_WIDE):
            chosen.override = "UTF-8"
            chosen.warnings.append(
                f"declares encoding {chosen.declared!r} but is written one byte per character: read as UTF-8"
            )
        return chosen

    def fall_back(self, error: etree.XMLSyntaxError) -> bool:
        """After `error`, switch to the next encoding worth trying, with a warning; False if none is left."""
        code = _error_code(error)
        if code in _UNKNOWN_ENCODING and self.override is None:
            self.override = "UTF-8"
            self.warnings.append(f"declared encoding {self.declared!r} is unknown: read as UTF-8")
            return True
        in_force = self.override or self.declared or "UTF-8"
        following = _NEXT_SINGLE_BYTE.get(_canonical(in_force))
        if code != etree.ErrorTypes.ERR_INVALID_ENCODING or following is None or self.utf8_bom:
            return False
        if self.override is not None:
            said = f"its bytes are not {self.override} either"
        elif self.declared:
            said = f"declares encoding {self.declared!r} but its bytes are not {self.declared}"
        else:
            said = "no encoding declaration, and its bytes are not UTF-8"
        self.override = following
        self.warnings.append(f"{said} (line {error.lineno}): read as {following}")
        return True


def _wide_encoding(head: bytes) -> tuple[str | None, bool]:
    """UTF-16 or UTF-32 (with its byte order) from a BOM or the zero bytes around a first '<' or space,
    and whether there was a BOM; (None, False) for a document written one byte per character."""
    for bom, name in _BOMS.items():
        if head.startswith(bom):
            return name, True
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return ("UTF-16LE" if head[0] == 0xFF else "UTF-16BE"), True
    return _ZERO_PATTERNS.get(tuple(byte == 0 for byte in head[:4])), False


def _error_code(error: etree.XMLSyntaxError) -> int:
    """libxml2's error number (`etree.ErrorTypes`), which lxml-stubs do not declare on the exception."""
    return int(getattr(error, "code", 0))


def _canonical(name: str) -> str:
    """Python's name for an encoding ('utf-8', 'cp1252', 'utf-16-le'), '' when Python does not know it."""
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return ""
