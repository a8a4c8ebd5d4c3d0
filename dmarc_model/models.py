"""The report model: RFC 7489 Appendix C and RFC 9990 (DMARCbis) aggregate reports as pydantic models.

Enumerated values (dispositions, results, alignment modes, ...) are `Token`s: lower-cased and trimmed,
so any case is accepted. A value outside the known set is kept as it was written (lower-cased), never
mapped to a default and never a crash; `unknown_tokens()` lists them so the parser can warn.

Every number is range-checked against the type it is stored as, so no value that validates can fail
later on its way into a typed column (Parquet, Arrow, DynamoDB numbers):

    value                  stored as            accepted                         otherwise
    <count>                int64 message_count  0 .. 2**32-1                     the record is kept aside
    <begin>, <end>         timestamp(ms)        finite seconds, 1970 .. 9999     schema-violation (the header)
    <pct>                  int32 published_pct  a whole number 0 .. 100          null, with a warning
    begin after end        (both stored)        kept                             a warning
    <source_ip>            string source_ip     an address: no zone id, no /len  the record is kept aside
    domains, other text    string               253, 16k characters              kept aside (header: refused)

A `pct` outside RFC 7489's 0..100 (or not a number) is no reason to lose a report's records, and
storing it would put a meaningless number into the policy columns: it is stored as null, and what was
written is kept in `pct_as_written` and named in the report's warnings. Dates outside 1970..9999 are
not a moment Python, Parquet and Athena all hold, and the date is the report's identity: refused. The
parser keeps a report's total within int64 (`INT64_MAX`: the record carrying it past is kept aside);
the count cap (`MAX_MESSAGE_COUNT`, 50,000 a second for a day from one address) keeps the views' sums
within Athena's bigint, which fails past 2**63 - 1: that takes 2**31 records at the cap.
"""

from __future__ import annotations

import ipaddress
import math
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from operator import attrgetter
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

INT64_MAX = 2**63 - 1  # the largest message total the int64 columns hold
MAX_MESSAGE_COUNT = 2**32 - 1
"""The largest <count> of one record: sums over up to 2**31 records of it still fit int64."""
FIRST_SECOND = 0
LAST_SECOND = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())
"""The dates accepted, in epoch seconds: 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59Z."""
MAX_DOMAIN_CHARS = 253
"""A domain name (policy domain, identifiers, DKIM and SPF domains, selectors): DNS names are at most 253
characters. A longer one is no name: the record is kept aside with the reason (in the header: refused)."""
MAX_TEXT_CHARS = 16 * 1024
"""Any other text or enumerated value (org name, report id, human result, ...): past it, as a domain. Real
org names of some thousand characters are stored; 16k characters is past anything meant as a name."""
_WHOLE_PERCENT = re.compile(r"[0-9]{1,3}")
_SHOWN = 40


def _shown(value: object) -> str:
    """A value as written, for a warning or a refusal's detail: quoted, and cut if it is long."""
    text = repr(value)
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}... ({len(text)} characters)"


KNOWN_TOKENS: dict[str, frozenset[str]] = {
    "disposition": frozenset({"none", "quarantine", "reject", "pass"}),
    "dmarc_result": frozenset({"pass", "fail"}),
    "dkim_result": frozenset({"none", "pass", "fail", "policy", "neutral", "temperror", "permerror"}),
    "spf_result": frozenset({"none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"}),
    "spf_scope": frozenset({"helo", "mfrom"}),
    "alignment": frozenset({"r", "s"}),
    "reason": frozenset(
        {
            "forwarded",
            "sampled_out",
            "trusted_forwarder",
            "mailing_list",
            "local_policy",
            "policy_test_mode",
            "other",
        }
    ),
    "testing": frozenset({"y", "n"}),
    "discovery_method": frozenset({"psl", "treewalk"}),
}


def canonical_ip(value: str) -> str:
    """The canonical text of an IP address (IPv6 compressed per RFC 5952); ValueError if it is none.

    Both families take a fast path through the C library. For IPv6, `inet_ntop` compresses exactly as
    `ipaddress` does (longest run of two or more zero groups, the first on a tie, lower-case hex),
    except that it writes an IPv4 tail for `::a.b.c.d` and `::ffff:a.b.c.d`: those, and anything the
    C library refuses (scoped addresses among them), go through `ipaddress`, which is slow but exact.
    """
    value = value.strip()
    if "/" in value:
        raise ValueError(f"{_shown(value)} is a network (CIDR), not an address")
    if "%" in value:
        raise ValueError(f"{_shown(value)} has a zone id, which names an interface of the reporter's host")
    if ":" not in value:
        try:
            socket.inet_pton(socket.AF_INET, value)
        except OSError:
            raise ValueError(f"{value!r} is not an IP address") from None
        return value  # inet_pton takes only the canonical dotted quad (no leading zeros, 4 parts)
    try:
        text = socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, value))
    except (OSError, ValueError):
        text = "."  # refused by the C library: let ipaddress accept it or say why not
    if "." not in text:
        return text
    address = ipaddress.ip_address(value)
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:  # RFC 5952 section 5; Python's own text for these changed in 3.13
        return f"::ffff:{mapped}"
    return str(address)


