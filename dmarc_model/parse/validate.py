"""One <record> -> a `Record`, or a `RejectedRecord` with its reason; validation errors in short."""

from __future__ import annotations

from typing import Any

from lxml import etree
from pydantic import ValidationError

from dmarc_model.content import ContentHash, canonical_extensions
from dmarc_model.models import INT64_MAX, Record, RejectedRecord
from dmarc_model.parse.elements import _element_value, _extension_text, _local

MAX_KEPT_ASIDE = 10_000
"""Rejected records kept with their XML (about 15 MiB at most); past it they are counted, not kept, so
a report of a million bad records costs no more memory than a good one. The input itself is kept whole
in the record-error quarantine copy."""


class _RecordChecker:
    """Validates each <record> of one report, keeps its message total within int64, and hashes it."""

    __slots__ = ("content", "message_total", "rejected", "rejected_count")

    def __init__(self, content: ContentHash, rejected: list[RejectedRecord]) -> None:
        self.content = content
        self.rejected = rejected
        self.rejected_count = 0
        self.message_total = 0

    def check(self, element: etree._Element, index: int) -> Record | None:
        """The record, or None once it is kept aside in `rejected` with its reason."""
        value = _element_value(element, None)
        try:
            # Record.model_validate without its Python wrapper, whose argument checks we do not need
            record: Record = Record.__pydantic_validator__.validate_python(value)
        except (ValidationError, TypeError) as error:
            reason = _describe(error) if isinstance(error, ValidationError) else str(error)
            self._reject(element, index, reason, value)
            return None
        count = record.row.count
        if self.message_total + count > INT64_MAX:
            reason = f"row.count: {count} would carry the report's message total past {INT64_MAX} (int64)"
            self._reject(element, index, reason, value)
            return None
        self.message_total += count
        self.content.add_record(record, None if record.extensions is None else _extensions(element))
        return record

    def _reject(self, element: etree._Element, index: int, reason: str, value: Any) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_KEPT_ASIDE:
            self.rejected.append(RejectedRecord(index=index, reason=reason, xml=_extension_text(element)))
        self.content.add_rejected(value, _extensions(element) if "extensions" in value else None)


def _extensions(record: etree._Element) -> str | None:
    """The canonical XML of a record's <extensions> (the last one, as the model keeps the last)."""
    found = [child for child in record if _local(child) == "extensions"]
    return canonical_extensions(found[-1]) if found else None


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors()[:5]:
        where = ".".join(str(part) for part in item["loc"])
        problems.append(f"{where}: {item['msg']}")
    return "; ".join(problems)
