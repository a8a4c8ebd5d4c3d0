"""One pass over a report: its stream, totals, key and content hash, for `dmarc parse` and the tests.
An SMTP TLS report (RFC 8460) found on the way is summed up too (`TlsDigest`).

`dmarc_model.tlsrpt` is imported only when a TLS report is found: its package brings in pyarrow (for
its rows), which `dmarc parse` of DMARC reports does not need and which would cost it about 50 MiB of
memory and a fifth of a second.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dmarc_model.errors import InputRefused
from dmarc_model.identity import report_key
from dmarc_model.limits import Limits
from dmarc_model.parse import read_report
from dmarc_model.summary import ReportTotals
from dmarc_model.timestamps import iso_z
from dmarc_model.unpack import Payload, TlsPayload, unpack

if TYPE_CHECKING:
    from dmarc_model.tlsrpt import TlsReport


@dataclass(frozen=True)
class ReportDigest:
    """What one report says in totals, without its records."""

    location: str
    report_key: str
    content_sha256: str
    org_name: str | None
    report_id: str
    policy_domain: str
    begin: datetime
    end: datetime
    totals: ReportTotals
    rejected_records: int
    warnings: tuple[str, ...]

    def as_json(self, source: str) -> dict[str, Any]:
        """The `dmarc parse --json` line (the first keys are a public contract)."""
        return {
            "source": source,
            "org_name": self.org_name,
            "report_id": self.report_id,
            "policy_domain": self.policy_domain,
            "begin": iso_z(self.begin),
            "end": iso_z(self.end),
            "record_count": self.totals.record_count,
            "message_total": self.totals.message_total,
            "dkim_aligned_pass": self.totals.dkim_aligned_pass,
            "spf_aligned_pass": self.totals.spf_aligned_pass,
            "dmarc_pass": self.totals.dmarc_pass,
            "disposition_totals": self.totals.disposition_totals,
            "warnings": list(self.warnings),
            "rejected_records": self.rejected_records,
            "report_key": self.report_key,
            "location": self.location,
            "kind": "aggregate",
        }


@dataclass(frozen=True)
class TlsDigest:
    """What one SMTP TLS report says in totals: its sessions, over all its policies."""

    location: str
    report: TlsReport

    def as_json(self, source: str) -> dict[str, Any]:
        """The `dmarc parse --json` line of a TLS report: the DMARC line's names where they fit
        (`record_count` its policies, `message_total` its sessions), then its own."""
        from dmarc_model.tlsrpt import tls_content_sha256, tls_report_key

        report = self.report
        successful = sum(entry.successful_session_count for entry in report.policies)
        failed = sum(entry.failed_session_count for entry in report.policies)
        return {
            "source": source,
            "org_name": report.organization_name,
            "report_id": report.report_id,
            "policy_domain": ",".join(report.policy_domains),
            "begin": iso_z(report.begin),
            "end": iso_z(report.end),
            "record_count": len(report.policies),
            "message_total": successful + failed,
            "successful_session_count": successful,
            "failed_session_count": failed,
            "warnings": list(report.warnings),
            "report_key": tls_report_key(report),
            "content_sha256": tls_content_sha256(report),
            "location": self.location,
            "kind": "tlsrpt",
        }


def digest_payload(payload: Payload) -> ReportDigest:
    """Read one XML document through to the end; raises InputRefused if it is no usable report."""
    stream = read_report(payload)
    header = stream.header
    totals = ReportTotals()
    for record in stream.records():
        totals.add(record)
    metadata = header.report_metadata
    return ReportDigest(
        location=payload.location,
        report_key=report_key(header),
        content_sha256=stream.content_sha256,
        org_name=metadata.org_name,
        report_id=metadata.report_id,
        policy_domain=header.policy_domain,
        begin=header.begin,
        end=header.end,
        totals=totals,
        rejected_records=stream.rejected_count,
        warnings=tuple(stream.warnings),
    )


def digest_input(
    source: bytes | Path, *, limits: Limits | None = None, name: str = ""
) -> Iterator[ReportDigest | TlsDigest | InputRefused]:
    """Every report in an input as a digest, and every refused piece, in input order."""
    for found in unpack(source, limits=limits, name=name):
        if isinstance(found, InputRefused):
            yield found
            continue
        try:
            if isinstance(found, TlsPayload):
                from dmarc_model.tlsrpt import parse_tls_report

                yield TlsDigest(found.location, parse_tls_report(found.data, location=found.location))
            else:
                yield digest_payload(found)
        except InputRefused as refused:
            yield refused
