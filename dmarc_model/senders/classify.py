"""Who sent one record's mail: a pure function of the record and versioned reference data.

The record is a `records` row (a mapping of its columns: `source_ip`, `header_from`, `envelope_from`,
`policy_dkim`, `policy_spf`, `reasons`, `dkim_results`, `spf_results`), so the same verdict comes at
ingest and when stored data is reclassified. Signals, strongest first:

1. the owner's declared servers, when DKIM or SPF also passed aligned: `own`, high;
2. a passing DKIM signature by a service's own signing domain (`amazonses.com`): that service, high;
3. a passing DKIM signature aligned with the From domain whose selector is one the service has its
   customers publish (`google`, `selector1`, `k1`, SES's 32-character tokens): high when the network
   corroborates it (the address in the service's netblocks, its ASN, its reverse-DNS name), else low
   (medium for a service the owner declares they use);
4. the SPF (envelope) domain of a service (`sendgrid.net`): high when SPF passed, else medium;
5. the address in a service's published netblocks, or its reverse-DNS name: medium;
then disagreement, which is information: a passing signature (the owner's, or a service's) arriving from
a mailbox provider's network that is not the service's own, with SPF not aligned, is forwarded mail
(`forwarder:<platform>`, high); a receiver's `forwarded` or `mailing_list` override with no other
signal, medium. Mail that passed DMARC with nothing else to name it was signed with the owner's key or
sent by a server their SPF authorises: `own`, low (or, SPF aligned from the network of exactly one
service, that service, medium). Last, the network owner (ASN) alone names only a platform
(`platform:<id>`, low): a mailbox provider's shared platform, or a network such as "Amazon Web Services
network", never a service; nothing at all is `unknown`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from dmarc_model.senders.owner import OwnerDeclarations
from dmarc_model.senders.reference import Platform, Reference, Service
from dmarc_model.senders.signals import AuthKey, NetworkFacts, Signals, auth_key, signals_of

__all__ = ["CATEGORIES", "CONFIDENCES", "Classifier", "NetworkLookup", "Verdict"]

HIGH, MEDIUM, LOW = "high", "medium", "low"
CONFIDENCES = (HIGH, MEDIUM, LOW)
OWN, SERVICE, FORWARDER, MAILBOX_PROVIDER, UNKNOWN = (
    "own",
    "service",
    "forwarder",
    "mailbox-provider",
    "unknown",
)
CATEGORIES = (OWN, SERVICE, FORWARDER, MAILBOX_PROVIDER, UNKNOWN)
_FORWARDING_REASONS = frozenset({"forwarded", "mailing_list", "trusted_forwarder"})
_FORWARDED_FIX = (
    "Forwarded mail fails SPF and passes DMARC only on a DKIM signature that survives forwarding:"
    " sign all of your mail with DKIM aligned to your domain."
)
_CACHE_SIZE = 65_536


class _Network(Protocol):
    @property
    def asn(self) -> int: ...
    @property
    def org(self) -> str: ...


class NetworkLookup(Protocol):
    """IP -> its network owner (`dmarc_model.senders.asn.AsnTable`)."""

    version: str

    def lookup(self, ip: str) -> _Network | None: ...


@dataclass(frozen=True)
class Verdict:
    sender: str
    """A service id, `own`, `forwarder:<platform>`, `platform:<platform>`, or `unknown`."""
    name: str
    category: str
    confidence: str
    evidence: tuple[str, ...]
    fix: str | None = None
    setup_url: str | None = None
    asn: int | None = None
    network: str | None = None


@dataclass(frozen=True)
class _Found:
    service: Service
    confidence: str
    evidence: tuple[str, ...]
    on_own_network: bool
    signal: str
    """Which signal named the service: dkim-domain, selector, spf or network."""


class Classifier:
    """Verdicts for records, with the versions of the data they come from (`version`)."""

    def __init__(
        self,
        reference: Reference,
        networks: NetworkLookup | None = None,
        owner: OwnerDeclarations | None = None,
        rdns: Mapping[str, str] | None = None,
    ) -> None:
        self.reference = reference
        self.networks = networks
        self.owner = owner or OwnerDeclarations()
        self.rdns = rdns or {}
        asn_version = networks.version if networks is not None else "none"
        self.version = f"rules={reference.version};netblocks={reference.netblocks_as_of};asn={asn_version}"
        if self.rdns:
            self.version += f";rdns={len(self.rdns)}"
        self._cache: dict[tuple[Any, ...], Verdict] = {}
        self._facts: dict[str, NetworkFacts] = {}
        self._selectors: dict[str, tuple[Service, ...]] = {}

    def classify(self, record: Mapping[str, Any]) -> Verdict:
        return self.classify_key(str(record.get("source_ip") or ""), auth_key(record))

    def classify_key(self, ip: str, auth: AuthKey) -> Verdict:
        """The verdict of a record given as its address and its `auth_key` (what `classify` does)."""
        facts = self._network_facts(ip)
        key = (facts.decision, auth)
        verdict = self._cache.get(key)
        if verdict is None:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            verdict = self._cache[key] = self._verdict(signals_of(auth, facts))
        if verdict.asn != facts.asn or verdict.network != facts.network:  # a network the rules do not name
            verdict = replace(verdict, asn=facts.asn, network=facts.network)
        return verdict

    def _network_facts(self, ip: str) -> NetworkFacts:
        facts = self._facts.get(ip)
        if facts is None:
            if len(self._facts) >= _CACHE_SIZE:
                self._facts.clear()
            found = self.networks.lookup(ip) if self.networks is not None and ip else None
            owned = self.owner.own_servers(ip)
            facts = self._facts[ip] = NetworkFacts(
                asn=found.asn if found is not None else None,
                network=found.org if found is not None else None,
                netblocks=tuple(self.reference.netblocks.services(ip)),
                rdns=self.rdns.get(ip, "").lower().rstrip("."),
                owned=(owned[0].name, str(owned[1])) if owned is not None else None,
                known_network=found is not None and found.asn in self.reference.known_asns,
            )
        return facts

    def _selector_services(self, selector: str) -> tuple[Service, ...]:
        """The services whose selector pattern matches `selector` (asked once per distinct selector)."""
        found = self._selectors.get(selector)
        if found is None:
            if len(self._selectors) >= _CACHE_SIZE:
                self._selectors.clear()
            services = self.reference.services.values()
            found = self._selectors[selector] = tuple(s for s in services if s.selector_matches(selector))
        return found

    def _verdict(self, s: Signals) -> Verdict:
        if s.facts.owned is not None and s.dmarc_pass:
            name, network = s.facts.owned
            declared = (f"source address in your declared range {network} ({name})", "DMARC passed")
            return self._made(s, OWN, name, OWN, HIGH, declared)
        found = self._service_signal(s)
        forwarded = self._forwarding(s, found)
        if forwarded is not None:
            return forwarded
        if found is not None:
            return self._service_verdict(s, found)
        if s.reasons & _FORWARDING_REASONS:
            platform = self._platform(s)
            sender = f"forwarder:{platform.id if platform else 'unknown'}"
            name = f"Forwarded through {platform.name if platform else 'an unknown forwarder'}"
            reasons = ", ".join(sorted(s.reasons & _FORWARDING_REASONS))
            evidence = (f"the receiver's override reason: {reasons}",)
            return self._made(s, sender, name, FORWARDER, MEDIUM, evidence, fix=_FORWARDED_FIX)
        if s.dmarc_pass:
            return self._authenticated_as_you(s)
        return self._network_verdict(s)

    def _authenticated_as_you(self, s: Signals) -> Verdict:
        """DMARC passed, yet no rule names the sender: the mail was signed with your domain's key, or sent
        by a server your SPF record authorises. Your own servers, most likely (or a service you gave a
        key to), not spoofing: low, until you declare them."""
        hosting = self._sole_service_of_network(s)
        if s.spf_aligned and hosting is not None:
            authorised = (
                f"SPF passed aligned from {hosting.name}'s network (AS{s.asn}): your SPF allows it",
            )
            return self._made(s, hosting.id, hosting.name, SERVICE, MEDIUM, authorised)
        signed = [(domain, selector) for domain, selector in s.dkim_pass if s.aligned(domain)]
        if signed:
            domain, selector = signed[0]
            how = f"DKIM signature by {domain} (selector {selector!r}) passed aligned: your domain's key"
        else:
            how = f"SPF passed aligned for {s.spf_domain}: a server your SPF record authorises"
        evidence = (how, "no rule names the sender: declare your servers (DMARC_SENDERS_FILE) to confirm")
        return self._made(s, OWN, "Your domain (servers not declared)", OWN, LOW, evidence)

    def _service_signal(self, s: Signals) -> _Found | None:
        services = self.reference.services
        for domain, _selector in s.dkim_pass:
            service_id = self.reference.dkim_domains.find(domain)
            if service_id is not None:
                service = services[service_id]
                evidence = (f"DKIM signature by {domain}, {service.name}'s signing domain, passed",)
                return self._found(s, service, HIGH, evidence, "dkim-domain")
        by_selector = self._selector_signal(s)
        if by_selector is not None:
            return by_selector
        service_id = self.reference.spf_domains.find(s.spf_domain)
        if service_id is not None:
            service = services[service_id]
            result = "passed" if s.spf_pass else "did not pass"
            evidence = (f"SPF domain {s.spf_domain} is {service.name}'s; SPF {result}",)
            return self._found(s, service, HIGH if s.spf_pass else MEDIUM, evidence, "spf")
        for service in self._network_services(s):
            return self._found(s, service, MEDIUM, (), "network")
        return None

    def _selector_signal(self, s: Signals) -> _Found | None:
        weak: _Found | None = None
        for domain, selector in s.dkim_pass:
            if not selector or not s.aligned(domain):
                continue
            for service in self._selector_services(selector):
                evidence = (
                    f"aligned DKIM signature by {domain} with selector {selector!r}, {service.name}'s",
                )
                found = self._found(s, service, HIGH, evidence, "selector")
                if found.on_own_network:
                    return found
                declared = service.id in self.owner.services  # you use it: medium, and preferred
                if weak is None or (declared and weak.confidence == LOW):
                    uncorroborated = (*evidence, "not corroborated by the network")
                    weak = _Found(service, MEDIUM if declared else LOW, uncorroborated, False, "selector")
        return weak

    def _found(
        self, s: Signals, service: Service, confidence: str, evidence: tuple[str, ...], signal: str
    ) -> _Found:
        network = self._network_evidence(s, service)
        return _Found(service, confidence, evidence + network, bool(network), signal)

    def _network_evidence(self, s: Signals, service: Service) -> tuple[str, ...]:
        found = []
        if service.id in s.facts.netblocks:
            found.append(f"source address in {service.name}'s published netblocks")
        if s.asn is not None and s.asn in service.asns:
            found.append(f"source network AS{s.asn} ({s.network}) is {service.name}'s")
        if s.rdns and self.reference.rdns.find(s.rdns) == service.id:
            found.append(f"reverse DNS {s.rdns} is {service.name}'s")
        return tuple(found)

    def _network_services(self, s: Signals) -> list[Service]:
        ids = list(s.facts.netblocks)
        by_rdns = self.reference.rdns.find(s.rdns)
        ids += [by_rdns] if by_rdns is not None else []
        return [self.reference.services[service_id] for service_id in ids]

    def _forwarding(self, s: Signals, found: _Found | None) -> Verdict | None:
        """A passing signature (the owner's, or a service's) from a mailbox provider's network that is not
        the service's own, with SPF not aligned and not passing for the service either (a forwarder that
        rewrites the envelope, SRS, passes SPF for its own domain)."""
        platform = self._platform(s)
        if platform is None or not platform.mailbox_provider or s.spf_aligned:
            return None
        if found is not None and found.signal != "network" and found.on_own_network:
            return None
        if (
            s.spf_pass
            and found is not None
            and self.reference.spf_domains.find(s.spf_domain) == found.service.id
        ):
            return None
        signer = found.service.id if found is not None and found.signal == "dkim-domain" else None
        signed = [
            d
            for d, _ in s.dkim_pass
            if s.aligned(d) or (signer and self.reference.dkim_domains.find(d) == signer)
        ]
        if not signed:
            return None
        original = f" (originally {found.service.name})" if found and found.signal != "network" else ""
        evidence = (
            f"DKIM signature by {signed[0]} passed{original}",
            f"but it arrived from {platform.name} (AS{s.asn}), a mailbox provider, and SPF did not align",
        )
        name = f"Forwarded through {platform.name}"
        return self._made(s, f"forwarder:{platform.id}", name, FORWARDER, HIGH, evidence, fix=_FORWARDED_FIX)

    def _service_verdict(self, s: Signals, found: _Found) -> Verdict:
        service = found.service
        category = FORWARDER if service.kind == "forwarder" else SERVICE
        evidence = found.evidence
        if service.id in self.owner.services:
            evidence = (*evidence, "declared by you as a service you use")
        fix = None if s.dmarc_pass else service.fix or None
        url = None if s.dmarc_pass else service.setup_url or None
        return self._made(s, service.id, service.name, category, found.confidence, evidence, fix, url)

    def _network_verdict(self, s: Signals) -> Verdict:
        platform = self._platform(s)
        if platform is not None:
            category = MAILBOX_PROVIDER if platform.mailbox_provider else UNKNOWN
            evidence = (f"only the network is known: AS{s.asn} ({s.network}), {platform.name}",)
            return self._made(s, f"platform:{platform.id}", platform.name, category, LOW, evidence)
        if s.asn is not None:
            evidence = (
                "only the network is known (network_asn, network_org), and it is no platform of the rules",
            )
            return self._made(s, UNKNOWN, "Unknown sender", UNKNOWN, LOW, evidence)
        return self._made(s, UNKNOWN, "Unknown sender", UNKNOWN, LOW, ("no signal matched",))

    def _sole_service_of_network(self, s: Signals) -> Service | None:
        """The one sending service (not a forwarder) whose ASNs hold the source, if exactly one does."""
        if s.asn is None:
            return None
        found = [x for x in self.reference.services.values() if s.asn in x.asns and x.kind != "forwarder"]
        return found[0] if len(found) == 1 else None

    def _platform(self, s: Signals) -> Platform | None:
        return None if s.asn is None else self.reference.platform_by_asn.get(s.asn)

    def _made(
        self,
        s: Signals,
        sender: str,
        name: str,
        category: str,
        confidence: str,
        evidence: tuple[str, ...],
        fix: str | None = None,
        url: str | None = None,
    ) -> Verdict:
        return Verdict(sender, name, category, confidence, evidence, fix, url, s.asn, s.network)
