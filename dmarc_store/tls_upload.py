"""The HTTPS reporting endpoint of RFC 8460 section 3: a TLS report POSTed, its bytes landed in uploads/.

    POST, Content-Type application/tlsrpt+gzip or application/tlsrpt+json, at most DMARC_TLS_UPLOAD_MAX_BYTES
      -> uploads/tlsrpt/<UTC day>/<SHA-256 of the body>.json.gz (or .json), written once (If-None-Match)
      -> the bucket's notification, the ingest queue and the ingest function, as for any upload

Nothing is parsed here: the ingest does that, with its caps, its quarantine and its claims. The checks
are the cheap ones, in the order of their cost, each answered as RFC 8460 and HTTP expect:

    not POST                                        405  Allow: POST
    another Content-Type                            415
    Content-Length, or the body, past the cap       413  before the body is decoded or kept
    no body, bad base64, neither gzip nor a JSON    400  (the first bytes of a gzip body are inflated
    object                                               to look: no more)
    stored                                          201
    the same bytes stored already (that day)        200  one object: the key is the content's hash
    S3 throttled, down, or the same key being       503  Retry-After: the sender tries again later
    written at that moment

The key's suffix follows the bytes (gzip or not), not the declared type: a report labelled +json but
sent gzipped is kept, as the ingest reads either. S3 refusing the write (access denied, no bucket) is a
deployment fault: it is raised, for the function's Errors metric and the log, not answered.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from botocore.exceptions import ClientError

from dmarc_model.errors import ConfigurationError
from dmarc_store.aws_clients import AwsClients, translating
from dmarc_store.errors import PermanentStoreError, TransientStoreError
from dmarc_store.settings import Settings

__all__ = [
    "GZIP_TYPE",
    "JSON_TYPE",
    "TLS_UPLOADS_PREFIX",
    "Answer",
    "S3Landing",
    "Upload",
    "receive",
    "report_key",
    "s3_landing",
]

GZIP_TYPE = "application/tlsrpt+gzip"
JSON_TYPE = "application/tlsrpt+json"
MEDIA_TYPES = (GZIP_TYPE, JSON_TYPE)
TLS_UPLOADS_PREFIX = "uploads/tlsrpt/"
"""Under dmarc_store.layout.UPLOADS_PREFIX, which the bucket notifies the ingest queue of. Not imported
from there: layout needs pyarrow, which this function's package (no pandas layer) does not have."""
GZIP_MAGIC = b"\x1f\x8b"
PEEK_BYTES = 1024
"""How much of a gzip body is inflated to see that a JSON object begins: never the whole report."""
WHITESPACE = b" \t\r\n"
UTF8_BOM = b"\xef\xbb\xbf"
RETRY_AFTER_SECONDS = 60
ALREADY_THERE = "PreconditionFailed"
"""S3's answer to If-None-Match: * when the key exists (HTTP 412)."""
BEING_WRITTEN = "ConditionalRequestConflict"
"""S3's answer when another conditional write of the key is in flight (HTTP 409)."""


@dataclass(frozen=True)
class Upload:
    """The request as a Lambda function URL delivers it (payload format 2.0)."""

    method: str
    headers: Mapping[str, str]
    """Header names lower-case, as function URLs give them."""
    body: str | None
    base64: bool


@dataclass(frozen=True)
class Answer:
    """The HTTP answer, and what the log line says of it."""

    status: int
    reason: str
    key: str | None = None
    size: int | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> dict[str, Any]:
        """The function URL response: JSON, with the report's hash when it was stored."""
        body: dict[str, Any] = {"status": self.status, "message": self.reason}
        if self.key:
            body["sha256"] = self.key.rsplit("/", 1)[1].split(".", 1)[0]
        headers = {"content-type": "application/json", **self.headers}
        return {"statusCode": self.status, "headers": headers, "body": json.dumps(body)}

    def log_fields(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, "key": self.key, "bytes": self.size}


class S3Landing:
    """Writes each report once under its key, through the door (`s3` wrapped unless it is already)."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = translating(s3, "s3")
        self.bucket = bucket

    def put(self, key: str, data: bytes, content_type: str) -> bool:
        """True when written now, False when the key holds it already. Encrypted as the bucket's default
        says (SSE-S3): no encryption header, so a change of the bucket's default applies here too."""
        try:
            self.s3.put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, IfNoneMatch="*"
            )
        except PermanentStoreError as error:
            code = _s3_code(error)
            if code == ALREADY_THERE:
                return False
            if code == BEING_WRITTEN:
                raise TransientStoreError(str(error)) from error
            raise
        return True


