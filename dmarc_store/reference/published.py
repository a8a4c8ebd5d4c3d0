"""The published reference data: versioned files under `reference/` and the manifest naming the current.

    reference/netblocks/<as_of>.json    a netblock snapshot (dmarc_model.senders.snapshot)
    reference/asn/<version>.bin         an ASN table compiled from `@ip-location-db/asn` <version>
    reference/current.json              {"netblocks": key, "asn": key, "asn_version": ..., "updated": ...}

A file is written before the manifest that names it, and never rewritten, so a reader sees either the
old set or the new one. The same layout serves the S3 bucket and the local store (`Objects`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from dmarc_store.backends.objects import Objects
from dmarc_store.errors import ObjectMissing, StoreError

__all__ = [
    "CURRENT_KEY",
    "Published",
    "PublishedFiles",
    "published_files",
    "read_published",
    "write_published",
]

CURRENT_KEY = "reference/current.json"
NETBLOCKS_PREFIX = "reference/netblocks/"
ASN_PREFIX = "reference/asn/"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Published:
    netblocks: str | None = None
    """The key of the current netblock snapshot."""
    netblocks_as_of: str | None = None
    asn: str | None = None
    """The key of the current ASN table."""
    asn_version: str | None = None
    updated: str = ""

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1).encode()


@dataclass(frozen=True)
class PublishedFiles:
    """Local paths of the current published files (None: not published, use the package's own)."""

    netblocks: Path | None = None
    asn_table: Path | None = None


def read_published(objects: Objects) -> Published | None:
    """The manifest, or None when nothing was published yet."""
    try:
        body = json.loads(objects.get(CURRENT_KEY))
    except ObjectMissing:
        return None
    except ValueError as error:
        log.warning("reference manifest unreadable, ignored", extra={"key": CURRENT_KEY, "error": str(error)})
        return None
    fields = {key: body[key] for key in Published.__dataclass_fields__ if isinstance(body.get(key), str)}
    for name, prefix in (("netblocks", NETBLOCKS_PREFIX), ("asn", ASN_PREFIX)):
        key = fields.get(name)
        if key is not None and (not key.startswith(prefix) or ".." in key.split("/")):
            log.warning("reference manifest names a key outside its prefix, ignored", extra={"key": key})
            fields.pop(name)
    return Published(**fields)


def write_published(objects: Objects, published: Published) -> None:
    objects.put(CURRENT_KEY, published.to_json())


def published_files(objects: Objects, cache: Path) -> PublishedFiles:
    """The current published files as local paths, copied into `cache` once per key (keys never change).

    A manifest that cannot be read, or a file it names that is gone or cannot be fetched, leaves that
    part to the package's own data, with a warning: naming senders never stops ingest."""
    try:
        published = read_published(objects)
    except StoreError as error:
        log.warning("reference manifest not read: the package's data is used", extra={"error": str(error)})
        return PublishedFiles()
    if published is None:
        return PublishedFiles()
    return PublishedFiles(_local(objects, published.netblocks, cache), _local(objects, published.asn, cache))


def _local(objects: Objects, key: str | None, cache: Path) -> Path | None:
    if key is None:
        return None
    direct = objects.path(key)
    if direct is not None:
        return direct if direct.exists() else None
    from dmarc_store.backends.local import write_atomically

    path = cache / key
    if path.exists():
        return path
    try:
        write_atomically(path, objects.get(key))
    except StoreError as error:
        log.warning(
            "reference file not read: the package's data is used", extra={"key": key, "error": str(error)}
        )
        return None
    return path
