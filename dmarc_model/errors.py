"""Errors of the pure core. Callers dispatch on the type, never on the message text.

The whole tree, with the shell's errors and each one's exit code, is drawn in `dmarc_store.errors`.
The core's part of it:

    DmarcError                   base of everything this project raises on purpose          exit 1
    ├── UsageError               a value the user typed is wrong (an IP, a query name)      exit 2
    ├── ConfigurationError       a setting is missing or wrong: retrying will not help      exit 3
    │   └── AsnTableError        the ASN table file is missing, corrupt or of another format
    └── InputRefused             the input cannot become a report; quarantined under `reason`  exit 1
        ├── EmptyInput              "empty"                0 bytes, only white space, a zip of no files
        ├── NotAReport              "not-a-report"         no DMARC aggregate report inside
        ├── NotAggregate            "not-aggregate"        another kind: DMARC failure (RUF), SMTP TLS
        │   └── FailureReportFound  "not-aggregate"        a DMARC failure report (RUF), with what was read
        │                                                  of it: stored privately (dmarc_model.ruf), not
        │                                                  quarantined
        ├── MalformedXml            "malformed-xml"        XML that not even the recovery pass can read
        ├── MalformedJson           "malformed-json"       a TLS report (RFC 8460) that is not valid JSON
        ├── ForbiddenXml            "forbidden-xml"        a DTD, entity declarations or external references
        ├── SchemaViolation         "schema-violation"     a <feedback> whose header is missing or invalid
        ├── TooLarge                "too-large"            past a size cap: all bytes, an element, pre-header
        ├── ArchiveBomb             "archive-bomb"         a ratio, member count or depth past its cap
        ├── CorruptArchive          "corrupt-archive"      a truncated or damaged gzip or zip
        ├── UnsupportedArchive      "unsupported-archive"  encrypted, neither stored nor deflated, unsafe name
        └── MalformedMime           "malformed-mime"       an email that cannot be read as MIME

A record that fails validation is not an error of its report: it is kept aside as a `RejectedRecord`
with its reason, and the rest of the report stands. The I/O shell adds its own errors (conflicts,
transient storage failures) in `dmarc_store.errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from dmarc_model.ruf.fields import FailureSample


class DmarcError(Exception):
    """Base of every error this project raises on purpose."""

    exit_code: ClassVar[int] = 1
    """What the `dmarc` command exits with when this error ends it."""


class UsageError(DmarcError, ValueError):
    """A value given by the user (an argument, an option, a parameter) is not acceptable."""

    exit_code = 2


class ConfigurationError(DmarcError):
    """A setting is missing or wrong, or the environment lacks something (no store, no credentials)."""

    exit_code = 3


class AsnTableError(ConfigurationError):
    """The ASN table (`dmarc_model.senders.asn`) is missing, truncated, corrupt or of another format.

    Rebuilding it (`make asn`) or pointing DMARC_ASN_TABLE at a good copy fixes it; retrying does not.
    """


class InputRefused(DmarcError):
    """The input (or one piece of it) holds no usable report. `reason` is stable and machine-readable."""

    reason: ClassVar[str] = "refused"

    def __init__(self, detail: str, *, location: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.location = location

    def __str__(self) -> str:
        where = f" (at {self.location})" if self.location else ""
        return f"{self.reason}: {self.detail}{where}"


class EmptyInput(InputRefused):
    reason = "empty"


class NotAReport(InputRefused):
    reason = "not-a-report"


class NotAggregate(InputRefused):
    reason = "not-aggregate"


class FailureReportFound(NotAggregate):
    """A DMARC failure report (RUF): not an aggregate report, so never parsed as one. It carries the
    `FailureSample` read from it; the ingest service stores that (hashed, `dmarc_model.ruf`) and moves
    the raw mail to `ruf-raw/` instead of quarantining it. `detail` never holds what the mail says."""

    def __init__(self, detail: str, *, location: str = "", sample: FailureSample) -> None:
        super().__init__(detail, location=location)
        self.sample = sample


class MalformedXml(InputRefused):
    reason = "malformed-xml"


class MalformedJson(InputRefused):
    """A TLS report (RFC 8460) whose JSON does not parse, is not UTF-8, nests too deep or repeats a key."""

    reason = "malformed-json"


class ForbiddenXml(InputRefused):
    reason = "forbidden-xml"


class SchemaViolation(InputRefused):
    reason = "schema-violation"


class TooLarge(InputRefused):
    reason = "too-large"


class ArchiveBomb(InputRefused):
    reason = "archive-bomb"


class CorruptArchive(InputRefused):
    reason = "corrupt-archive"


class UnsupportedArchive(InputRefused):
    reason = "unsupported-archive"


class MalformedMime(InputRefused):
    reason = "malformed-mime"


REFUSAL_TYPES: tuple[type[InputRefused], ...] = (
    EmptyInput,
    NotAReport,
    NotAggregate,
    FailureReportFound,
    MalformedXml,
    MalformedJson,
    ForbiddenXml,
    SchemaViolation,
    TooLarge,
    ArchiveBomb,
    CorruptArchive,
    UnsupportedArchive,
    MalformedMime,
)
"""Every leaf, in the order of the tree above; each `reason` is also a quarantine folder name."""
