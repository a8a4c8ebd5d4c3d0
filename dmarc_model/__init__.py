"""The pure core: bytes in, report models and rows out. No AWS, no network, no environment.

unpack(bytes | Path)      -> Payload (an XML document) | InputRefused, for every piece inside
read_report(Payload)      -> ReportStream: header now, records one at a time
parse_report(Payload)     -> AggregateReport, all in memory
report_key(header)        -> the report's stable identity
"""

from dmarc_model.errors import DmarcError, InputRefused
from dmarc_model.identity import report_key
from dmarc_model.limits import Limits
from dmarc_model.models import (
    AggregateReport,
    DkimResult,
    PolicyEvaluated,
    PolicyPublished,
    Record,
    RejectedRecord,
    ReportHeader,
    ReportMetadata,
    SpfResult,
)
from dmarc_model.parse import ReportStream, parse_report, read_report
from dmarc_model.summary import ReportTotals
from dmarc_model.unpack import Payload, unpack

__all__ = [
    "AggregateReport",
    "DkimResult",
    "DmarcError",
    "InputRefused",
    "Limits",
    "Payload",
    "PolicyEvaluated",
    "PolicyPublished",
    "Record",
    "RejectedRecord",
    "ReportHeader",
    "ReportMetadata",
    "ReportStream",
    "ReportTotals",
    "SpfResult",
    "parse_report",
    "read_report",
    "report_key",
    "unpack",
]