def _dns_length(value: str) -> str:
    if len(value) > MAX_DOMAIN_CHARS:
        raise ValueError(f"{len(value)} characters; a domain name has at most {MAX_DOMAIN_CHARS} (RFC 1035)")
    return value


Token = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=MAX_TEXT_CHARS)]
"""An enumerated value: trimmed, lower-cased, unknown values kept as written."""
OptionalToken = Token | None
Text = Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT_CHARS)]
"""Free text, trimmed. The parser hands empty elements over as None."""
Domain = Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=MAX_DOMAIN_CHARS)]
"""A domain name as written, trimmed (case kept)."""
PolicyDomain = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True), AfterValidator(_dns_length)
]
"""The policy domain: trimmed and lower-cased, as tokens are."""
IpAddress = Annotated[str, AfterValidator(canonical_ip)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class DateRange(_Model):
    begin: datetime
    end: datetime

    @field_validator("begin", "end", mode="before")
    @classmethod
    def _from_epoch(cls, value: object) -> object:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            written = value.strip() if isinstance(value, str) else value
            try:
                seconds = float(written)  # "1524268799 ", "1.7e9" and "1705904907.0" all occur in the wild
            except OverflowError:  # an int past the largest float
                seconds = math.inf
            if not (math.isfinite(seconds) and FIRST_SECOND <= seconds <= LAST_SECOND):
                raise ValueError(f"{_shown(written)} is not a number of seconds from 1970 to 9999")
            return datetime.fromtimestamp(int(seconds), tz=UTC)
        return value


class ReportMetadata(_Model):
    org_name: Text = None
    email: Text = None
    extra_contact_info: Text = None
    report_id: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT_CHARS)
    ]
    date_range: DateRange
    errors: tuple[str, ...] = ()
    generator: Text = None

    @field_validator("errors", mode="before")
    @classmethod
    def _drop_blank(cls, value: object) -> object:
        if isinstance(value, list):
            return tuple(s.strip() for s in value if isinstance(s, str) and s.strip())
        return value


