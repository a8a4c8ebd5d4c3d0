"""The DNS records a domain owner publishes to receive aggregate reports in this stack. Pure: no lookups.

    _dmarc.<domain>                               TXT  "v=DMARC1; p=...; rua=mailto:<address>"
    <receiving domain>                            MX   10 inbound-smtp.<region>.amazonaws.com.
    <domain>._report._dmarc.<receiving domain>    TXT  "v=DMARC1"   (RFC 7489 section 7.1)

The last one tells reporters that the receiving domain accepts reports about <domain>. It is needed
when the two differ in organisational domain; without the public suffix list this module cannot tell
that exactly, so it asks for it unless the receiving domain is <domain> or one of its subdomains (an
unneeded authorisation record does no harm). deploy/dns.js creates the same MX and authorisation
records in Route 53, by the same rule.

SMTP TLS reporting (`_smtp._tls`, RFC 8460) and MTA-STS (`_mta-sts` and its policy file, RFC 8461) are
in dmarc_model.dns_tls, which builds on this module's validators.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dmarc_model.errors import UsageError
from dmarc_model.ses_regions import supports_receiving, unsupported_region_message

__all__ = [
    "DnsRecord",
    "DnsRecordError",
    "authorisation_record",
    "dmarc_record",
    "mx_record",
    "needs_authorisation",
    "records_to_publish",
]

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$)(?:{_LABEL}\.)+[a-z]{{2,63}}$")
_LOCAL_PART = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d$")
_POLICIES = ("none", "quarantine", "reject")
TTL = 3600
TXT_CHUNK = 255
"""A TXT record holds strings of at most 255 bytes each; longer text is split into several."""


class DnsRecordError(UsageError):
    """An input that cannot make a valid record: a bad domain, address, region or DMARC policy."""


@dataclass(frozen=True)
class DnsRecord:
    """One resource record; `name` is a fully qualified name without the trailing dot."""

    name: str
    type: str
    value: str
    """TXT: the text, unquoted; MX: `<preference> <exchange>.`"""
    purpose: str

    def zone_line(self, ttl: int = TTL) -> str:
        """The record in zone-file syntax."""
        if self.type == "TXT":
            chunks = [self.value[i : i + TXT_CHUNK] for i in range(0, len(self.value), TXT_CHUNK)] or [""]
            data = " ".join('"' + chunk.replace("\\", "\\\\").replace('"', '\\"') + '"' for chunk in chunks)
        else:
            data = self.value
        return f"{self.name}. {ttl} IN {self.type} {data}"


def _domain(value: str, what: str = "domain") -> str:
    domain = value.strip().lower().rstrip(".")
    if not _HOSTNAME.match(domain):
        raise DnsRecordError(f"not a {what}: {value!r}")
    return domain


def _address(value: str) -> tuple[str, str]:
    """`dmarc@reports.example.com` or `mailto:...` -> (local part, domain)."""
    address = value.strip()
    if address.lower().startswith("mailto:"):
        address = address[len("mailto:") :]
    local, at, domain = address.rpartition("@")
    if not at or not _LOCAL_PART.match(local.lower()):
        raise DnsRecordError(f"not an e-mail address: {value!r}")
    return local.lower(), _domain(domain, "domain in the address")


def needs_authorisation(domain: str, receiving_domain: str) -> bool:
    """Whether reports about `domain` sent to `receiving_domain` need RFC 7489 section 7.1 authorisation."""
    domain, receiving_domain = _domain(domain), _domain(receiving_domain)
    return not (receiving_domain == domain or receiving_domain.endswith("." + domain))


def _tags(record: str) -> list[tuple[str, str]]:
    tags: list[tuple[str, str]] = []
    for part in record.split(";"):
        if not part.strip():
            continue
        key, equals, value = part.partition("=")
        if not equals or not key.strip():
            raise DnsRecordError(f"not a DMARC tag: {part.strip()!r}")
        tags.append((key.strip().lower(), value.strip()))
    if not tags or tags[0] != ("v", "DMARC1"):
        raise DnsRecordError(f"a DMARC record starts with v=DMARC1: {record!r}")
    return tags


def _with_rua(rua: str, uri: str) -> str:
    """Add `uri` to a rua list unless it is there already (size suffixes such as !10m ignored)."""
    existing = [item.strip() for item in rua.split(",") if item.strip()]
    wanted = uri.lower()
    if any(item.split("!", 1)[0].lower() == wanted for item in existing):
        return ",".join(existing)
    return ",".join([*existing, uri])


RUF_LEFT_OUT = (
    "no ruf= tag: failure reports (RUF) carry personal data (the failing message's recipient, sender,"
    " subject and often its body); ask for them with --ruf ADDRESS: the stack then keeps only their"
    " structured fields and keyed hashes, and the raw mail for a few days (rufRawRetentionDays)"
)
"""Why `dmarc dns` leaves `ruf=` out unless asked (`ruf=` None)."""


def dmarc_record(domain: str, rua: str, policy: str | None = None, ruf: str | None = None) -> DnsRecord:
    """The `_dmarc` TXT record of `domain` with `rua` added, and `ruf` only when given.

    `policy` is the record published now (every tag kept, our address appended to its rua) or just a
    policy (none, quarantine, reject); without it the record monitors only: `p=none`. A `ruf=` tag is
    never added unless `ruf` is given (RUF_LEFT_OUT says why); one already published is kept.
    """
    domain = _domain(domain)
    local, rua_domain = _address(rua)
    uri = f"mailto:{local}@{rua_domain}"
    text = (policy or "none").strip()
    if text.lower() in _POLICIES:
        tags = [("v", "DMARC1"), ("p", text.lower())]
    else:
        tags = _tags(text.strip('"'))
        if not any(key == "p" for key, _ in tags):
            raise DnsRecordError(f"the DMARC record has no p= tag: {policy!r}")
    if any(key == "rua" for key, _ in tags):
        tags = [(key, _with_rua(value, uri) if key == "rua" else value) for key, value in tags]
    else:
        tags.append(("rua", uri))
    if ruf is not None:
        tags = _with_ruf(tags, ruf)
    value = "; ".join(f"{key}={tag_value}" for key, tag_value in tags)
    return DnsRecord(f"_dmarc.{domain}", "TXT", value, f"DMARC policy of {domain}, sending reports to {rua}")


def _with_ruf(tags: list[tuple[str, str]], ruf: str) -> list[tuple[str, str]]:
    local, ruf_domain = _address(ruf)
    uri = f"mailto:{local}@{ruf_domain}"
    if any(key == "ruf" for key, _ in tags):
        return [(key, _with_rua(value, uri) if key == "ruf" else value) for key, value in tags]
    return [*tags, ("ruf", uri)]


def mx_record(receiving_domain: str, region: str) -> DnsRecord:
    """The MX record that sends mail for the receiving domain to SES in `region`, one of the regions
    where SES receives email (dmarc_model.ses_regions): elsewhere there is no inbound-smtp endpoint."""
    receiving_domain = _domain(receiving_domain)
    if not _REGION.match(region):
        raise DnsRecordError(f"not an AWS region: {region!r}")
    if not supports_receiving(region):
        raise DnsRecordError(unsupported_region_message(region))
    return DnsRecord(
        receiving_domain,
        "MX",
        f"10 inbound-smtp.{region}.amazonaws.com.",
        f"mail for {receiving_domain} goes to Amazon SES ({region})",
    )


def authorisation_record(domain: str, receiving_domain: str) -> DnsRecord | None:
    """The external-destination authorisation record, or None when none is needed."""
    if not needs_authorisation(domain, receiving_domain):
        return None
    domain, receiving_domain = _domain(domain), _domain(receiving_domain)
    return DnsRecord(
        f"{domain}._report._dmarc.{receiving_domain}",
        "TXT",
        "v=DMARC1",
        f"{receiving_domain} accepts reports about {domain} (RFC 7489 section 7.1)",
    )


def records_to_publish(
    domain: str, rua: str, region: str, policy: str | None = None, ruf: str | None = None
) -> list[DnsRecord]:
    """Every record to publish for reports about `domain` to reach the `rua` address in this stack (and
    the `ruf` address, only when given)."""
    _, receiving_domain = _address(rua)
    records = [dmarc_record(domain, rua, policy, ruf), mx_record(receiving_domain, region)]
    receiving = [receiving_domain]
    if ruf is not None and _address(ruf)[1] != receiving_domain:
        receiving.append(_address(ruf)[1])
    for receiver in receiving:
        authorisation = authorisation_record(domain, receiver)
        if authorisation is not None:
            records.append(authorisation)
    return records
