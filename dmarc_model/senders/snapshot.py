"""A dated snapshot of the providers' netblocks, as the refresh job publishes it and the classifier reads it.

The rules (`data/services.toml`) list each service's documented SPF includes; the refresh job walks
them (`spf.walk_spf`) and writes what it found as JSON:

    {"format": 1, "as_of": "2026-12-02",
     "services": {"sendgrid": {"as_of": "2026-12-02", "source": "spf:sendgrid.net",
                               "ranges": ["149.72.0.0/16", ...]}, ...}}

A service whose walk failed keeps the ranges (and the `as_of`) of the previous snapshot: a DNS timeout
never empties a service's netblocks. `Reference.with_snapshot` adds the ranges to those the rules
document; the classifier's version then names the snapshot's day.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dmarc_model.errors import ConfigurationError
from dmarc_model.senders.reference import Netblocks, Reference
from dmarc_model.senders.spf import SpfWalk, TxtAnswer, walk_spf

__all__ = ["FORMAT", "NetblockSnapshot", "ServiceBlocks", "build_snapshot", "with_snapshot"]

FORMAT = 1
MAX_RANGES_PER_SERVICE = 5000
"""More than any provider publishes (Microsoft's outbound SPF has about 150): a bound, not a limit."""


@dataclass(frozen=True)
class ServiceBlocks:
    as_of: str
    source: str
    ranges: tuple[str, ...]


@dataclass(frozen=True)
class NetblockSnapshot:
    as_of: str
    services: Mapping[str, ServiceBlocks] = field(default_factory=dict)
    failures: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    """Per service whose walk failed this time: the names that did not answer (the old ranges kept)."""

    def to_json(self) -> bytes:
        services = {
            sid: {"as_of": b.as_of, "source": b.source, "ranges": list(b.ranges)}
            for sid, b in sorted(self.services.items())
        }
        failures = {sid: [list(pair) for pair in pairs] for sid, pairs in sorted(self.failures.items())}
        body = {"format": FORMAT, "as_of": self.as_of, "services": services, "failures": failures}
        return json.dumps(body, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes, where: str = "the netblock snapshot") -> NetblockSnapshot:
        try:
            body = json.loads(data)
            if body.get("format") != FORMAT:
                raise ValueError(f"format {body.get('format')!r}, expected {FORMAT}")
            services = {str(sid): _blocks(entry) for sid, entry in body["services"].items()}
            return cls(str(body["as_of"]), services)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ConfigurationError(f"{where}: {type(error).__name__}: {error}") from None

    @property
    def range_count(self) -> int:
        return sum(len(blocks.ranges) for blocks in self.services.values())


def build_snapshot(
    reference: Reference,
    lookup: Callable[[str], TxtAnswer],
    today: str,
    previous: NetblockSnapshot | None = None,
) -> NetblockSnapshot:
    """Walk every service's documented SPF includes; keep the previous ranges of one whose walk failed."""
    services: dict[str, ServiceBlocks] = {}
    failures: dict[str, tuple[tuple[str, str], ...]] = {}
    for service in reference.services.values():
        if not service.spf_includes:
            continue
        walk = walk_spf(service.spf_includes, lookup)
        kept = previous.services.get(service.id) if previous else None
        if walk.complete:
            services[service.id] = _found(walk, service.spf_includes, today)
        else:
            failures[service.id] = walk.failures
            if kept is not None:
                services[service.id] = kept
    return NetblockSnapshot(today, services, failures)


def with_snapshot(reference: Reference, snapshot: NetblockSnapshot) -> Reference:
    """The reference with the snapshot's ranges added to the documented ones (unknown services ignored)."""
    documented = reference.netblock_ranges
    published = [
        (cidr, sid)
        for sid, blocks in snapshot.services.items()
        if sid in reference.services
        for cidr in blocks.ranges
    ]
    as_of = max(reference.netblocks_as_of, snapshot.as_of)
    return replace(
        reference,
        netblocks=Netblocks([*documented, *published]),
        netblock_ranges=(*documented, *published),
        netblocks_as_of=as_of,
    )


def _found(walk: SpfWalk, roots: tuple[str, ...], today: str) -> ServiceBlocks:
    return ServiceBlocks(today, "spf:" + ",".join(roots), walk.ranges[:MAX_RANGES_PER_SERVICE])


def _blocks(entry: Mapping[str, Any]) -> ServiceBlocks:
    ranges = [str(ipaddress.ip_network(str(cidr), strict=False)) for cidr in entry["ranges"]]
    if len(ranges) > MAX_RANGES_PER_SERVICE:
        raise ValueError(f"{len(ranges)} ranges for one service, at most {MAX_RANGES_PER_SERVICE}")
    return ServiceBlocks(str(entry.get("as_of", "")), str(entry.get("source", "")), tuple(ranges))
