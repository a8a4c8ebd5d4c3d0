"""The walk over a <feedback> document's top-level elements: hardened iterparse, one recovery pass.

It checks the document (no DTD, a <feedback> root, which schema), validates the header (everything
before the first record that follows <report_metadata> and <policy_published>, so a report-level
<extensions> after <policy_published>, where RFC 9990 puts it, is read), hands each <record> to
`validate` and frees it, hashes what it reads into the content hash (`dmarc_model.content`), and
tallies unknown tokens into the report's warnings.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from lxml import etree
from pydantic import ValidationError

from dmarc_model.content import ContentHash, canonical_extensions
from dmarc_model.errors import (
    ForbiddenXml,
    MalformedXml,
    NotAggregate,
    NotAReport,
    SchemaViolation,
    TooLarge,
)
from dmarc_model.models import Record, ReportHeader, TokenTally
from dmarc_model.parse.bounds import (
    MAX_BYTES_BEFORE_HEADER,
    MAX_RECORDS_BEFORE_HEADER,
    BoundedStream,
    capped_warnings,
)
from dmarc_model.parse.elements import _element_value, _extension_text, _local
from dmarc_model.parse.encoding import DocumentEncoding
from dmarc_model.parse.validate import _describe, _RecordChecker
from dmarc_model.unpack import Payload

if TYPE_CHECKING:
    from dmarc_model.parse.stream import ReportStream

DMARC_2_NAMESPACE = "urn:ietf:params:xml:ns:dmarc-2.0"
_TOP_LEVEL = ("{*}report_metadata", "{*}policy_published", "{*}record", "{*}version", "{*}extensions")
_OTHER_REPORT_ROOTS = {"report": "an ARF or other report document", "tlsrpt": "an SMTP TLS report"}
_MAX_RECORDS = 2**31 - 1
"""`record_index` is an int32."""
_ONCE = {
    "report_metadata": "two <report_metadata>: which reporter, report id and dates hold is unclear",
    "policy_published": "two <policy_published>: which policy the records were evaluated against is unclear",
}
"""Header parts a report has once; a second one before the records is refused (after them: a warning)."""


class _Reader:
    """Walks the top-level elements of a <feedback> document, with one recovery pass on broken XML."""

    def __init__(self, payload: Payload) -> None:
        self.payload = payload
        self.encoding = DocumentEncoding.of(payload)  # shares its list: its steps are report warnings
        self.warnings: list[str] = self.encoding.warnings
        self.recovering = False
        self._broken = ""  # why the recovery pass was needed
        self._elements = self._top_level_elements()
        self._early_records: list[etree._Element] = []
        self._consumed = 0  # top-level elements already handed out, to skip after a restart
        self._extensions: str | None = None  # the report's <extensions>, canonical
        self.content: ContentHash | None = None  # once the header is read

    def read_header(self) -> ReportHeader:
        parts: dict[str, Any] = {}
        for element in self._next_elements():
            name = _local(element)
            if name == "record":
                self._early_records.append(element)  # kept for records(): the first ones, or misplaced
                if "report_metadata" in parts and "policy_published" in parts:
                    break
                self._check_early_records()
                continue
            if name in parts and name in _ONCE:
                raise SchemaViolation(_ONCE[name], location=self.payload.location)
            if name == "extensions":
                parts[name] = _extension_text(element)
                self._extensions = canonical_extensions(element)
            else:
                try:
                    parts[name] = _element_value(element, self)
                except UnicodeDecodeError:
                    raise self._not_unicode() from None
        header = self._validate_header(parts)
        self.warnings.extend(header.value_warnings())
        self.content = ContentHash(header, self._extensions)
        return header

    def records(self, stream: ReportStream) -> Iterator[Record]:
        index = 0
        tokens = TokenTally()
        if self.content is None:
            raise RuntimeError("read_header() comes before records()")
        checker = _RecordChecker(self.content, stream.rejected)
        for element in itertools.chain(self._early_records, self._next_elements()):
            name = _local(element)
            if name != "record":
                late_element = f"<{name}> after the records is not read"
                if late_element not in self.warnings:
                    self.warnings.append(late_element)
                continue
            if index > _MAX_RECORDS:
                raise TooLarge(f"more than {_MAX_RECORDS} records", location=self.payload.location)
            try:
                record = checker.check(element, index)
            except UnicodeDecodeError:
                raise self._not_unicode() from None
            if record is not None:
                tokens.add(record)
                yield record
            index += 1
            _free(element)
        self._early_records.clear()
        unknown = tokens.unknown()
        unknown.update(stream.header.unknown_tokens())
        late = [w for w in self.warnings if w not in stream.warnings]
        late += capped_warnings(
            [f"unknown {kind} value {value!r} kept as written" for kind, value in sorted(unknown)]
        )
        if index == 0:
            late.append("report has no <record> elements")
        stream.rejected_count = checker.rejected_count
        if checker.rejected_count > len(stream.rejected):
            late.append(
                f"{checker.rejected_count} record(s) failed validation; the first {len(stream.rejected)}"
                " were kept aside, the others counted only"
            )
        elif stream.rejected:
            late.append(f"{len(stream.rejected)} record(s) failed validation and were kept aside")
        stream.warnings.extend(late)

    def _not_unicode(self) -> MalformedXml:
        """lxml's recovery pass keeps a character reference to a lone surrogate (`&#xD800;`), which XML
        forbids and no text can hold: reading it fails, and the document is malformed."""
        return MalformedXml(
            "a character reference to a lone surrogate (such as &#xD800;): not XML, and not text",
            location=self.payload.location,
        )

    def _check_early_records(self) -> None:
        """Records held for a header yet to come: MAX_RECORDS_BEFORE_HEADER, in MAX_BYTES_BEFORE_HEADER."""
        read = self._stream.bytes_read if self._stream is not None else 0
        if len(self._early_records) > MAX_RECORDS_BEFORE_HEADER or read > MAX_BYTES_BEFORE_HEADER:
            raise TooLarge(
                f"more than {MAX_RECORDS_BEFORE_HEADER} records or {MAX_BYTES_BEFORE_HEADER} bytes before"
                " <report_metadata> and <policy_published>",
                location=self.payload.location,
            )

    def _validate_header(self, parts: dict[str, Any]) -> ReportHeader:
        missing = [name for name in ("report_metadata", "policy_published") if name not in parts]
        if missing and self.recovering:
            raise MalformedXml(f"broken XML: {self._broken}", location=self.payload.location)
        if missing:
            raise SchemaViolation(
                f"<feedback> has no <{'> or <'.join(missing)}>", location=self.payload.location
            )
        try:
            return ReportHeader.model_validate({**parts, "xml_schema": self._schema})
        except ValidationError as error:
            if self.recovering:
                detail = f"broken XML: {self._broken}; then {_describe(error)}"
                raise MalformedXml(detail, location=self.payload.location) from None
            raise SchemaViolation(_describe(error), location=self.payload.location) from None

    def _next_elements(self) -> Iterator[etree._Element]:
        while True:
            try:
                element = next(self._elements)
            except StopIteration:
                return
            except etree.XMLSyntaxError as error:
                if self.recovering:
                    raise MalformedXml(
                        f"unreadable even in recovery: {error}", location=self.payload.location
                    ) from None
                self._restart_after(error)
                continue
            self._consumed += 1
            yield element

    def _restart_after(self, error: etree.XMLSyntaxError) -> None:
        """Read again from the start: in the next encoding worth trying (`encoding`), else in recovery."""
        if not self.encoding.fall_back(error):
            self.recovering = True
            self._broken = f"malformed XML recovered by lxml: {error.msg} (line {error.lineno})"
            self.warnings.append(self._broken)
        already = self._consumed
        self._consumed = 0
        self._elements = self._top_level_elements()
        for _ in range(already):  # hand out only what the strict pass did not
            try:
                next(self._elements, None)
            except etree.XMLSyntaxError as again:  # this reading fails before it catches up too
                if self.recovering:
                    raise MalformedXml(
                        f"unreadable even in recovery: {again}", location=self.payload.location
                    ) from None
                self._consumed = already
                self._restart_after(again)
                return
            self._consumed += 1

    def _top_level_elements(self) -> Iterator[etree._Element]:
        stream = self._stream = BoundedStream(self.payload.open(), self.payload.location)
        try:
            context = etree.iterparse(
                stream,
                events=("end",),
                tag=_TOP_LEVEL,
                resolve_entities=False,
                no_network=True,
                load_dtd=False,
                huge_tree=False,
                remove_comments=True,
                remove_pis=True,
                recover=self.recovering,
                encoding=self.encoding.override,
            )
            checked = False
            for _event, element in context:
                if not checked:
                    self._check_document(element)
                    checked = True
                parent = element.getparent()  # held, so lxml hands back this one proxy for the root each time
                if parent is not None and parent.getparent() is None:
                    stream.element_done()
                    yield element
            if not checked:
                root = getattr(context, "root", None)
                self._check_document(root, root)
        finally:
            stream.close()

    def _check_document(self, element: etree._Element | None, root: etree._Element | None = None) -> None:
        """Refuse a DTD, and anything but a <feedback> root; note which schema the document follows."""
        if element is not None:
            tree = element.getroottree()
            root = tree.getroot()
            docinfo = tree.docinfo
            has_dtd = docinfo.internalDTD is not None or docinfo.externalDTD is not None
            if has_dtd or docinfo.doctype:  # type: ignore[attr-defined]
                raise ForbiddenXml(
                    "document type declaration (DTD): entities and external references are not read",
                    location=self.payload.location,
                )
        if root is None:
            raise NotAReport("XML document has no elements", location=self.payload.location)
        name = _local(root)
        if name != "feedback":
            if name in _OTHER_REPORT_ROOTS:
                raise NotAggregate(_OTHER_REPORT_ROOTS[name], location=self.payload.location)
            raise NotAReport(f"root element is <{name}>, not <feedback>", location=self.payload.location)
        namespace = etree.QName(root).namespace
        self._schema = "dmarc-2.0" if namespace == DMARC_2_NAMESPACE else "rfc7489"

    _schema = "rfc7489"
    _stream: BoundedStream | None = None  # the one being read


def _free(element: etree._Element) -> None:
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]
