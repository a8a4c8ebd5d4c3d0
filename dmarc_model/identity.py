"""Report identity: which report this is.

What a report says is hashed by the parser as it reads (`ReportStream.content_sha256`, in canonical
form: `dmarc_model.content`): the same key with another content hash is a conflict.

The key is built from (org_name, report_id, policy domain, begin, end), normalised (trimmed; org name
and domain lower-cased; dates as epoch seconds) and hashed, so it is stable across runs, machines and
containers: the same report forwarded, zipped instead of gzipped, or delivered twice has the same key.
The same report_id with another date range is another report.
"""

from __future__ import annotations

import hashlib

from dmarc_model.models import ReportHeader

KEY_LENGTH = 32
_SEPARATOR = "\x1f"


def report_key(header: ReportHeader) -> str:
    """A 32-hex-digit key naming the report: stable, file-name and DynamoDB safe."""
    metadata = header.report_metadata
    parts = (
        (metadata.org_name or "").strip().lower(),
        metadata.report_id.strip(),
        header.policy_domain.strip().lower(),
        str(int(header.begin.timestamp())),
        str(int(header.end.timestamp())),
    )
    return hashlib.sha256(_SEPARATOR.join(parts).encode("utf-8")).hexdigest()[:KEY_LENGTH]
