"""One refresh of the reference data: netblocks walked from the services' SPF, the newest ASN table.

    result = refresh_reference(objects, reference, lookup=DnsTxt(), fetch=HttpFetch(), now=now)

The netblock snapshot is written under the day's key when its ranges differ from the current one's;
a service whose SPF walk failed keeps its previous ranges. The ASN table is compiled only when the
registry names a version other than the published one (a failure there keeps the published table).
The manifest `reference/current.json` is written last, naming both.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from dmarc_model.errors import ConfigurationError
from dmarc_model.senders.reference import Reference
from dmarc_model.senders.snapshot import NetblockSnapshot, build_snapshot
from dmarc_model.senders.spf import TxtAnswer
from dmarc_store.backends.objects import Objects
from dmarc_store.errors import ObjectMissing, ReferenceSourceError
from dmarc_store.reference.published import (
    ASN_PREFIX,
    NETBLOCKS_PREFIX,
    Published,
    read_published,
    write_published,
)
from dmarc_store.reference.sources import Fetch, asn_table_from_tarball, latest_asn_release

__all__ = ["RefreshResult", "refresh_reference"]

log = logging.getLogger(__name__)


@dataclass
class RefreshResult:
    published: Published
    netblocks_changed: bool = False
    services: int = 0
    ranges: int = 0
    failures: dict[str, list[list[str]]] = field(default_factory=dict)
    """Per service whose SPF walk failed: the names and statuses (its previous ranges were kept)."""
    asn_changed: bool = False
    asn_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "manifest": self.published.__dict__,
            "netblocks_changed": self.netblocks_changed,
            "services": self.services,
            "ranges": self.ranges,
            "failures": self.failures,
            "asn_changed": self.asn_changed,
            "asn_error": self.asn_error,
        }


def refresh_reference(
    objects: Objects,
    reference: Reference,
    *,
    lookup: Callable[[str], TxtAnswer],
    fetch: Fetch | None,
    now: datetime,
) -> RefreshResult:
    """Refresh both parts (`fetch` None: the netblocks only) and publish what changed."""
    today = now.date().isoformat()
    current = read_published(objects) or Published()
    previous = _current_snapshot(objects, current)
    snapshot = build_snapshot(reference, lookup, today, previous)
    result = RefreshResult(current, services=len(snapshot.services), ranges=snapshot.range_count)
    result.failures = {sid: [list(pair) for pair in pairs] for sid, pairs in snapshot.failures.items()}
    published = _publish_netblocks(objects, current, previous, snapshot, result)
    if fetch is not None:
        published = _publish_asn(objects, published, fetch, today, result)
    if published != current:
        published = replace(published, updated=now.isoformat())
        write_published(objects, published)
    result.published = published
    return result


def _current_snapshot(objects: Objects, current: Published) -> NetblockSnapshot | None:
    if current.netblocks is None:
        return None
    try:
        return NetblockSnapshot.from_json(objects.get(current.netblocks), current.netblocks)
    except (ObjectMissing, ConfigurationError) as error:
        log.warning("current netblock snapshot unreadable: walked afresh", extra={"error": str(error)})
        return None


def _publish_netblocks(
    objects: Objects,
    current: Published,
    previous: NetblockSnapshot | None,
    snapshot: NetblockSnapshot,
    result: RefreshResult,
) -> Published:
    if previous is not None and _ranges(previous) == _ranges(snapshot):
        return current
    key = f"{NETBLOCKS_PREFIX}{snapshot.as_of}.json"
    objects.put(key, snapshot.to_json())
    result.netblocks_changed = True
    return replace(current, netblocks=key, netblocks_as_of=snapshot.as_of)


def _publish_asn(
    objects: Objects, current: Published, fetch: Fetch, today: str, result: RefreshResult
) -> Published:
    try:
        release = latest_asn_release(fetch)
        if release.version == current.asn_version:
            return current
        compiled = asn_table_from_tarball(release, fetch, today)
    except ReferenceSourceError as error:
        log.warning("ASN table not refreshed: the published one stays", extra={"error": str(error)})
        result.asn_error = str(error)
        return current
    key = f"{ASN_PREFIX}{release.version}.bin"
    objects.put(key, compiled.data)
    result.asn_changed = True
    return replace(current, asn=key, asn_version=release.version)


def _ranges(snapshot: NetblockSnapshot) -> dict[str, tuple[str, ...]]:
    return {sid: blocks.ranges for sid, blocks in snapshot.services.items()}
