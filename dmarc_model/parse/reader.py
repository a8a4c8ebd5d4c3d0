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
from dmarc_model.models import Record, ReportHeader
from dmarc_model.parse.bounds import (
    MAX_BYTES_BEFORE_HEADER,
    MAX_RECORDS_BEFORE_HEADER,
    MAX_WHOLE_RECOVERY_BYTES,
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

    def __init__(self, payload: Payload, fast_path: bool = True) -> None:
        self.payload = payload
        self.fast_path = fast_path  # False: every record by the generic walk (`fast`, for the tests)
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
        if self.content is None:
            raise RuntimeError("read_header() comes before records()")
        checker = _RecordChecker(self.content, stream.rejected, self.fast_path)
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
                yield record
            index += 1
            _free(element)
        self._early_records.clear()
        unknown = checker.tokens.unknown()
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
        if self.recovering:
            small = self._small_document()
            if small is not None:  # recovered whole: libxml2's push parser ends at the first fatal error
                self._stream = None
                yield from self._children(etree.fromstring(small, self._parser()))
                return
        stream = self._stream = BoundedStream(self.payload.open(), self.payload.location)
        try:
            context = etree.iterparse(
                stream, events=("end",), tag=_TOP_LEVEL, **self._parser_options(), recover=self.recovering
            )
            feedback: etree._Element | None = None
            for _event, element in context:
                if feedback is None:
                    feedback = self._check_document(element.getroottree().getroot())
                if element.getparent() is feedback:  # held, so lxml hands back this one proxy each time
                    stream.element_done()
                    yield element
            if feedback is None:
                self._check_document(getattr(context, "root", None))
        finally:
            stream.close()

    def _small_document(self) -> bytes | None:
        """The whole document, if it is at most MAX_WHOLE_RECOVERY_BYTES (else None)."""
        with self.payload.open() as stream:
            data = stream.read(MAX_WHOLE_RECOVERY_BYTES + 1)
        return data if len(data) <= MAX_WHOLE_RECOVERY_BYTES else None

    def _children(self, root: etree._Element | None) -> Iterator[etree._Element]:
        feedback = self._check_document(root)
        names = {name.removeprefix("{*}") for name in _TOP_LEVEL}
        for element in list(feedback):
            if isinstance(element.tag, str) and _local(element) in names:
                yield element

    def _parser_options(self) -> dict[str, Any]:
        return {
            "resolve_entities": False,
            "no_network": True,
            "load_dtd": False,
            "huge_tree": False,
            "remove_comments": True,
            "remove_pis": True,
            "encoding": self.encoding.override,
        }

    def _parser(self) -> etree.XMLParser:
        return etree.XMLParser(recover=True, **self._parser_options())

    def _check_document(self, root: etree._Element | None) -> etree._Element:
        """Refuse a DTD, and anything but a <feedback> root (or one wrapped in another root); return the
        <feedback> element and note which schema it follows."""
        if root is None:
            if self.recovering:
                raise MalformedXml(f"broken XML: {self._broken}", location=self.payload.location)
            raise NotAReport("XML document has no elements", location=self.payload.location)
        docinfo = root.getroottree().docinfo
        has_dtd = docinfo.internalDTD is not None or docinfo.externalDTD is not None
        if has_dtd or docinfo.doctype:  # type: ignore[attr-defined]
            raise ForbiddenXml(
                "document type declaration (DTD): entities and external references are not read",
                location=self.payload.location,
            )
        feedback = root if _local(root) == "feedback" else self._wrapped_feedback(root)
        namespace = etree.QName(feedback).namespace
        self._schema = "dmarc-2.0" if namespace == DMARC_2_NAMESPACE else "rfc7489"
        return feedback

    def _wrapped_feedback(self, root: etree._Element) -> etree._Element:
        """A <feedback> that is a child of another root (an XSD <xs:schema> around it), with a warning."""
        name = _local(root)
        if name in _OTHER_REPORT_ROOTS:
            raise NotAggregate(_OTHER_REPORT_ROOTS[name], location=self.payload.location)
        inner = next((e for e in root if isinstance(e.tag, str) and _local(e) == "feedback"), None)
        if inner is None:
            raise NotAReport(f"root element is <{name}>, not <feedback>", location=self.payload.location)
        warning = f"<feedback> read from inside a <{name}> root element"
        if warning not in self.warnings:
            self.warnings.append(warning)
        return inner

    _schema = "rfc7489"
    _stream: BoundedStream | None = None  # the one being read


def _free(element: etree._Element) -> None:
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]
