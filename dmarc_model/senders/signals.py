"""What a verdict is made from: a record's authentication (`auth_key`) and its address's network
(`NetworkFacts`), as `Signals` (`signals_of`). Pure; the classifier caches verdicts by these keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["AUTH_FIELDS", "AuthKey", "NetworkFacts", "Signals", "auth_key", "signals_of"]


@dataclass(frozen=True)
class NetworkFacts:
    """What the source address says, looked up once per address: the verdict depends on these, never on
    the address itself, so records from one network share a cached verdict."""

    asn: int | None
    network: str | None
    netblocks: tuple[str, ...]
    """The services whose published netblocks hold the address."""
    rdns: str
    owned: tuple[str, str] | None
    """The owner's declared servers holding the address: (their name, the declared range)."""
    known_network: bool = True
    """Whether the rules name this ASN (a service's or a platform's): if not, only whether there is a
    network at all can change a verdict, so all such networks share one (`decision`)."""

    @property
    def decision(self) -> tuple[Any, ...]:
        """What of these facts a verdict depends on: its cache key, with the record's authentication."""
        network = (self.asn, self.network) if self.known_network else self.asn is not None
        return network, self.netblocks, self.rdns, self.owned


@dataclass(frozen=True)
class Signals:
    facts: NetworkFacts
    header_from: str
    dkim_pass: tuple[tuple[str, str], ...]
    """(domain, selector) of every DKIM signature that passed."""
    dmarc_pass: bool
    spf_aligned: bool
    spf_domain: str
    spf_pass: bool
    reasons: frozenset[str]

    @property
    def asn(self) -> int | None:
        return self.facts.asn

    @property
    def network(self) -> str | None:
        return self.facts.network

    @property
    def rdns(self) -> str:
        return self.facts.rdns

    def aligned(self, domain: str) -> bool:
        """Relaxed alignment without the public suffix list: the same domain, or one under the other."""
        header = self.header_from
        return bool(header) and (
            domain == header or domain.endswith("." + header) or header.endswith("." + domain)
        )


AUTH_FIELDS: dict[str, tuple[str, ...]] = {
    "reasons": ("type",),
    "dkim_results": ("domain", "selector", "result"),
    "spf_results": ("domain", "scope", "result"),
}
"""The fields of a record's lists a verdict reads."""
AuthKey = tuple[Any, ...]
"""(header_from, envelope_from, policy_dkim, policy_spf, then each of AUTH_FIELDS' lists as a tuple of
tuples of those fields): everything of a record but its address that a verdict depends on."""


def auth_key(record: Mapping[str, Any]) -> AuthKey:
    def rows(name: str) -> tuple[tuple[Any, ...], ...]:
        return tuple(tuple(item.get(f) for f in AUTH_FIELDS[name]) for item in record.get(name) or ())

    plain = (record.get(name) for name in ("header_from", "envelope_from", "policy_dkim", "policy_spf"))
    return (*plain, *(rows(name) for name in AUTH_FIELDS))


def _first_spf(results: Sequence[tuple[Any, ...]]) -> tuple[Any, ...] | None:
    """The MAIL FROM result (domain, scope, result) if there is one, else the first (a HELO result stands
    in for a null sender)."""
    for result in results:
        if _token(result[1]) in ("mfrom", ""):
            return result
    return results[0] if results else None


def _domain(value: Any) -> str:
    return str(value or "").strip().lower().rstrip(".")


def _token(value: Any) -> str:
    return str(value or "").strip().lower()


def signals_of(auth: AuthKey, facts: NetworkFacts) -> Signals:
    header_from, envelope_from, policy_dkim, policy_spf, reasons, dkim, spf_results = auth
    spf = _first_spf(spf_results)
    return Signals(
        facts=facts,
        header_from=_domain(header_from),
        dkim_pass=tuple(
            (_domain(domain), str(selector or "").strip().lower())
            for domain, selector, result in dkim
            if _token(result) == "pass" and domain
        ),
        dmarc_pass="pass" in (_token(policy_dkim), _token(policy_spf)),
        spf_aligned=_token(policy_spf) == "pass",
        spf_domain=_domain(spf[0] if spf else None) or _domain(envelope_from),
        spf_pass=spf is not None and _token(spf[2]) == "pass",
        reasons=frozenset(_token(reason) for (reason,) in reasons),
    )