def _s3_code(error: PermanentStoreError) -> str:
    """The S3 error code behind a translated error (the door maps 412 and 409 to PermanentStoreError)."""
    cause = error.__cause__
    return str(cause.response.get("Error", {}).get("Code", "")) if isinstance(cause, ClientError) else ""


def s3_landing(settings: Settings, clients: AwsClients | None = None) -> S3Landing:
    """The landing in DMARC_BUCKET; ConfigurationError without it."""
    if not settings.bucket:
        raise ConfigurationError("the TLS report endpoint needs DMARC_BUCKET to be set")
    return S3Landing((clients or AwsClients()).client("s3"), settings.bucket)


def report_key(data: bytes, day: date) -> str:
    """uploads/tlsrpt/<day>/<sha256>.json.gz, or .json for a body that is not gzip."""
    suffix = ".json.gz" if data.startswith(GZIP_MAGIC) else ".json"
    return f"{TLS_UPLOADS_PREFIX}{day.isoformat()}/{hashlib.sha256(data).hexdigest()}{suffix}"


def receive(upload: Upload, landing: S3Landing, max_bytes: int, day: date) -> Answer:
    """One POST: checked, then landed under its content's key (see the module's table)."""
    refused = _refused_request(upload, max_bytes)
    if refused is not None:
        return refused
    data = _body(upload, max_bytes)
    if isinstance(data, Answer):
        return data
    if not _looks_like_a_report(data):
        return Answer(400, "the body is neither gzip nor a JSON object", size=len(data))
    key = report_key(data, day)
    stored_type = GZIP_TYPE if data.startswith(GZIP_MAGIC) else JSON_TYPE
    try:
        created = landing.put(key, data, stored_type)
    except TransientStoreError:
        retry = {"retry-after": str(RETRY_AFTER_SECONDS)}
        return Answer(503, "storage unavailable: try again later", key, len(data), retry)
    if created:
        return Answer(201, "stored", key, len(data))
    return Answer(200, "stored already", key, len(data))


def _refused_request(upload: Upload, max_bytes: int) -> Answer | None:
    """405, 415 or 413 from the request line and headers alone."""
    if upload.method.upper() != "POST":
        return Answer(405, "only POST is accepted", headers={"allow": "POST"})
    media_type = upload.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type not in MEDIA_TYPES:
        accepted = ", ".join(MEDIA_TYPES)
        return Answer(
            415, f"Content-Type must be {GZIP_TYPE} or {JSON_TYPE}", headers={"accept-post": accepted}
        )
    claimed = upload.headers.get("content-length", "").strip()
    if claimed and not claimed.isdigit():
        return Answer(400, "Content-Length is not a number")
    if claimed and int(claimed) > max_bytes:
        return _too_large(max_bytes)
    return None


def _too_large(max_bytes: int) -> Answer:
    return Answer(413, f"a report is at most {max_bytes} bytes")


def _body(upload: Upload, max_bytes: int) -> bytes | Answer:
    """The body's bytes, its size checked before it is decoded (base64 gives 3 bytes per 4 characters)."""
    text = upload.body or ""
    if not text:
        return Answer(400, "no body")
    if not upload.base64:
        if len(text) > max_bytes:  # each character is a byte at least
            return _too_large(max_bytes)
        data = text.encode("utf-8")
    else:
        if (len(text) + 3) // 4 * 3 > max_bytes + 2:  # less its padding (2 bytes at most)
            return _too_large(max_bytes)
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return Answer(400, "the body is not valid base64")
    if len(data) > max_bytes:
        return _too_large(max_bytes)
    return data


def _looks_like_a_report(data: bytes) -> bool:
    """A JSON object begins: in the bytes themselves, or in the first inflated bytes of a gzip body."""
    if data.startswith(GZIP_MAGIC):
        try:
            data = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS).decompress(data, PEEK_BYTES)
        except zlib.error:
            return False
    return data.removeprefix(UTF8_BOM).lstrip(WHITESPACE).startswith(b"{")
