"""What the owner declares about their own mail: their servers (address ranges) and the services they use.

A TOML file (setting `DMARC_SENDERS_FILE`; none by default):

    services = ["google-workspace", "sendgrid"]     # ids of data/services.toml: the services you use

    [[own]]
    id = "hq-relay"                                 # [a-z0-9-]
    name = "Head office relay"
    ranges = ["203.0.113.0/24", "2001:db8:1::/48"]

A declared range names a source as the owner's own only when DKIM or SPF also passed aligned for the
record: an address alone is no proof (a range can be reassigned, or written too wide). A declared service
is named as declared in a verdict's evidence.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dmarc_model.errors import ConfigurationError

__all__ = ["OwnServers", "OwnerDeclarations", "load_owner"]

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@dataclass(frozen=True)
class OwnServers:
    id: str
    name: str
    networks: tuple[IpNetwork, ...]


@dataclass(frozen=True)
class OwnerDeclarations:
    servers: tuple[OwnServers, ...] = ()
    services: frozenset[str] = frozenset()

    def own_servers(self, ip: str) -> tuple[OwnServers, IpNetwork] | None:
        """The declared servers whose range holds `ip`, and that range; None if none does."""
        if not self.servers:
            return None
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None
        for servers in self.servers:
            for network in servers.networks:
                if address.version == network.version and address in network:
                    return servers, network
        return None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> OwnerDeclarations:
        servers = []
        for entry in data.get("own", []):
            if not _ID.match(str(entry.get("id", ""))):
                raise ValueError(f"[[own]] id {entry.get('id')!r}: letters, digits and '-'")
            networks = tuple(ipaddress.ip_network(str(cidr), strict=False) for cidr in entry["ranges"])
            servers.append(OwnServers(entry["id"], str(entry.get("name", entry["id"])), networks))
        return cls(tuple(servers), frozenset(str(service) for service in data.get("services", [])))


def load_owner(path: Path | None) -> OwnerDeclarations:
    """The owner's declarations in `path`; none when there is no path."""
    if path is None:
        return OwnerDeclarations()
    try:
        return OwnerDeclarations.from_data(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigurationError(f"senders file {path}: {error}") from None
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigurationError(f"senders file {path}: {type(error).__name__}: {error}") from None
