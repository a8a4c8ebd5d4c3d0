"""Email at any MIME depth: every part, forwarded `message/rfc822` mail (also when encoded), inline parts.

The human-readable body of a report mail is skipped; a failure report (RUF: ARF, or a non-ARF text
variant) comes out as `FailureReportFound` with its structured fields (`dmarc_model.ruf`), never its
original message; an SMTP TLS report (`report-type=tlsrpt`, RFC 8460 section 5.3) is walked like any
mail, its `application/tlsrpt+gzip` or `+json` attachment read by its bytes. Every part counts against
`Limits.max_mime_parts` and the nesting cap.
"""

from __future__ import annotations

import base64
import email
import email.message
import quopri
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

from dmarc_model.errors import ArchiveBomb, FailureReportFound, MalformedMime, NotAggregate, NotAReport
from dmarc_model.ruf import failure_sample
from dmarc_model.unpack import layers
from dmarc_model.unpack.caps import _Budget
from dmarc_model.unpack.payload import Found, _bytes_opener
from dmarc_model.unpack.sniff import SNIFF_BYTES, UTF8_BOM, sniff

_FEEDBACK_TAG = re.compile(rb"<([\w.-]+:)?feedback[\s>]")


def _walk_email(
    opener: Callable[[], BinaryIO], location: str, depth: int, budget: _Budget
) -> Iterator[Found]:
    with opener() as stream:
        raw = stream.read()
    budget.charge(0, location)
    try:
        message = email.message_from_bytes(_without_preamble(raw))
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


def _without_preamble(raw: bytes) -> bytes:
    """The mail from its first header: a saved mail may start with a UTF-8 BOM or blank lines."""
    return raw.removeprefix(UTF8_BOM).lstrip(b" \t\r\n")


def _walk_message(
    message: email.message.Message, location: str, depth: int, budget: _Budget, counter: list[int]
) -> Iterator[Found]:
    if depth > budget.limits.max_nesting_depth:
        yield ArchiveBomb(
            f"MIME nested deeper than {budget.limits.max_nesting_depth} levels", location=location
        )
        return
    sample = failure_sample(message, budget.limits.max_mime_parts)
    if sample is not None:
        detail = "a DMARC failure report (RUF, RFC 9991), not an aggregate report"
        yield FailureReportFound(detail, location=location, sample=sample)
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
            yield from layers._walk(_bytes_opener(encoded_mail), part_location, depth + 1, budget)
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
    kind = sniff(head)
    is_text = content_type.startswith("text/") and kind not in ("gzip", "zip")  # the bytes decide
    if not is_attachment and is_text and not _FEEDBACK_TAG.search(head):
        return  # the human-readable body of a report mail (text or HTML): not a report, nothing to keep
    if not is_attachment and kind in ("empty", "unknown"):
        return
    yield from layers._walk(_bytes_opener(body), location, depth + 1, budget)
