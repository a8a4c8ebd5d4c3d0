"""Which network (autonomous system) announces an IP address: an offline table, compiled at build time.

The data is `@ip-location-db/asn` (RouteViews, DB-IP and NRO data, CC BY 4.0; see NOTICE), compiled
by `scripts/build_asn_table.py` (`make asn`) into `dmarc_model/senders/data/asn.bin`, whose format is
in `asn_format`. Load it once per process and ask it many times:

    table = AsnTable.load(default_table_path(environment))   # environment: the process's variables
    table.lookup("8.8.8.8")                                   # Network(asn=15169, org='Google LLC')

What `lookup` answers, for any text, without raising:

- an IPv4 or IPv6 address: the network of the range holding it, or None for an address in no range;
- an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`): answered from the IPv4 ranges, as `1.2.3.4`;
- an IPv6 address with a zone (`fe80::1%eth0`): the zone names an interface of the host that saw the
  address, not a part of it, so the address is looked up without it;
- anything else (a name, a CIDR `1.2.3.0/24`, surrounding spaces, a non-string): None.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dmarc_model.errors import AsnTableError
from dmarc_model.senders.addresses import address_number
from dmarc_model.senders.asn_format import LOW64, Meta, Sections, decode, encode
from dmarc_model.senders.asn_ranges import Span, normalize

ENV_VAR = "DMARC_ASN_TABLE"
PACKAGE_TABLE = Path(__file__).resolve().parent / "data" / "asn.bin"


def default_table_path(environment: Mapping[str, str]) -> Path:
    """`$DMARC_ASN_TABLE` if set and not empty, else the table built into the package.

    The core reads no environment itself: the caller passes its variables (the mapping of the process).
    """
    override = environment.get(ENV_VAR, "")
    return Path(override) if override else PACKAGE_TABLE


@dataclass(frozen=True)
class Network:
    """An autonomous system: its number and the organisation holding it."""

    asn: int
    org: str


def _span(row: tuple[str, str, int, str]) -> tuple[int, Span]:
    start_text, end_text, asn, org = row
    try:
        start, end = ipaddress.ip_address(start_text), ipaddress.ip_address(end_text)
    except ValueError as error:
        raise AsnTableError(f"bad range {start_text}-{end_text}: {error}") from None
    if start.version != end.version:
        raise AsnTableError(f"bad range {start_text}-{end_text}: it mixes IPv4 and IPv6")
    return start.version, Span(int(start), int(end), asn, org)


class AsnTable:
    """Sorted, disjoint address ranges of both families, each with its ASN and organisation.

    A lookup is a bisection of flat arrays; the `Network` it returns is made once per network and
    then shared (it is frozen), so the memory it takes grows with the networks seen, at most the
    table's (91,065 ASN and name pairs in 2.3.2026061719). Safe to share between threads.
    """

    def __init__(self, sections: Sections) -> None:
        self._meta = sections.meta
        self.version: str = sections.meta.source_version
        """The version of the source data (the npm package's), e.g. "2.3.2026061719"."""
        self._v4_start, self._v4_end, self._v4_asn, self._v4_org = sections.v4
        v6 = sections.v6
        self._v6_start_hi, self._v6_start_lo, self._v6_end_hi, self._v6_end_lo = v6[:4]
        self._v6_asn, self._v6_org = v6[4:]
        self._offsets = sections.name_offsets
        self._names = sections.names
        self._networks: dict[int, Network] = {}  # asn << 32 | org -> one shared (frozen) Network

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "the ASN table") -> AsnTable:
        """The table in `data` (an `asn.bin`); AsnTableError naming `where` if it is not a good one."""
        return cls(decode(data, where))

    @classmethod
    def load(cls, path: Path | str) -> AsnTable:
        """The table in the file at `path`; AsnTableError if it is missing, unreadable or corrupt."""
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            raise AsnTableError(
                f"no ASN table at {path}: build it with `make asn`, or set {ENV_VAR} to one"
            ) from None
        except OSError as error:
            raise AsnTableError(f"cannot read the ASN table at {path}: {error.strerror}") from None
        return cls.from_bytes(data, str(path))

    @classmethod
    def from_ranges(
        cls,
        rows: Iterable[tuple[str, str, int, str]],
        *,
        version: str = "snapshot",
        build_date: str = "1970-01-01",
    ) -> AsnTable:
        """A table of `(first address, last address, asn, org)` rows, by the rules of the real build.

        The rows go through the same normalization and file format as `scripts/build_asn_table.py`
        (see `asn_ranges`): overlaps are cut, adjacent ranges of one network merged.
        """
        families: dict[int, list[Span]] = {4: [], 6: []}
        for row in rows:
            family, span = _span(row)
            families[family].append(span)
        meta = Meta(source_package="from_ranges", source_version=version, build_date=build_date)
        v4, v6 = (normalize(families[family], family).spans for family in (4, 6))
        return cls.from_bytes(encode(v4, v6, meta))

    @property
    def source(self) -> str:
        """The source package, e.g. "@ip-location-db/asn"."""
        return self._meta.source_package

    @property
    def build_date(self) -> str:
        """The UTC day the table was compiled, "YYYY-MM-DD"."""
        return self._meta.build_date

    def __len__(self) -> int:
        """The number of ranges, IPv4 and IPv6 together (after merging)."""
        return len(self._v4_start) + len(self._v6_start_hi)

    @property
    def counts(self) -> tuple[int, int]:
        """The number of IPv4 ranges and of IPv6 ranges."""
        return len(self._v4_start), len(self._v6_start_hi)

    def lookup(self, ip: str) -> Network | None:
        """The network announcing `ip`, or None (no range holds it, or it is not an address)."""
        found = address_number(ip)
        if found is None:
            return None
        version, number = found
        return self._lookup_v4(number) if version == 4 else self._lookup_v6(number)

    def _lookup_v4(self, number: int) -> Network | None:
        i = bisect_right(self._v4_start, number) - 1
        if i < 0 or number > self._v4_end[i]:
            return None
        return self._network(self._v4_asn[i], self._v4_org[i])

    def _lookup_v6(self, number: int) -> Network | None:
        high, low = number >> 64, number & LOW64
        first = bisect_left(self._v6_start_hi, high)
        last = bisect_right(self._v6_start_hi, high, first)
        # the last range starting at or before the address: in its /64 if any, else first - 1
        i = bisect_right(self._v6_start_lo, low, first, last) - 1
        if i < 0 or (high, low) > (self._v6_end_hi[i], self._v6_end_lo[i]):
            return None
        return self._network(self._v6_asn[i], self._v6_org[i])

    def _network(self, asn: int, org: int) -> Network:
        key = asn << 32 | org
        found = self._networks.get(key)
        if found is None:
            name = self._names[self._offsets[org] : self._offsets[org + 1]]
            found = self._networks[key] = Network(asn=asn, org=name.decode("utf-8", errors="replace"))
        return found
