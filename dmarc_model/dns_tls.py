"""The records of SMTP TLS reporting (RFC 8460) and MTA-STS (RFC 8461), and the policy file to host.

Pure: no lookups.

    _smtp._tls.<domain>   TXT  "v=TLSRPTv1; rua=mailto:<address>"      (RFC 8460 section 3)
    <address's domain>    MX   10 inbound-smtp.<region>.amazonaws.com.  (unless printed already)
    _mta-sts.<domain>     TXT  "v=STSv1; id=<policy id>"               (RFC 8461 section 3.1)
    https://mta-sts.<domain>/.well-known/mta-sts.txt    the policy file   (RFC 8461 section 3.2)

RFC 8460 has no counterpart of DMARC's external-destination authorisation (RFC 7489 section 7.1): a
TLS report may go to any address, so there is no `_report` record here.

The policy id is derived from the policy: the first 20 hex digits of the SHA-256 of the policy file's
bytes (`MtaStsPolicy.text`, CRLF line ends). The same policy always gets the same id, so running the
command again changes nothing; any change (mode, an mx, max_age) gives a new id, and a new id is what
tells senders to fetch the file again. Going back to an earlier policy brings back its id, which is
still right: the id differs from that of the policy senders cached since.

The file is served by the domain owner, over HTTPS with a certificate valid for `mta-sts.<domain>`;
this stack does not host it (`hosting_note`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass

from dmarc_model.dns import DnsRecord, DnsRecordError, _address, _domain, mx_record

__all__ = [
    "DEFAULT_MAX_AGE",
    "MAX_AGE_LIMIT",
    "MODES",
    "MtaStsPolicy",
    "hosting_note",
    "mta_sts_record",
    "tlsrpt_record",
    "tlsrpt_records",
]

MODES = ("testing", "enforce", "none")
DEFAULT_MAX_AGE = 604_800
"""One week, in seconds: the policy's lifetime in senders' caches unless --max-age says otherwise."""
MAX_AGE_LIMIT = 31_557_600
"""RFC 8461 section 3.2: max_age is at most 31557600 seconds (a year)."""
POLICY_ID_LENGTH = 20
"""Hex digits of the policy hash in the id (RFC 8461 allows 1 to 32 letters and digits)."""
_NAME_LIMIT = 253


def _owner_name(prefix: str, domain: str) -> str:
    """`prefix.domain`, refused when it is longer than a DNS name can be."""
    name = f"{prefix}.{domain}"
    if len(name) > _NAME_LIMIT:
        raise DnsRecordError(f"{name!r} is longer than {_NAME_LIMIT} characters: the domain is too long")
    return name


def _mx_pattern(value: str) -> str:
    """An MX host of the policy: a host name, or `*.` and a domain (RFC 8461 section 3.2)."""
    pattern = value.strip().lower().rstrip(".")
    if pattern.startswith("*."):
        return "*." + _domain(pattern[2:], "valid MX host pattern")
    return _domain(pattern, "valid MX host")


def _mx_patterns(hosts: Collection[str]) -> tuple[str, ...]:
    """The hosts validated and normalised, each once, in the order given."""
    return tuple(dict.fromkeys(_mx_pattern(host) for host in hosts))


@dataclass(frozen=True)
class MtaStsPolicy:
    """The MTA-STS policy of `domain`; built validated and normalised (lower case, no trailing dots).

    `mode` is testing, enforce or none; testing and enforce need at least one `mx` (host names, or
    `*.domain` patterns that match one label); `max_age` is 0 to MAX_AGE_LIMIT seconds.
    """

    domain: str
    mode: str
    mx: tuple[str, ...] = ()
    max_age: int = DEFAULT_MAX_AGE

    def __post_init__(self) -> None:
        domain = _domain(self.domain)
        _owner_name("_mta-sts", domain)
        mode = self.mode.strip().lower()
        if mode not in MODES:
            raise DnsRecordError(f"not an MTA-STS mode: {self.mode!r} (expected {', '.join(MODES)})")
        mx = _mx_patterns(self.mx)
        if not mx and mode != "none":
            raise DnsRecordError(f"an MTA-STS policy in mode {mode} names at least one MX host (--mx)")
        if not isinstance(self.max_age, int) or isinstance(self.max_age, bool):
            raise DnsRecordError(f"max_age must be a whole number of seconds: {self.max_age!r}")
        if not 0 <= self.max_age <= MAX_AGE_LIMIT:
            raise DnsRecordError(f"max_age must be 0 to {MAX_AGE_LIMIT} seconds: {self.max_age!r}")
        object.__setattr__(self, "domain", domain)
        object.__setattr__(self, "mode", mode)
        object.__setattr__(self, "mx", mx)

    @property
    def text(self) -> str:
        """The policy file: `version`, `mode`, one `mx` line per host, `max_age`; CRLF line ends."""
        lines = ["version: STSv1", f"mode: {self.mode}", *(f"mx: {host}" for host in self.mx)]
        lines.append(f"max_age: {self.max_age}")
        return "".join(f"{line}\r\n" for line in lines)

    @property
    def policy_id(self) -> str:
        """The id of the `_mta-sts` record: the first POLICY_ID_LENGTH hex digits of SHA-256(text)."""
        return hashlib.sha256(self.text.encode("ascii")).hexdigest()[:POLICY_ID_LENGTH]

    @property
    def host(self) -> str:
        """The web host that serves the policy."""
        return f"mta-sts.{self.domain}"

    @property
    def url(self) -> str:
        """Where senders fetch the policy (RFC 8461 section 3.3)."""
        return f"https://{self.host}/.well-known/mta-sts.txt"


def mta_sts_record(policy: MtaStsPolicy) -> DnsRecord:
    """The `_mta-sts` TXT record announcing `policy`, its id derived from the policy's text."""
    return DnsRecord(
        _owner_name("_mta-sts", policy.domain),
        "TXT",
        f"v=STSv1; id={policy.policy_id}",
        f"MTA-STS of {policy.domain} (RFC 8461): mode {policy.mode}, policy at {policy.url}",
    )


def hosting_note(policy: MtaStsPolicy) -> str:
    """What serving the policy file takes, in one sentence: the stack does not host it."""
    return (
        f"serve this file at {policy.url} yourself (this stack does not host it): {policy.host} needs an"
        f" address record and HTTPS with a valid certificate for {policy.host}; answer 200 with"
        " Content-Type text/plain, never a redirect (RFC 8461 section 3.3)"
    )


def tlsrpt_record(domain: str, address: str) -> DnsRecord:
    """The `_smtp._tls` TXT record of `domain`: SMTP TLS reports (RFC 8460) go to `address` by mail."""
    domain = _domain(domain)
    local, address_domain = _address(address)
    mailbox = f"{local}@{address_domain}"
    return DnsRecord(
        _owner_name("_smtp._tls", domain),
        "TXT",
        f"v=TLSRPTv1; rua=mailto:{mailbox}",
        f"SMTP TLS reports (RFC 8460) about mail to {domain} go to {mailbox}",
    )


def tlsrpt_records(
    domain: str, address: str, region: str, mx_printed: Collection[str] = ()
) -> list[DnsRecord]:
    """The `_smtp._tls` record, and the MX of the address's domain unless that domain is in
    `mx_printed` (the domains whose MX record is published already, such as the rua address's)."""
    records = [tlsrpt_record(domain, address)]
    _, address_domain = _address(address)
    if address_domain not in {_domain(name) for name in mx_printed}:
        records.append(mx_record(address_domain, region))
    return records
