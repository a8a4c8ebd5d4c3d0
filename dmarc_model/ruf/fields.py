"""What is read from a failure report mail: its structured fields, and the three values that are only
ever hashed (the original recipient, From and Subject). Pure: a parsed `email.message.Message` in.

Two shapes are recognised:

- ARF (RFC 5965, RFC 6591; RFC 9991 for DMARC): `multipart/report; report-type=feedback-report`, or
  any multipart with a `message/feedback-report` part; the original message, or its headers, in a
  `message/rfc822` or `text/rfc822-headers` part.
- The non-ARF text variants some MTAs send: a multipart mail whose `text/plain` part says it is a
  failure (forensic) report in `Label: value` lines, with the original message or headers attached.

Only the fields named in `_FIELDS` are kept, each trimmed, without control characters and capped; the
name of any other field is kept (`other_fields`), never its value (RFC 6591's DKIM-Canonicalized-Header
and -Body carry the original message). Address local parts in Authentication-Results are dropped
(`smtp.mailfrom=alice@example.com` becomes `smtp.mailfrom=@example.com`). The body of the original
message is never read.
"""

from __future__ import annotations

import email.message
import email.parser
import email.policy
import email.utils
import ipaddress
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import decode_header, make_header

__all__ = ["FailureSample", "failure_sample"]

_FIELDS = {
    "feedback-type": "feedback_type",
    "auth-failure": "auth_failure",
    "identity-alignment": "identity_alignment",
    "reported-domain": "reported_domain",
    "source-ip": "source_ip",
    "arrival-date": "arrival_date",
    "delivery-result": "delivery_result",
    "dkim-domain": "dkim_domain",
    "dkim-selector": "dkim_selector",
    "spf-dns": "spf_dns",
    "authentication-results": "authentication_results",
    "reporting-mta": "reporting_mta",
    "user-agent": "user_agent",
    "version": "version",
}
"""ARF field (lower case) -> the name it is kept under."""
_IDENTITIES = ("original-rcpt-to", "original-mail-from")
"""Fields whose values are personal data: read for hashing, never kept."""
_TEXT_LABELS = {
    **_FIELDS,
    "sender ip address": "source_ip",
    "source ip address": "source_ip",
    "source ip": "source_ip",
    "reported domain": "reported_domain",
    "sender domain": "reported_domain",
    "received date": "arrival_date",
    "arrival date": "arrival_date",
    "delivery result": "delivery_result",
    "auth failure": "auth_failure",
    "dkim domain": "dkim_domain",
    "dkim selector": "dkim_selector",
}
"""Labels of the non-ARF text variants (lower case) -> the field they give."""
_TEXT_SAYS = re.compile(r"(?i)\b(failure|forensic|auth-failure)\b")
_LABEL_LINE = re.compile(r"^[ \t]*([A-Za-z][A-Za-z -]{1,40}?)[ \t]*:[ \t]*(.*?)[ \t]*$", re.MULTILINE)
_FIELD_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_LOCAL_PART = re.compile(r"[^\s;=@()\"<>,]+@")
_ORIGINAL_TYPES = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")
MAX_VALUE_CHARS = 1000
MAX_OTHER_FIELDS = 32
MAX_TEXT_CHARS = 64 * 1024
"""Of the non-ARF text part, only this much is read for labels."""


@dataclass(frozen=True)
class FailureSample:
    """One failure report as read: the structured fields, and the values kept only as hashes."""

    fields: dict[str, str]
    """Kept fields by name (`_FIELDS` values), as written, cleaned and capped."""
    other_fields: tuple[str, ...]
    """Names of other fields of the report: names only, never values."""
    arf: bool
    """True for an ARF report, False for a non-ARF text variant."""
    recipient: str | None = field(default=None, repr=False)
    mail_from: str | None = field(default=None, repr=False)
    subject: str | None = field(default=None, repr=False)

    def arrival(self, fallback: datetime) -> datetime:
        """The Arrival-Date as UTC, or `fallback` when it is missing or unreadable."""
        text = self.fields.get("arrival_date")
        parsed = _date(text) if text else None
        return parsed or fallback

    def source_ip(self) -> str | None:
        """The Source-IP in canonical form (IPv6 per RFC 5952), or None if it is not an address."""
        text = (self.fields.get("source_ip") or "").strip("[] ")
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            return None


def failure_sample(message: email.message.Message, max_parts: int) -> FailureSample | None:
    """The failure report this message is, or None when it is not one."""
    if message.get_content_type() == "message/feedback-report":
        return _arf(message, None)  # the fields alone, without the original message
    if not message.is_multipart():
        return None
    children = _children(message, max_parts)
    report_type = str(message.get_param("report-type") or "").lower()
    feedback = [part for part in children if part.get_content_type() == "message/feedback-report"]
    original = next((part for part in children if part.get_content_type() in _ORIGINAL_TYPES), None)
    if report_type == "feedback-report" or feedback:
        return _arf(feedback[0] if feedback else None, original)
    if original is None or report_type:
        return None
    text = next((part for part in children if part.get_content_type() == "text/plain"), None)
    return _text_variant(message, text, original)


