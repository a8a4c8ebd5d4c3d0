"""One <record> -> a `Record`, or a `RejectedRecord` with its reason; validation errors in short."""

from __future__ import annotations

from typing import Any

from lxml import etree
from pydantic import ValidationError

from dmarc_model.content import ContentHash, canonical_extensions, record_json_of_parts
from dmarc_model.models import INT64_MAX, Record, RejectedRecord, TokenTally
from dmarc_model.parse.bounds import MAX_AUTH_RESULTS, MAX_RECORD_CHILDREN
from dmarc_model.parse.elements import _element_value, _extension_text, _local
from dmarc_model.parse.fast import FastRecords

MAX_KEPT_ASIDE = 10_000
"""Rejected records kept with their XML (about 15 MiB at most); past it they are counted, not kept, so
a report of a million bad records costs no more memory than a good one. The input itself is kept whole
in the record-error quarantine copy."""
MAX_KEPT_ASIDE_CHARS = 16 * 1024 * 1024
"""Characters of XML of the records kept aside, all together: a rejected record may be up to
`bounds.MAX_ELEMENT_BYTES` (10k records of 10 kB domains are 100 MB). Once a record would pass it, that
one and the later ones are counted, not kept."""


class _RecordChecker:
    """Validates each <record> of one report, keeps its message total within int64, hashes it and
    tallies its enumerated values (`tokens`). A record of the usual shape takes the fast path
    (`fast`), unless `fast_path` is False; every other one the generic walk."""

    __slots__ = (
        "content",
        "fast",
        "kept_aside_chars",
        "message_total",
        "rejected",
        "rejected_count",
        "tokens",
    )

    def __init__(self, content: ContentHash, rejected: list[RejectedRecord], fast_path: bool = True) -> None:
        self.content = content
        self.rejected = rejected
        self.rejected_count = 0
        self.message_total = 0
        self.kept_aside_chars = 0
        self.tokens = TokenTally()
        fits = MAX_RECORD_CHILDREN >= 3  # the fast path's records have three children
        self.fast = FastRecords(MAX_AUTH_RESULTS) if fast_path and fits else None

    def check(self, element: etree._Element, index: int) -> Record | None:
        """The record, or None once it is kept aside in `rejected` with its reason."""
        fast = self.fast.read(element) if self.fast is not None else None
        if fast is not None:
            record, source_ip, count, evaluated, identifiers, auth_results = fast
            if self.message_total + count <= INT64_MAX:
                self.message_total += count
                self.content.add_record_json(
                    record_json_of_parts(
                        source_ip, count, evaluated.json, identifiers.json, auth_results.json
                    )
                )
                if not (evaluated.tallied and auth_results.tallied):  # else its values are in already
                    self.tokens.add(record)
                    evaluated.tallied = auth_results.tallied = True
                return record
        return self._check(element, index)

    def _check(self, element: etree._Element, index: int) -> Record | None:
        """`check` on the generic path."""
        value = _element_value(element, None)
        out_of_bounds = _out_of_bounds(element, value)
        if out_of_bounds:
            self._reject(element, index, out_of_bounds, value)
            return None
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
        self.tokens.add(record)
        return record

    def _reject(self, element: etree._Element, index: int, reason: str, value: Any) -> None:
        self.rejected_count += 1
        if len(self.rejected) == self.rejected_count - 1 and len(self.rejected) < MAX_KEPT_ASIDE:
            xml = _extension_text(element)
            self.kept_aside_chars += len(xml)
            if self.kept_aside_chars <= MAX_KEPT_ASIDE_CHARS:
                self.rejected.append(RejectedRecord(index=index, reason=reason, xml=xml))
        self.content.add_rejected(value, _extensions(element) if "extensions" in value else None)


def _out_of_bounds(element: etree._Element, value: dict[str, Any]) -> str:
    """Why a record is past a bound of `bounds` ('' if it is not)."""
    children = len(element)
    if children > MAX_RECORD_CHILDREN:
        return f"record: {children} child elements, more than {MAX_RECORD_CHILDREN}"
    auth_results = value.get("auth_results")
    if isinstance(auth_results, dict):
        results = sum(len(auth_results.get(kind) or ()) for kind in ("dkim", "spf"))
        if results > MAX_AUTH_RESULTS:
            return f"auth_results: {results} <dkim> and <spf> results, more than {MAX_AUTH_RESULTS}"
    return ""


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
