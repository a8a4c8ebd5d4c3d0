"""The kind of a blob from its first bytes; names and declared MIME types are never trusted."""

from __future__ import annotations

import re

SNIFF_BYTES = 4096
_HEADER_LINE = re.compile(rb"^(From |[!-9;-~]{1,76}:[ \t]?)")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


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
