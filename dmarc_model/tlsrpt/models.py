"""The SMTP TLS report model: RFC 8460 section 4 as pydantic models, lenient where real reports differ.

Field names are the RFC's JSON names (`organization-name`, `failed-session-count`, ...) as aliases of
snake_case attributes. What real reporters send and is accepted:

    written                                   kept as
    no `sending-mta-ip` (Microsoft)           None
    `"contact-info": null`                    None
    `"policies": []`                          a report with no policies (a row of `tls_reports` only)
    `policy-type` `no-policy-found`           a policy like any other (Google sends them daily)
    `mx-host` as one string or a list         a tuple of strings
    an unknown `result-type`/`policy-type`    the value, lower-cased, with a warning (`unknown_tokens`)
    dates with `t`/`z`, offsets, fractions    the moment, in UTC (a date-time without offset is UTC)
    an address that is no IP address          the text as written, with a warning
    a missing summary count                   0, with a warning
    a failure detail without a count          0
    policy domains, receiving MX host names   lower-cased, without a trailing dot

Every number is checked against the column it goes to: a session count is a whole number from 0 to
2**32-1 (`MAX_SESSION_COUNT`: sums over 2**31 rows of it still fit Athena's bigint), booleans are not
numbers. A report outside these bounds is refused as a whole (`schema-violation`): unlike a DMARC
record, a policy's counts cannot be set aside without making the report's totals wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from dmarc_model.models import FIRST_SECOND, LAST_SECOND, MAX_DOMAIN_CHARS, MAX_TEXT_CHARS, canonical_ip

__all__ = [
    "KNOWN_POLICY_TYPES",
    "KNOWN_RESULT_TYPES",
    "MAX_LIST_ITEMS",
    "MAX_SESSION_COUNT",
    "FailureDetail",
    "TlsDateRange",
    "TlsPolicy",
    "TlsPolicyReport",
    "TlsReport",
    "TlsSummary",
]

MAX_SESSION_COUNT = 2**32 - 1
"""The largest session count of one policy or failure detail (like a DMARC record's <count>)."""
MAX_LIST_ITEMS = 1000
"""Lines of one `policy-string`, hosts of one `mx-host`: an MTA-STS policy has a handful."""

KNOWN_POLICY_TYPES = frozenset({"sts", "tlsa", "no-policy-found"})
KNOWN_RESULT_TYPES = frozenset(
    {
        "starttls-not-supported",
        "certificate-host-mismatch",
        "certificate-expired",
        "certificate-not-trusted",
        "validation-failure",
        "tlsa-invalid",
        "dnssec-invalid",
        "dane-required",
        "sts-policy-fetch-error",
        "sts-policy-invalid",
        "sts-webpki-invalid",
    }
)
"""RFC 8460 section 4.3's result types; others are kept as written, with a warning."""

_MODE_LINE = re.compile(r"\s*mode\s*:\s*(\S+)\s*", re.IGNORECASE)


def _no_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a count")
    return value


def _dns_length(value: str) -> str:
    if len(value) > MAX_DOMAIN_CHARS:
        raise ValueError(f"{len(value)} characters; a domain name has at most {MAX_DOMAIN_CHARS} (RFC 1035)")
    return value


def _text_or_none(value: object) -> object:
    """Numbers are kept as their text (a `report-id` of 12345); blank text is None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _host(value: object) -> object:
    """A host or domain name, lower-cased, without a trailing dot: `MX1.Example.` is `mx1.example`."""
    value = _text_or_none(value)
    if isinstance(value, str):
        return value.strip().lower().removesuffix(".")
    return value


def _strings(value: object) -> object:
    """One string or a list of them (`mx-host` comes both ways); null is an empty list."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return value


Count = Annotated[int, BeforeValidator(_no_bool), Field(ge=0, le=MAX_SESSION_COUNT)]
Token = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=MAX_TEXT_CHARS)]
_TextValue = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT_CHARS)]
_HostValue = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_DOMAIN_CHARS)]
Text = Annotated[_TextValue | None, BeforeValidator(_text_or_none)]
Domain = Annotated[str, BeforeValidator(_host), StringConstraints(min_length=1), AfterValidator(_dns_length)]
Hostname = Annotated[_HostValue | None, BeforeValidator(_text_or_none)]
MxHostname = Annotated[_HostValue | None, BeforeValidator(_host)]
Strings = Annotated[
    tuple[Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)], ...],
    BeforeValidator(_strings),
    Field(max_length=MAX_LIST_ITEMS),
]


