"""Bytes -> a validated `TlsReport`, or an `InputRefused` naming why not.

The JSON is read within the bounds of `dmarc_model.tlsrpt.decode`, then validated by the models of
`dmarc_model.tlsrpt.models`; what was kept but looks wrong (an unknown result type, an address that is
none) becomes the report's warnings, as for DMARC reports.
"""

from __future__ import annotations

from pydantic import ValidationError

from dmarc_model.errors import SchemaViolation
from dmarc_model.tlsrpt.decode import MAX_JSON_BYTES, load_report_json
from dmarc_model.tlsrpt.models import TlsReport

__all__ = ["parse_tls_report"]

_SHOWN_ERRORS = 3


def parse_tls_report(data: bytes, *, max_bytes: int = MAX_JSON_BYTES, location: str = "") -> TlsReport:
    """A TLS report from its JSON (gzipped or plain); `location` names the piece in refusals."""
    value = load_report_json(data, max_bytes=max_bytes, location=location)
    try:
        report = TlsReport.model_validate(value)
    except ValidationError as error:
        raise SchemaViolation(_describe(error), location=location) from None
    warnings = tuple(report.value_warnings())
    return report.model_copy(update={"warnings": warnings}) if warnings else report


def _describe(error: ValidationError) -> str:
    """The first few problems, each as `where: what`, without the input values (they may be huge)."""
    problems = error.errors(include_url=False, include_input=False)
    shown = [
        f"{'.'.join(str(part) for part in problem['loc']) or 'report'}: {problem['msg']}"
        for problem in problems[:_SHOWN_ERRORS]
    ]
    more = len(problems) - len(shown)
    return "not an RFC 8460 report: " + "; ".join(shown) + (f" (and {more} more)" if more > 0 else "")