class PolicyPublished(_Model):
    domain: PolicyDomain
    adkim: OptionalToken = None
    aspf: OptionalToken = None
    p: OptionalToken = None
    sp: OptionalToken = None
    pct: int | None = Field(None, ge=0, le=100)
    pct_as_written: str | None = None
    """A `pct` that was no whole number 0..100, as written (`pct` is then None): see the module."""
    fo: Text = None
    np: OptionalToken = None
    testing: OptionalToken = None
    discovery_method: OptionalToken = None

    @model_validator(mode="before")
    @classmethod
    def _pct_out_of_range(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("pct") is None:
            return data
        written = data["pct"]
        if isinstance(written, int) and not isinstance(written, bool) and 0 <= written <= 100:
            return data
        if isinstance(written, str) and _WHOLE_PERCENT.fullmatch(written.strip()) and int(written) <= 100:
            return {**data, "pct": int(written)}
        return {**data, "pct": None, "pct_as_written": str(written).strip()}


class PolicyOverrideReason(_Model):
    type: OptionalToken = None
    comment: Text = None


class PolicyEvaluated(_Model):
    disposition: Token
    dkim: OptionalToken = None
    spf: OptionalToken = None
    reasons: tuple[PolicyOverrideReason, ...] = Field((), alias="reason")


class Row(_Model):
    source_ip: IpAddress
    count: int = Field(ge=0, le=MAX_MESSAGE_COUNT)
    policy_evaluated: PolicyEvaluated


class Identifiers(_Model):
    header_from: Domain = None
    envelope_from: Domain = None
    envelope_to: Domain = None


class DkimResult(_Model):
    domain: Domain = None
    selector: Domain = None
    scope: OptionalToken = None
    result: OptionalToken = None
    human_result: Text = None


class SpfResult(_Model):
    domain: Domain = None
    scope: OptionalToken = None
    result: OptionalToken = None
    human_result: Text = None


class AuthResults(_Model):
    dkim: tuple[DkimResult, ...] = ()
    spf: tuple[SpfResult, ...] = ()


class Record(_Model):
    row: Row
    identifiers: Identifiers = Identifiers()
    auth_results: AuthResults = AuthResults()
    extensions: str | None = None
    """Raw XML text of the record's <extensions>, if any."""

    @property
    def dkim_aligned(self) -> bool:
        return self.row.policy_evaluated.dkim == "pass"

    @property
    def spf_aligned(self) -> bool:
        return self.row.policy_evaluated.spf == "pass"

    @property
    def dmarc_pass(self) -> bool:
        return self.dkim_aligned or self.spf_aligned

    def unknown_tokens(self) -> Iterator[tuple[str, str]]:
        """(kind, value) for every enumerated value outside the known set (`TokenTally` for many)."""
        evaluated = self.row.policy_evaluated
        yield from _unknown("disposition", evaluated.disposition)
        yield from _unknown("dmarc_result", evaluated.dkim)
        yield from _unknown("dmarc_result", evaluated.spf)
        for reason in evaluated.reasons:
            yield from _unknown("reason", reason.type)
        for dkim in self.auth_results.dkim:
            yield from _unknown("dkim_result", dkim.result)
        for spf in self.auth_results.spf:
            yield from _unknown("spf_result", spf.result)
            yield from _unknown("spf_scope", spf.scope)


def _unknown(kind: str, value: str | None) -> Iterator[tuple[str, str]]:
    if value is not None and value not in KNOWN_TOKENS[kind]:
        yield kind, value


_RESULT = attrgetter("result")
_RESULT_AND_SCOPE = attrgetter("result", "scope")


class TokenTally:
    """The distinct enumerated values of many records, checked against `KNOWN_TOKENS` once at the end.

    `unknown()` is the union of `Record.unknown_tokens()` over every record added, for a fraction of
    the cost: a report repeats a handful of values over and over, so the sets stay tiny.
    """

    __slots__ = ("_dkim_results", "_evaluated", "_reason_types", "_spf_results")

    def __init__(self) -> None:
        self._evaluated: set[tuple[str, str | None, str | None]] = set()
        self._reason_types: set[str | None] = set()
        self._dkim_results: set[str | None] = set()
        self._spf_results: set[tuple[str | None, str | None]] = set()

    def add(self, record: Record) -> None:
        evaluated = record.row.policy_evaluated
        self._evaluated.add((evaluated.disposition, evaluated.dkim, evaluated.spf))
        if evaluated.reasons:
            self._reason_types.update([reason.type for reason in evaluated.reasons])
        auth_results = record.auth_results
        self._dkim_results.update(map(_RESULT, auth_results.dkim))
        self._spf_results.update(map(_RESULT_AND_SCOPE, auth_results.spf))

    def unknown(self) -> set[tuple[str, str]]:
        """(kind, value) for every enumerated value seen outside the known set."""
        found: set[tuple[str, str]] = set()
        for disposition, dkim, spf in self._evaluated:
            found.update(_unknown("disposition", disposition))
            found.update(_unknown("dmarc_result", dkim))
            found.update(_unknown("dmarc_result", spf))
        for reason_type in self._reason_types:
            found.update(_unknown("reason", reason_type))
        for dkim_result in self._dkim_results:
            found.update(_unknown("dkim_result", dkim_result))
        for spf_result, spf_scope in self._spf_results:
            found.update(_unknown("spf_result", spf_result))
            found.update(_unknown("spf_scope", spf_scope))
        return found


class RejectedRecord(_Model):
    """A <record> that failed validation, kept aside with its reason; the rest of its report stands."""

    index: int
    reason: str
    xml: str


class ReportHeader(_Model):
    """Everything in a report but its records: what the parser reads before streaming the records."""

    version: Text = None
    xml_schema: str
    """Which schema the document follows: 'dmarc-2.0' (RFC 9990), 'draft' (no or another namespace)."""
    report_metadata: ReportMetadata
    policy_published: PolicyPublished
    extensions: str | None = None

    @property
    def policy_domain(self) -> str:
        return self.policy_published.domain

    @property
    def begin(self) -> datetime:
        return self.report_metadata.date_range.begin

    @property
    def end(self) -> datetime:
        return self.report_metadata.date_range.end

    def value_warnings(self) -> Iterator[str]:
        """What the header holds that was kept, but looks wrong."""
        written = self.policy_published.pct_as_written
        if written is not None:
            yield f"policy_published pct {_shown(written)} is not a whole number 0..100: stored as null"
        if self.begin > self.end:
            yield f"date_range begin {self.begin.isoformat()} is after its end {self.end.isoformat()}"

    def unknown_tokens(self) -> Iterator[tuple[str, str]]:
        policy = self.policy_published
        for kind, value in (
            ("alignment", policy.adkim),
            ("alignment", policy.aspf),
            ("disposition", policy.p),
            ("disposition", policy.sp),
            ("disposition", policy.np),
            ("testing", policy.testing),
            ("discovery_method", policy.discovery_method),
        ):
            yield from _unknown(kind, value)


class AggregateReport(_Model):
    """One whole report in memory: header, valid records, records kept aside, warnings."""

    header: ReportHeader
    records: tuple[Record, ...]
    rejected: tuple[RejectedRecord, ...] = ()
    warnings: tuple[str, ...] = ()