def _children(message: email.message.Message, max_parts: int) -> list[email.message.Message]:
    payload = message.get_payload()
    if not isinstance(payload, list):
        return []
    return [part for part in payload[:max_parts] if isinstance(part, email.message.Message)]


def _arf(feedback: email.message.Message | None, original: email.message.Message | None) -> FailureSample:
    report = _headers_of(_part_text(feedback)) if feedback is not None else email.message.Message()
    fields: dict[str, str] = {}
    others: list[str] = []
    for name, value in report.items():
        key = name.strip().lower()
        if key in _FIELDS:
            fields.setdefault(_FIELDS[key], _clean(str(value)))
        elif key not in _IDENTITIES and _FIELD_NAME.match(name) and len(others) < MAX_OTHER_FIELDS:
            others.append(name.strip())
    headers = _original_headers(original)
    if "authentication_results" not in fields and headers.get("Authentication-Results"):
        fields["authentication_results"] = _clean(str(headers["Authentication-Results"]))
    return _sample(fields, tuple(dict.fromkeys(others)), True, report, headers)


def _text_variant(
    message: email.message.Message, text: email.message.Message | None, original: email.message.Message
) -> FailureSample | None:
    body = _part_text(text)[:MAX_TEXT_CHARS] if text is not None else ""
    fields: dict[str, str] = {}
    for found in _LABEL_LINE.finditer(body):
        label = found.group(1).strip().lower()
        if label in _TEXT_LABELS and found.group(2):
            fields.setdefault(_TEXT_LABELS[label], _clean(found.group(2)))
    says = _TEXT_SAYS.search(body) or _TEXT_SAYS.search(str(message.get("Subject", "")))
    if not says or not ({"source_ip", "reported_domain", "feedback_type"} & fields.keys()):
        return None
    headers = _original_headers(original)
    if "authentication_results" not in fields and headers.get("Authentication-Results"):
        fields["authentication_results"] = _clean(str(headers["Authentication-Results"]))
    return _sample(fields, (), False, email.message.Message(), headers)


def _sample(
    fields: dict[str, str],
    others: tuple[str, ...],
    arf: bool,
    report: email.message.Message,
    headers: email.message.Message,
) -> FailureSample:
    if "authentication_results" in fields:
        fields["authentication_results"] = _LOCAL_PART.sub("@", fields["authentication_results"])
    if "reported_domain" in fields:
        fields["reported_domain"] = fields["reported_domain"].lower().rstrip(".")
    recipient = _address(report.get("Original-Rcpt-To")) or _address(headers.get("To"))
    mail_from = _address(headers.get("From")) or _address(report.get("Original-Mail-From"))
    subject = headers.get("Subject")
    return FailureSample(
        fields={name: value for name, value in fields.items() if value},
        other_fields=others,
        arf=arf,
        recipient=recipient,
        mail_from=mail_from,
        subject=_decoded(subject) if subject is not None else None,
    )


def _part_text(part: email.message.Message) -> str:
    """A text part's content, transfer encoding undone, as text (undecodable bytes replaced)."""
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    inner = part.get_payload()
    if isinstance(inner, list) and inner and isinstance(inner[0], email.message.Message):
        return str(inner[0])  # a message/feedback-report the parser read as a message: its fields
    return str(inner or "")


def _original_headers(original: email.message.Message | None) -> email.message.Message:
    """The headers of the original message (never its body)."""
    if original is None:
        return email.message.Message()
    inner = original.get_payload()
    if isinstance(inner, list) and inner and isinstance(inner[0], email.message.Message):
        return inner[0]
    return _headers_of(_part_text(original))


def _headers_of(text: str) -> email.message.Message:
    return email.parser.HeaderParser().parsestr(text.lstrip("\r\n"), headersonly=True)


def _clean(value: str) -> str:
    return _CONTROL.sub(" ", _decoded(value)).strip()[:MAX_VALUE_CHARS]


def _decoded(value: object) -> str:
    """A header's text, RFC 2047 words decoded, folding whitespace collapsed."""
    try:
        text = str(make_header(decode_header(str(value))))
    except (ValueError, LookupError, UnicodeError):
        text = str(value)
    return " ".join(text.split())


def _address(value: object) -> str | None:
    """The first address of a header or field (`rfc822; a@b` too), lower-cased, or None."""
    if value is None:
        return None
    text = _decoded(value)
    text = text.split(";", 1)[1] if text.lower().startswith(("rfc822;", "rfc822 ;")) else text
    found = [address for _, address in email.utils.getaddresses([text]) if "@" in address]
    return found[0].strip().lower() if found else (text.strip().lower() or None)


def _date(text: str) -> datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
