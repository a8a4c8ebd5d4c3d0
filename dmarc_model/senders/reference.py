"""The reference data the classifier reads: services, network platforms and provider netblocks.

`data/services.toml` is written by this project from each vendor's public setup documentation (the
pages are in its `docs` keys and in `data/SOURCES.md`), under the project's licence. It holds:

    [[service]]    a service that sends as the owner's domain: its own DKIM signing domains, the DKIM
                   selectors it has customers publish, its envelope (SPF) domains, the SPF include it
                   documents, the reverse-DNS suffixes and ASNs of its senders, its setup page and the
                   one-sentence fix for mail of it that fails DMARC
    [[platform]]   a network owner (by ASN), which may only ever name a platform, never a service, and
                   whether it is a mailbox provider (its users forward mail)
    [[netblocks]]  a dated snapshot of the address ranges a service publishes (its SPF record)

Domains match by label suffix (`amazonses.com` matches `us-east-1.amazonses.com`, never
`notamazonses.com`), selectors by a fully anchored, case-insensitive pattern.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dmarc_model.errors import ConfigurationError
from dmarc_model.senders.addresses import address_number

__all__ = [
    "KINDS",
    "PACKAGE_RULES",
    "Netblocks",
    "Platform",
    "Reference",
    "Service",
    "SuffixIndex",
    "load_reference",
]

PACKAGE_RULES = Path(__file__).resolve().parent / "data" / "services.toml"
KINDS = ("mailbox-platform", "esp", "saas", "forwarder")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_LIST_KEYS = ("dkim_domains", "selectors", "spf_domains", "spf_includes", "rdns", "asns", "docs")


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    kind: str
    dkim_domains: tuple[str, ...] = ()
    selectors: tuple[str, ...] = ()
    spf_domains: tuple[str, ...] = ()
    spf_includes: tuple[str, ...] = ()
    rdns: tuple[str, ...] = ()
    asns: frozenset[int] = frozenset()
    setup_url: str = ""
    fix: str = ""
    selector_pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def selector_matches(self, selector: str) -> bool:
        return self.selector_pattern is not None and self.selector_pattern.fullmatch(selector) is not None


@dataclass(frozen=True)
class Platform:
    id: str
    name: str
    asns: frozenset[int]
    mailbox_provider: bool


class SuffixIndex:
    """Domain -> the value of its longest listed label suffix (`a.b.example.com` tries itself, then
    `b.example.com`, then `example.com`, then `com`)."""

    def __init__(self, entries: Iterable[tuple[str, str]]) -> None:
        self._by_suffix: dict[str, str] = {}
        for suffix, value in entries:
            self._by_suffix.setdefault(suffix.lower().strip(".").removeprefix("*."), value)

    def find(self, domain: str | None) -> str | None:
        if not domain:
            return None
        name = domain.lower().rstrip(".")
        while True:
            found = self._by_suffix.get(name)
            if found is not None:
                return found
            dot = name.find(".")
            if dot < 0:
                return None
            name = name[dot + 1 :]


class Netblocks:
    """Address ranges -> the services that publish them, by prefix length (a handful of lookups per IP)."""

    def __init__(self, ranges: Iterable[tuple[str, str]]) -> None:
        self._by_length: dict[tuple[int, int], dict[int, list[str]]] = {}
        for cidr, service in ranges:
            network = ipaddress.ip_network(cidr, strict=False)
            key = (network.version, network.prefixlen)
            self._by_length.setdefault(key, {}).setdefault(int(network.network_address), []).append(service)
        self._lengths = sorted(self._by_length, key=lambda key: -key[1])

    def services(self, ip: str) -> list[str]:
        """The services whose ranges hold `ip` (most specific first); [] for none or for text that is no
        address."""
        found = address_number(ip) if self._lengths else None
        if found is None:
            return []
        version, number = found
        bits = 32 if version == 4 else 128
        services: list[str] = []
        for family, length in self._lengths:
            if family == version:
                mask = ((1 << length) - 1) << (bits - length)
                services += self._by_length[(family, length)].get(number & mask, [])
        return services

    def __len__(self) -> int:
        return sum(len(networks) for networks in self._by_length.values())


@dataclass(frozen=True)
class Reference:
    """Services, platforms and netblocks, with the indexes the classifier asks."""

    version: str
    services: Mapping[str, Service]
    platforms: Mapping[str, Platform]
    netblocks: Netblocks
    netblocks_as_of: str
    dkim_domains: SuffixIndex
    spf_domains: SuffixIndex
    rdns: SuffixIndex
    platform_by_asn: Mapping[int, Platform]
    known_asns: frozenset[int]
    """Every ASN a service or a platform lists."""
    netblock_ranges: tuple[tuple[str, str], ...] = ()
    """(range, service) of every netblock, as `netblocks` indexes them (a snapshot adds to them)."""

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Reference:
        services = {service.id: service for service in map(_service, data.get("service", []))}
        platforms = {platform.id: platform for platform in map(_platform, data.get("platform", []))}
        blocks = [_netblocks(entry, services) for entry in data.get("netblocks", [])]
        ranges = tuple((cidr, service) for service, _, cidrs in blocks for cidr in cidrs)

        def pairs(key: str) -> Iterator[tuple[str, str]]:
            return ((value, s.id) for s in services.values() for value in getattr(s, key))

        return cls(
            version=str(data.get("version", "")),
            services=services,
            platforms=platforms,
            netblocks=Netblocks(ranges),
            netblocks_as_of=max((as_of for _, as_of, _ in blocks), default=""),
            dkim_domains=SuffixIndex(pairs("dkim_domains")),
            spf_domains=SuffixIndex(pairs("spf_domains")),
            rdns=SuffixIndex(pairs("rdns")),
            platform_by_asn={asn: p for p in platforms.values() for asn in sorted(p.asns)},
            known_asns=frozenset().union(
                *(p.asns for p in platforms.values()), *(s.asns for s in services.values())
            ),
            netblock_ranges=ranges,
        )


def load_reference(path: Path = PACKAGE_RULES) -> Reference:
    """The reference data of a TOML file (the package's own by default)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigurationError(f"sender rules {path}: {error}") from None
    try:
        return Reference.from_data(data)
    except (KeyError, TypeError, ValueError, re.error) as error:
        raise ConfigurationError(f"sender rules {path}: {type(error).__name__}: {error}") from None


def _service(entry: Mapping[str, Any]) -> Service:
    lists = {key: tuple(entry.get(key, ())) for key in _LIST_KEYS}
    if not _ID.match(entry["id"]) or entry.get("kind") not in KINDS:
        raise ValueError(f"service {entry['id']!r}: an id of [a-z0-9-] and a kind of {KINDS}")
    selectors = tuple(str(pattern) for pattern in lists["selectors"])
    pattern = re.compile("|".join(f"(?:{s})" for s in selectors), re.IGNORECASE) if selectors else None
    return Service(
        id=entry["id"],
        name=str(entry["name"]),
        kind=entry["kind"],
        dkim_domains=_domains(lists["dkim_domains"]),
        selectors=selectors,
        spf_domains=_domains(lists["spf_domains"]),
        spf_includes=_domains(lists["spf_includes"]),
        rdns=_domains(lists["rdns"]),
        asns=frozenset(int(asn) for asn in lists["asns"]),
        setup_url=str(entry.get("setup_url", "")),
        fix=str(entry.get("fix", "")),
        selector_pattern=pattern,
    )


def _platform(entry: Mapping[str, Any]) -> Platform:
    if not _ID.match(entry["id"]):
        raise ValueError(f"platform {entry['id']!r}: an id of [a-z0-9-]")
    asns = frozenset(int(asn) for asn in entry.get("asns", ()))
    return Platform(entry["id"], str(entry["name"]), asns, bool(entry.get("mailbox_provider", False)))


def _netblocks(entry: Mapping[str, Any], services: Mapping[str, Service]) -> tuple[str, str, list[str]]:
    service = entry["service"]
    if service not in services:
        raise ValueError(f"netblocks of an unknown service {service!r}")
    ranges = [str(ipaddress.ip_network(cidr, strict=False)) for cidr in entry.get("ranges", ())]
    return service, str(entry.get("as_of", "")), ranges


def _domains(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(value.lower().strip().strip(".").removeprefix("*.") for value in values)
