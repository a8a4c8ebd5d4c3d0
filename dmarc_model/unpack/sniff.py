"""The kind of a blob from its first bytes; names and declared MIME types are never trusted."""

from __future__ import annotations

import re

from dmarc_model.limits import MIB

SNIFF_BYTES = 4096
TLS_REPORT_KEYS = ("organization-name", "date-range", "report-id", "policies")
"""RFC 8460 section 4.4's top-level fields that tell an SMTP TLS report apart (`contact-info` is optional).
Declared here, not in `dmarc_model.tlsrpt`, so that unpacking needs neither pyarrow nor the TLS models."""
MAX_TLS_JSON_BYTES = 16 * MIB
"""The cap on one TLS report's JSON: some 50,000 failure details of about 300 bytes each."""
_HEADER_LINE = re.compile(rb"^(From |[!-9;-~]{1,76}:[ \t]?)")
UTF8_BOM = b"\xef\xbb\xbf"
_BOMS = (UTF8_BOM, b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


def sniff(head: bytes) -> str:
    """The kind of a blob from its first bytes: gzip, zip, xml, email, json, empty or unknown."""
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "zip"
    text = head
    if text.startswith(UTF8_BOM) and _starts_with_a_header(text[len(UTF8_BOM) :]):
        return "email"  # a mail saved by a Windows tool: a UTF-8 BOM before its first header
    if text.startswith(UTF8_BOM) and text[len(UTF8_BOM) :].lstrip(b" \t\r\n").startswith(b"{"):
        return "json"  # a JSON text may start with a BOM (RFC 8259 section 8.1): a TLS report
    for bom in _BOMS:
        if text.startswith(bom):
            return "xml"
    text = text.lstrip(b" \t\r\n")
    if not text:
        return "empty"
    if text.startswith((b"<", b"\x00<", b"\x00\x00\x00<")):  # UTF-8 and the like, UTF-16BE, UTF-32BE
        return "xml"
    if text.startswith((b"{", b"[")):
        return "json"
    if _HEADER_LINE.match(text):
        return "email"
    return "unknown"


def _starts_with_a_header(text: bytes) -> bool:
    """A mail header line, not XML (`<d:feedback` would pass the header pattern)."""
    return not text.startswith(b"<") and _HEADER_LINE.match(text) is not None
