"""The address ranges a service publishes in its SPF record: the `ip4:`/`ip6:` terms behind its includes.

Pure: the walk asks an injected `lookup(name) -> TxtAnswer` for each name, so the core never touches
DNS (the shell passes `dmarc_store.reference.DnsTxt`, tests a dict). It follows `include:` and
`redirect=` breadth first, each name once, up to `max_lookups` names (RFC 7208 allows a receiver 10
lookups per check; a snapshot may go further, but never without bound), and collects every `ip4:` and
`ip6:` range. Terms that need more than a TXT lookup (`a`, `mx`, `exists`, `ptr`) are left out: they
name hosts, not the published ranges, and are counted in `skipped`.

A name that does not answer (timeout, servfail) is a failure of the walk, never an empty record: the
caller keeps the previous snapshot of that service rather than publish an incomplete one.
"""

from __future__ import annotations

import ipaddress
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

__all__ = ["LOOKUP_STATUSES", "SpfTerms", "SpfWalk", "TxtAnswer", "parse_spf", "spf_record", "walk_spf"]

LOOKUP_STATUSES = ("ok", "nodata", "nxdomain", "servfail", "timeout")
"""What a TXT lookup found: records, a name without TXT records, no such name, or no answer."""
_FAILED = frozenset({"servfail", "timeout"})
_HOST_TERMS = frozenset({"a", "mx", "exists", "ptr"})


@dataclass(frozen=True)
class TxtAnswer:
    status: str
    texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class SpfTerms:
    """The terms of one SPF record this walk uses."""

    ranges: tuple[str, ...] = ()
    includes: tuple[str, ...] = ()
    redirect: str | None = None
    skipped: int = 0
    """Terms left out: host mechanisms (a, mx, exists, ptr) and ranges that are not addresses."""


@dataclass(frozen=True)
class SpfWalk:
    """What a walk from a set of names found."""

    ranges: tuple[str, ...]
    """Every range found, normalised (`192.0.2.0/24`), sorted, each once."""
    names: tuple[str, ...]
    """The names looked up, in order."""
    failures: tuple[tuple[str, str], ...] = ()
    """(name, status) of each lookup that got no answer, and ("<limit>", n) when the walk stopped."""
    skipped: int = 0

    @property
    def complete(self) -> bool:
        return not self.failures


def parse_spf(text: str) -> SpfTerms:
    """The ranges, includes and redirect of one `v=spf1` record (case-insensitive; qualifiers dropped)."""
    ranges: list[str] = []
    includes: list[str] = []
    redirect: str | None = None
    skipped = 0
    for term in text.split()[1:]:
        name, _, value = term.lstrip("+-~?").partition(":")
        name = name.lower()
        if name in ("ip4", "ip6") and value:
            network = _network(value)
            ranges += [network] if network else []
            skipped += 0 if network else 1
        elif name == "include" and value:
            includes.append(value.lower().rstrip("."))
        elif name.startswith("redirect="):
            redirect = term.partition("=")[2].lower().rstrip(".") or None
        elif name.partition("/")[0] in _HOST_TERMS:
            skipped += 1
    return SpfTerms(tuple(ranges), tuple(includes), redirect, skipped)


def spf_record(answer: TxtAnswer) -> str | None:
    """The one `v=spf1` record of an answer (None for none, or for two: RFC 7208 section 4.5)."""
    records = [text for text in answer.texts if text.lower().split()[:1] == ["v=spf1"]]
    return records[0] if len(records) == 1 else None


def walk_spf(roots: Iterable[str], lookup: Callable[[str], TxtAnswer], max_lookups: int = 40) -> SpfWalk:
    """Every range reachable from `roots` through include and redirect, each name looked up once."""
    queue = deque(dict.fromkeys(root.lower().rstrip(".") for root in roots))
    seen: list[str] = []
    found: set[str] = set()
    state = _Walk()
    while queue:
        name = queue.popleft()
        if name in seen:
            continue
        if len(seen) >= max_lookups:
            state.failures.append(("<limit>", str(max_lookups)))
            break
        seen.append(name)
        answer = lookup(name)
        if answer.status in _FAILED:
            state.failures.append((name, answer.status))
            continue
        record = spf_record(answer)
        if record is None:
            continue
        terms = parse_spf(record)
        found.update(terms.ranges)
        state.skipped += terms.skipped
        queue.extend(terms.includes + ((terms.redirect,) if terms.redirect else ()))
    return SpfWalk(_sorted(found), tuple(seen), tuple(state.failures), state.skipped)


@dataclass
class _Walk:
    failures: list[tuple[str, str]] = field(default_factory=list)
    skipped: int = 0


def _network(value: str) -> str | None:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        return None


def _sorted(ranges: set[str]) -> tuple[str, ...]:
    networks = [ipaddress.ip_network(cidr) for cidr in ranges]
    return tuple(
        str(n) for n in sorted(networks, key=lambda n: (n.version, int(n.network_address), n.prefixlen))
    )
