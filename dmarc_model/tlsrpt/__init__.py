"""SMTP TLS reports (RFC 8460): bytes in, a validated report, its identity and its rows out.

    sniff(data)                      is this JSON (gzipped or plain) a TLS report?
    parse_tls_report(data, ...)      the validated `TlsReport`, or an `InputRefused` naming why not
    tls_report_key(report)           its identity, as `dmarc_model.identity` does for DMARC reports
    tls_content_sha256(report)       what it says, for the claim's duplicate/conflict decision
    tls_rows(report, ...)            its rows of `tls_reports`, `tls_policies`, `tls_failures`
    prepare_tls_report(data, ...)    all of the above in one call: what the ingest stores

The bounds are in `decode` (bytes, depth, keys, counts of policies and details) and `models` (values);
the columns in `dmarc_model.tls_columns`. `MEDIA_TYPES` are the MIME types RFC 8460 section 5.3 gives a
report's attachment; the bytes still decide (`sniff`), as for every other kind.
"""

from dmarc_model.tlsrpt.decode import (
    MAX_DEPTH,
    MAX_FAILURE_DETAILS,
    MAX_JSON_BYTES,
    MAX_POLICIES,
    REQUIRED_KEYS,
    sniff,
)
from dmarc_model.tlsrpt.identity import TLS_CONTENT_VERSION, tls_content_sha256, tls_report_key
from dmarc_model.tlsrpt.models import (
    KNOWN_POLICY_TYPES,
    KNOWN_RESULT_TYPES,
    MAX_SESSION_COUNT,
    FailureDetail,
    TlsDateRange,
    TlsPolicy,
    TlsPolicyReport,
    TlsReport,
    TlsSummary,
)
from dmarc_model.tlsrpt.parse import parse_tls_report
from dmarc_model.tlsrpt.prepare import prepare_tls_report
from dmarc_model.tlsrpt.rows import TlsRows, tls_partition_date, tls_rows

MEDIA_TYPES = ("application/tlsrpt+gzip", "application/tlsrpt+json")

__all__ = [
    "KNOWN_POLICY_TYPES",
    "KNOWN_RESULT_TYPES",
    "MAX_DEPTH",
    "MAX_FAILURE_DETAILS",
    "MAX_JSON_BYTES",
    "MAX_POLICIES",
    "MAX_SESSION_COUNT",
    "MEDIA_TYPES",
    "REQUIRED_KEYS",
    "TLS_CONTENT_VERSION",
    "FailureDetail",
    "TlsDateRange",
    "TlsPolicy",
    "TlsPolicyReport",
    "TlsReport",
    "TlsRows",
    "TlsSummary",
    "parse_tls_report",
    "prepare_tls_report",
    "sniff",
    "tls_content_sha256",
    "tls_partition_date",
    "tls_report_key",
    "tls_rows",
]
