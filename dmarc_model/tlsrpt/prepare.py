"""One TLS report's bytes -> the rows every store writes: the last pure step before storage, as
`dmarc_model.prepare` is for DMARC reports.

    rows = prepare_tls_report(data, source_key="uploads/tls.json.gz", ingested_at=now)
    rows.report_key, rows.content_sha256    what the claim decides on (duplicate, conflict, new)
    rows.dt                                 the partition, `YYYY-MM-DD`
    rows.tables                             table name -> its rows (tls_reports, tls_policies, tls_failures)
"""

from __future__ import annotations

from datetime import datetime

from dmarc_model.tlsrpt.decode import MAX_JSON_BYTES
from dmarc_model.tlsrpt.identity import tls_content_sha256, tls_report_key
from dmarc_model.tlsrpt.parse import parse_tls_report
from dmarc_model.tlsrpt.rows import TlsRows, tls_rows

__all__ = ["prepare_tls_report"]


def prepare_tls_report(
    data: bytes,
    *,
    source_key: str,
    ingested_at: datetime,
    max_bytes: int = MAX_JSON_BYTES,
    location: str = "",
) -> TlsRows:
    """Parse one TLS report (gzipped or plain JSON) into its rows; raises InputRefused."""
    report = parse_tls_report(data, max_bytes=max_bytes, location=location or source_key)
    return tls_rows(
        report,
        report_key=tls_report_key(report),
        source_key=source_key,
        content_sha256=tls_content_sha256(report),
        ingested_at=ingested_at,
    )
