"""The pure core: bytes in, report models and rows out. No AWS, no network, no environment.

unpack(bytes | Path)      -> Payload (an XML document) | InputRefused, for every piece inside
read_report(Payload)      -> ReportStream: header now, records one at a time
parse_report(Payload)     -> AggregateReport, all in memory
report_key(header)        -> the report's stable identity
"""

from __future__ import annotations

import sys
import types
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOME = {
    "DmarcError": "errors",
    "InputRefused": "errors",
    "report_key": "identity",
    "Limits": "limits",
    "AggregateReport": "models",
    "DkimResult": "models",
    "PolicyEvaluated": "models",
    "PolicyPublished": "models",
    "Record": "models",
    "RejectedRecord": "models",
    "ReportHeader": "models",
    "ReportMetadata": "models",
    "SpfResult": "models",
    "ReportStream": "parse",
    "parse_report": "parse",
    "read_report": "parse",
    "ReportTotals": "summary",
    "Payload": "unpack",
    "unpack": "unpack",
}
"""Each public name -> its module, imported on first use: importing one module of the core (its
errors, say) does not load pydantic and the models."""

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


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(f"dmarc_model.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Package(types.ModuleType):
    """This package, whose ``unpack`` attribute stays the function when the import system would set it to
    the ``dmarc_model.unpack`` package (it sets every submodule as an attribute of its parent)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _HOME and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