class _Model(BaseModel):
    """Fields by their RFC names only (`report-id`, never `report_id`: one spelling, one identity)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=False)


def _moment(value: object) -> object:
    """RFC 3339 text (`2016-04-01T00:00:00Z`, offsets and fractions too) as a UTC moment, 1970..9999."""
    if not isinstance(value, str):
        raise ValueError("a date-time is RFC 3339 text")
    try:
        moment = datetime.fromisoformat(value.strip().upper())  # RFC 3339 allows `t` and `z`
    except ValueError:
        raise ValueError(f"{value[:40]!r} is not an RFC 3339 date-time") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if not FIRST_SECOND <= moment.timestamp() <= LAST_SECOND:
        raise ValueError(f"{value[:40]!r} is not from 1970 to 9999")
    return moment.astimezone(UTC)


class TlsDateRange(_Model):
    start: Annotated[datetime, BeforeValidator(_moment)] = Field(alias="start-datetime")
    end: Annotated[datetime, BeforeValidator(_moment)] = Field(alias="end-datetime")


class TlsSummary(_Model):
    successful: Count | None = Field(None, alias="total-successful-session-count")
    failed: Count | None = Field(None, alias="total-failure-session-count")


class TlsPolicy(_Model):
    """The `policy` object: which policy the sender applied to which domain."""

    policy_type: Token = Field(alias="policy-type")
    policy_strings: Strings = Field((), alias="policy-string")
    policy_domain: Domain = Field(alias="policy-domain")
    mx_hosts: Strings = Field((), alias="mx-host")

    @property
    def sts_mode(self) -> str | None:
        """The `mode:` line of an MTA-STS policy (`testing`, `enforce`, `none`), lower-cased."""
        for line in self.policy_strings:
            match = _MODE_LINE.fullmatch(line)
            if match:
                return match.group(1).lower()[:MAX_DOMAIN_CHARS]
        return None


def _address(value: object) -> object:
    """An IP address in its canonical text; anything else is kept as written (the parser warns)."""
    if isinstance(value, str):
        try:
            return canonical_ip(value)
        except ValueError:
            return value.strip() or None
    return value


Address = Annotated[_HostValue | None, BeforeValidator(_address)]


class FailureDetail(_Model):
    result_type: Token = Field(alias="result-type")
    sending_mta_ip: Address = Field(None, alias="sending-mta-ip")
    receiving_mx_hostname: MxHostname = Field(None, alias="receiving-mx-hostname")
    receiving_mx_helo: Hostname = Field(None, alias="receiving-mx-helo")
    receiving_ip: Address = Field(None, alias="receiving-ip")
    failed_session_count: Count = Field(0, alias="failed-session-count")
    additional_information: Text = Field(None, alias="additional-information")
    failure_reason_code: Text = Field(None, alias="failure-reason-code")


class TlsPolicyReport(_Model):
    """One entry of `policies`: the policy, its summary and its failure details."""

    policy: TlsPolicy
    summary: TlsSummary = TlsSummary()
    failure_details: tuple[FailureDetail, ...] = Field((), alias="failure-details")

    @field_validator("failure_details", mode="before")
    @classmethod
    def _null_is_none(cls, value: object) -> object:
        return () if value is None else value

    @property
    def successful_session_count(self) -> int:
        return self.summary.successful or 0

    @property
    def failed_session_count(self) -> int:
        return self.summary.failed or 0


class TlsReport(_Model):
    """One whole SMTP TLS report, with the warnings of its parse (not part of its content)."""

    organization_name: Text = Field(None, alias="organization-name")
    date_range: TlsDateRange = Field(alias="date-range")
    contact_info: Text = Field(None, alias="contact-info")
    report_id: Annotated[
        str,
        BeforeValidator(_text_or_none),
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT_CHARS),
    ] = Field(alias="report-id")
    policies: tuple[TlsPolicyReport, ...] = ()
    warnings: tuple[str, ...] = ()

    @field_validator("policies", mode="before")
    @classmethod
    def _null_is_empty(cls, value: object) -> object:
        return () if value is None else value

    @property
    def begin(self) -> datetime:
        return self.date_range.start

    @property
    def end(self) -> datetime:
        return self.date_range.end

    @property
    def policy_domains(self) -> tuple[str, ...]:
        """The distinct policy domains, sorted."""
        return tuple(sorted({entry.policy.policy_domain for entry in self.policies}))

    def value_warnings(self) -> Iterator[str]:
        """What was kept but looks wrong: unknown types, addresses that are none, missing counts."""
        if self.begin > self.end:
            yield f"date-range start {self.begin.isoformat()} is after its end {self.end.isoformat()}"
        for kind, value in sorted(set(self.unknown_tokens())):
            yield f"unknown {kind} {value!r}: kept as written"
        for index, entry in enumerate(self.policies):
            yield from _policy_warnings(f"policies[{index}]", entry)

    def unknown_tokens(self) -> Iterator[tuple[str, str]]:
        for entry in self.policies:
            if entry.policy.policy_type not in KNOWN_POLICY_TYPES:
                yield "policy-type", entry.policy.policy_type
            for detail in entry.failure_details:
                if detail.result_type not in KNOWN_RESULT_TYPES:
                    yield "result-type", detail.result_type


def _policy_warnings(where: str, entry: TlsPolicyReport) -> Iterator[str]:
    for name, count in (("successful", entry.summary.successful), ("failure", entry.summary.failed)):
        if count is None:
            yield f"{where} has no total-{name}-session-count: stored as 0"
    for detail in entry.failure_details:
        for address in (detail.sending_mta_ip, detail.receiving_ip):
            if address is not None and _not_an_address(address):
                yield f"{where} address {address[:40]!r} is not an IP address: kept as written"


def _not_an_address(text: str) -> bool:
    try:
        canonical_ip(text)
    except ValueError:
        return True
    return False
