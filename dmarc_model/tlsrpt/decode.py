"""Bytes -> the JSON value of a TLS report, bounded at every step; and `sniff`, which tells one apart.

    step               bound                                          otherwise
    gzip (optional)    inflated to at most `max_bytes`                too-large; corrupt-archive if damaged
    the JSON text      at most `max_bytes` bytes, UTF-8 (a BOM is     too-large; malformed-json
                       allowed, RFC 8259 section 8.1)
    nesting            at most `MAX_DEPTH` arrays and objects deep    malformed-json
    object keys        each once per object (a second `report-id`     malformed-json
                       would make the identity ambiguous)
    numbers            no NaN or Infinity; integers of at most 4300   malformed-json
                       digits (Python's own cap)
    shape              `MAX_POLICIES` policies, `MAX_FAILURE_DETAILS` too-large
                       failure details in the whole report

In the pipeline the unpacking has removed gzip layers already (with its caps); the gzip step here is for
callers that hand over an `application/tlsrpt+gzip` body as it came.
"""

from __future__ import annotations

import json
import re
import zlib
from typing import Any

from dmarc_model.errors import CorruptArchive, EmptyInput, MalformedJson, TooLarge
from dmarc_model.unpack.sniff import MAX_TLS_JSON_BYTES, TLS_REPORT_KEYS

__all__ = [
    "MAX_DEPTH",
    "MAX_FAILURE_DETAILS",
    "MAX_JSON_BYTES",
    "MAX_POLICIES",
    "REQUIRED_KEYS",
    "load_report_json",
    "sniff",
]

MAX_JSON_BYTES = MAX_TLS_JSON_BYTES
"""The default cap on a report's JSON (`dmarc_model.unpack.sniff`, where unpacking reads it too)."""
MAX_DEPTH = 32
"""Arrays and objects inside each other: an RFC 8460 report needs 5."""
MAX_POLICIES = 10_000
MAX_FAILURE_DETAILS = 50_000
REQUIRED_KEYS = TLS_REPORT_KEYS
"""RFC 8460 section 4.4's top-level fields that tell a TLS report apart (`contact-info` is optional)."""

_GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.S)
_CHUNK = 64 * 1024


def sniff(data: bytes, *, max_bytes: int = MAX_JSON_BYTES) -> bool:
    """Is this (gzipped or plain) JSON an RFC 8460 report: an object with its four top-level keys?

    A JSON text that names the four keys but does not parse counts as one too, so that it is refused as
    `malformed-json` (a broken TLS report) rather than as `not-a-report`.
    """
    try:
        text = _json_bytes(data, max_bytes, "")
    except (TooLarge, CorruptArchive, EmptyInput):
        return False
    if not text.lstrip(b" \t\r\n").startswith(b"{"):
        return False
    if not all(b'"' + key.encode() + b'"' in text for key in REQUIRED_KEYS):
        return False
    try:
        value = _load(text, "")
    except MalformedJson:
        return True
    return isinstance(value, dict) and all(key in value for key in REQUIRED_KEYS)


def load_report_json(data: bytes, *, max_bytes: int, location: str) -> dict[str, Any]:
    """The top-level JSON object of a report, within every bound of the module docstring."""
    value = _load(_json_bytes(data, max_bytes, location), location)
    if not isinstance(value, dict):
        raise MalformedJson(f"a TLS report is a JSON object, not {type(value).__name__}", location=location)
    _check_shape(value, location)
    return value


def _json_bytes(data: bytes, max_bytes: int, location: str) -> bytes:
    text = _gunzip(data, max_bytes, location) if data.startswith(_GZIP_MAGIC) else data
    if len(text) > max_bytes:
        raise TooLarge(f"{len(text)} bytes of JSON, over the cap of {max_bytes}", location=location)
    text = text.removeprefix(_UTF8_BOM)
    if not text.strip(b" \t\r\n"):
        raise EmptyInput("no JSON text", location=location)
    return text


def _gunzip(data: bytes, max_bytes: int, location: str) -> bytes:
    """Every gzip member (trailing bytes tolerated), inflated to at most `max_bytes` (then: too-large)."""
    out = bytearray()
    position = 0
    while data.startswith(_GZIP_MAGIC, position):
        inflater = zlib.decompressobj(wbits=31)
        pending = b""
        try:
            while not inflater.eof:
                if not pending:
                    if position >= len(data):
                        raise CorruptArchive("truncated gzip", location=location)
                    pending = data[position : position + _CHUNK]
                    position += len(pending)
                out += inflater.decompress(pending, max_bytes + 1 - len(out))
                if len(out) > max_bytes:
                    raise TooLarge(f"inflates past the cap of {max_bytes} bytes", location=location)
                pending = inflater.unconsumed_tail
        except zlib.error as error:
            raise CorruptArchive(f"damaged gzip: {error}", location=location) from None
        position -= len(inflater.unused_data)
    return bytes(out)


def _load(text: bytes, location: str) -> Any:
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedJson(f"not UTF-8 (RFC 8259): byte {error.start}", location=location) from None
    _check_depth(decoded, location)
    try:
        value = json.loads(decoded, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except MalformedJson as error:  # a key given twice (_unique_keys)
        raise MalformedJson(str(error), location=location) from None
    except (ValueError, RecursionError) as error:
        raise MalformedJson(f"not JSON: {str(error)[:200]}", location=location) from None
    if "\\u" in decoded:  # an escaped lone surrogate ("\ud800") is JSON, but no text any column holds
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedJson("an escaped lone surrogate: not Unicode text", location=location) from None
    return value


def _check_depth(text: str, location: str) -> None:
    """Arrays and objects at most MAX_DEPTH deep, counted outside strings, before `json` recurses."""
    depth = 0
    for match in _TOKENS.finditer(text):
        found = match.group()
        if found in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise MalformedJson(f"nested over {MAX_DEPTH} levels deep", location=location)
        elif found in "]}":
            depth -= 1


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise MalformedJson(f"the key {key[:40]!r} is given twice in one object")
        found[key] = value
    return found


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_shape(value: dict[str, Any], location: str) -> None:
    policies = value.get("policies")
    if not isinstance(policies, list):
        return  # validation names the problem
    if len(policies) > MAX_POLICIES:
        raise TooLarge(f"{len(policies)} policies, over the cap of {MAX_POLICIES}", location=location)
    details = sum(
        len(entry["failure-details"])
        for entry in policies
        if isinstance(entry, dict) and isinstance(entry.get("failure-details"), list)
    )
    if details > MAX_FAILURE_DETAILS:
        raise TooLarge(f"{details} failure details, over the cap of {MAX_FAILURE_DETAILS}", location=location)
