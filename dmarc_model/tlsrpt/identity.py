"""TLS report identity (which report this is) and content (what it says), as for DMARC reports.

The key is built from ("tlsrpt", organization name, report id, the policy domains, start, end),
normalised (trimmed; organization name and domains lower-cased; the domains distinct and sorted, joined
by commas; dates as epoch seconds) and hashed: the same report mailed twice, gzipped or not, re-indented
or with its keys in another order, has the same key. The leading "tlsrpt" keeps TLS keys apart from
DMARC keys (`dmarc_model.identity`), which share the claim index.

The content hash is SHA-256 over a canonical JSON form of the validated values (`TLS_CONTENT_VERSION`):
keys sorted, no white space, enumerated values lower-cased, addresses in canonical form, dates as
epoch seconds, and the policies and each policy's failure details as multisets (their order does not
count); the lines of a policy string and the MX hosts keep their order. Warnings are not hashed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from dmarc_model.identity import KEY_LENGTH
from dmarc_model.tlsrpt.models import FailureDetail, TlsPolicyReport, TlsReport

__all__ = ["TLS_CONTENT_VERSION", "tls_content_sha256", "tls_report_key"]

TLS_CONTENT_VERSION = 1
"""The version of the canonical form hashed by `tls_content_sha256`."""
_SEPARATOR = "\x1f"


def tls_report_key(report: TlsReport) -> str:
    """A 32-hex-digit key naming the report: stable, file-name and DynamoDB safe."""
    parts = (
        "tlsrpt",
        (report.organization_name or "").strip().lower(),
        report.report_id.strip(),
        ",".join(report.policy_domains),
        str(int(report.begin.timestamp())),
        str(int(report.end.timestamp())),
    )
    return hashlib.sha256(_SEPARATOR.join(parts).encode("utf-8")).hexdigest()[:KEY_LENGTH]


def tls_content_sha256(report: TlsReport) -> str:
    """SHA-256 (hex) of the report's canonical content: see the module."""
    canonical = {
        "version": TLS_CONTENT_VERSION,
        "organization_name": report.organization_name,
        "contact_info": report.contact_info,
        "report_id": report.report_id,
        "begin": int(report.begin.timestamp()),
        "end": int(report.end.timestamp()),
        "policies": sorted(_canonical_json(_policy(entry)) for entry in report.policies),
    }
    return hashlib.sha256(_canonical_json(canonical).encode("utf-8")).hexdigest()


def _policy(entry: TlsPolicyReport) -> dict[str, Any]:
    return {
        "policy": entry.policy.model_dump(mode="json"),
        "summary": entry.summary.model_dump(mode="json"),
        "failure_details": sorted(_canonical_json(_detail(detail)) for detail in entry.failure_details),
    }


def _detail(detail: FailureDetail) -> dict[str, Any]:
    return detail.model_dump(mode="json")


def _canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
