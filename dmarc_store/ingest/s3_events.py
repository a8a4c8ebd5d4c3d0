"""SQS message bodies carrying S3 event notifications -> the object keys to ingest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import unquote_plus

from dmarc_store.layout import INCOMING_PREFIX, UPLOADS_PREFIX

INGESTED_PREFIXES = (INCOMING_PREFIX, UPLOADS_PREFIX)
SES_SETUP_NOTIFICATION = "AMAZON_SES_SETUP_NOTIFICATION"
"""The object SES writes when a receipt rule is created, to check its access: not mail."""


def object_keys(body: str) -> Iterator[str]:
    """The keys of `object_versions`."""
    for key, _ in object_versions(body):
        yield key


def object_versions(body: str) -> Iterator[tuple[str, str | None]]:
    """(key, versionId) of created objects under incoming/ or uploads/; `s3:TestEvent`, SES's set-up
    notification and other prefixes give none. The bucket is versioned: two uploads to one key before
    the queue drains are two events naming two versions, and each version is ingested.

    S3 URL-encodes keys in notifications (a space arrives as '+'), so each key is decoded.
    """
    message = json.loads(body)
    if message.get("Event") == "s3:TestEvent":
        return
    for record in message.get("Records", []):
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        created = record["s3"]["object"]
        key = unquote_plus(created["key"])
        if key.startswith(INGESTED_PREFIXES) and not key.endswith(SES_SETUP_NOTIFICATION):
            yield key, created.get("versionId") or None
