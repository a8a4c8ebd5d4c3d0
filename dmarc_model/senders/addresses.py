"""An address as a number, fast: the classifier asks it of every record (`ipaddress` takes ten times as
long, and a report of random addresses asks it a million times)."""

from __future__ import annotations

import socket

__all__ = ["address_number"]

_MAPPED = 0xFFFF
_V4_MASK = 0xFFFF_FFFF


def address_number(text: object) -> tuple[int, int] | None:
    """(4 or 6, the address as an integer) for an IPv4 or IPv6 address; an IPv4-mapped IPv6 address
    (`::ffff:1.2.3.4`) as the IPv4 address; an IPv6 zone (`fe80::1%eth0`) left out. None for anything
    else: a name, a network (`1.2.3.0/24`), surrounding spaces, leading zeros, a non-string."""
    if not isinstance(text, str):
        return None
    address, percent, zone = text.partition("%")
    if percent and (not zone or "%" in zone):  # as `ipaddress`: a zone, if any, is not empty
        return None
    try:
        if ":" in address:
            number = int.from_bytes(socket.inet_pton(socket.AF_INET6, address), "big")
            return (4, number & _V4_MASK) if number >> 32 == _MAPPED else (6, number)
        if percent:
            return None
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, address), "big")
    except (OSError, ValueError):
        return None
