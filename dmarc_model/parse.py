"""XML document -> report header, then records one at a time.

lxml reads the bytes (so the declared encoding and a BOM are honoured) with entity resolution, DTD
loading and network access off; any document type declaration is refused. Element names are matched
by local name, so no namespace, the draft namespace, `urn:ietf:params:xml:ns:dmarc-2.0` and any prefix
all read the same.

Memory stays flat: `iterparse` hands over each top-level element as it closes and the element is freed
once converted; only the header is kept. Broken XML gets one recovery pass (lxml `recover=True`), which
is recorded as a warning on the report. A record that fails validation is kept aside as a
`RejectedRecord` with its reason; the rest of the report stands.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from pydantic import ValidationError

from dmarc_model.errors import ForbiddenXml, MalformedXml, NotAggregate, NotAReport, SchemaViolation
from dmarc_model.models import AggregateReport, Record, RejectedRecord, ReportHeader, TokenTally
from dmarc_model.unpack import Payload

DMARC_2_NAMESPACE = "urn:ietf:params:xml:ns:dmarc-2.0"
_TOP_LEVEL = ("{*}report_metadata", "{*}policy_published", "{*}record", "{*}version", "{*}extensions")
_AUTH_RESULTS_LISTS = frozenset({"dkim", "spf"})
_NOTHING_REPEATS: frozenset[str] = frozenset()
_LIST_CHILDREN: dict[str, frozenset[str]] = {
    "auth_results": _AUTH_RESULTS_LISTS,
    "policy_evaluated": frozenset({"reason"}),
    "report_metadata": frozenset({"error"}),
}
_ALIASES: dict[str, dict[str, str]] = {
    # real reporters' misspellings, read with a warning on the report
    "report_metadata": {"data_range": "date_range"},  # KDDI
}
_OTHER_REPORT_ROOTS = {"report": "an ARF or other report document", "tlsrpt": "an SMTP TLS report"}


@dataclass
class ReportStream:
    """A report being read: the header is ready, the records come one at a time from `records()`."""

    location: str
    header: ReportHeader
    warnings: list[str] = field(default_factory=list)
    rejected: list[RejectedRecord] = field(default_factory=list)
    _reader: _Reader | None = field(default=None, repr=False)

    _content_sha256: str = field(default="", repr=False)

    @property
    def content_sha256(self) -> str:
        """SHA-256 of what the report says (its elements, not its container); known once records are read."""
        if not self._content_sha256:
            raise RuntimeError("content_sha256 is known only after records() has been read to the end")
        return self._content_sha256

    def records(self) -> Iterator[Record]:
        """Valid records in document order. Single pass; invalid ones land in `rejected`."""
        reader, self._reader = self._reader, None
        if reader is None:
            raise RuntimeError("records() can be read only once")
        yield from reader.records(self)
        self._content_sha256 = reader.content.hexdigest()

    def read_all(self) -> AggregateReport:
        """The whole report in memory (for small reports and tests)."""
        records = tuple(self.records())
        return AggregateReport(
            header=self.header, records=records, rejected=tuple(self.rejected), warnings=tuple(self.warnings)
        )


def read_report(payload: Payload) -> ReportStream:
    """Open a payload as a report: the header is validated now, the records stream later.

    Raises an `InputRefused` subtype when the document is not a usable aggregate report.
    """
    reader = _Reader(payload)
    header = reader.read_header()
    stream = ReportStream(location=payload.location, header=header, warnings=list(reader.warnings))
    stream._reader = reader
    return stream


def parse_report(payload: Payload) -> AggregateReport:
    """Read a whole report into memory."""
    return read_report(payload).read_all()


# --- the reader ---------------------------------------------------------------------------------------


class _Reader:
    """Walks the top-level elements of a <feedback> document, with one recovery pass on broken XML."""

    def __init__(self, payload: Payload) -> None:
        self.payload = payload
        self.warnings: list[str] = []
        self.recovering = False
        self._elements = self._top_level_elements()
        self._early_records: list[etree._Element] = []
        self._consumed = 0  # top-level elements already handed out, to skip after a restart
        self.content = hashlib.sha256()

    def read_header(self) -> ReportHeader:
        parts: dict[str, Any] = {}
        for element in self._next_elements():
            name = _local(element)
            if name == "record":
                self._early_records.append(element)  # a record before the header: keep it for later
                continue
            parts[name] = _extension_text(element) if name == "extensions" else _element_value(element, self)
            self.content.update(repr(parts[name]).encode("utf-8"))
            if "report_metadata" in parts and "policy_published" in parts:
                break
        return self._validate_header(parts)

    def records(self, stream: ReportStream) -> Iterator[Record]:
        index = 0
        tokens = TokenTally()
        for element in itertools.chain(self._early_records, self._next_elements()):
            if _local(element) != "record":
                continue
            record = _record_or_rejection(element, index, stream, self.content)
            if record is not None:
                tokens.add(record)
                yield record
            index += 1
            _free(element)
        self._early_records.clear()
        unknown = tokens.unknown()
        unknown.update(stream.header.unknown_tokens())
        late = [w for w in self.warnings if w not in stream.warnings]
        late += [f"unknown {kind} value {value!r} kept as written" for kind, value in sorted(unknown)]
        if index == 0:
            late.append("report has no <record> elements")
        if stream.rejected:
            late.append(f"{len(stream.rejected)} record(s) failed validation and were kept aside")
        stream.warnings.extend(late)

    def _validate_header(self, parts: dict[str, Any]) -> ReportHeader:
        missing = [name for name in ("report_metadata", "policy_published") if name not in parts]
        if missing and self.recovering:
            raise MalformedXml(f"broken XML: {self.warnings[0]}", location=self.payload.location)
        if missing:
            raise SchemaViolation(
                f"<feedback> has no <{'> or <'.join(missing)}>", location=self.payload.location
            )
        try:
            return ReportHeader.model_validate({**parts, "xml_schema": self._schema})
        except ValidationError as error:
            if self.recovering:
                detail = f"broken XML: {self.warnings[0]}; then {_describe(error)}"
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
                self._restart_in_recovery(error)
                continue
            self._consumed += 1
            yield element

    def _restart_in_recovery(self, error: etree.XMLSyntaxError) -> None:
        self.recovering = True
        self.warnings.append(f"malformed XML recovered by lxml: {error.msg} (line {error.lineno})")
        already = self._consumed
        self._consumed = 0
        self._elements = self._top_level_elements()
        for _ in range(already):  # hand out only what the strict pass did not
            next(self._elements, None)
            self._consumed += 1

    def _top_level_elements(self) -> Iterator[etree._Element]:
        stream = self.payload.open()
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
            )
            checked = False
            for _event, element in context:
                if not checked:
                    self._check_document(element)
                    checked = True
                parent = element.getparent()  # held, so lxml hands back this one proxy for the root each time
                if parent is not None and parent.getparent() is None:
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


# --- element conversion -------------------------------------------------------------------------------


_LOCAL_NAMES: dict[object, str] = {}
_LOCAL_NAMES_KEPT = 4096
"""Local names are cached by tag; the cache starts afresh when a document with endless distinct tags
fills it, so it stays small and the usual names come back into it."""


def _local(element: etree._Element) -> str:
    """An element's name without its namespace ('' for comments and other non-elements)."""
    tag = element.tag
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        if len(_LOCAL_NAMES) >= _LOCAL_NAMES_KEPT:
            _LOCAL_NAMES.clear()
        name = _LOCAL_NAMES[tag] = tag[tag.rfind("}") + 1 :] if isinstance(tag, str) else ""
    return name


_CONTAINERS = frozenset(
    {
        "report_metadata",
        "date_range",
        "policy_published",
        "record",
        "row",
        "policy_evaluated",
        "reason",
        "identifiers",
        "auth_results",
    }
)
"""Elements that hold elements; everything else holds text (but dkim and spf under auth_results)."""


def _element_value(element: etree._Element, reader: _Reader | None, name: str = "") -> Any:
    """A leaf's text (trimmed, empty as None); a container's dict by local name, lists where repeatable.

    The hot path of parsing, run for every element of every record: leaves are read inline rather than
    by a call each, the checks come in the order they are most often settled, and a container with no
    children needs no test of its own (its loop makes the empty dict).
    """
    name = name or _local(element)
    if name not in _CONTAINERS:
        return _leaf_text(element)
    if name == "auth_results":
        return _auth_results_value(element)
    repeatable = _LIST_CHILDREN.get(name, _NOTHING_REPEATS)
    aliases = _ALIASES.get(name)
    local_names = _LOCAL_NAMES
    value: dict[str, Any] = {}
    for child in element:
        try:
            child_name = local_names[child.tag]
        except KeyError:
            child_name = _local(child)
        if not child_name:
            continue
        if aliases and child_name in aliases:
            child_name = _alias(child_name, aliases, value, reader)
        if child_name in _CONTAINERS:
            item: Any = _element_value(child, reader, child_name)
        elif child_name == "extensions":
            item = _extension_text(child)
        elif len(child):
            item = None  # children where text belongs: only in recovered broken XML
        else:
            text = child.text
            item = (text.strip() or None) if text else None
        if child_name in repeatable:
            value.setdefault(child_name, []).append(item)
        else:
            value[child_name] = item
    return value


def _auth_results_value(element: etree._Element) -> dict[str, Any]:
    """<auth_results>: its <dkim> and <spf> results (lists), each a dict of its leaves' text."""
    local_names = _LOCAL_NAMES
    value: dict[str, Any] = {}
    for child in element:
        try:
            child_name = local_names[child.tag]
        except KeyError:
            child_name = _local(child)
        if not child_name:
            continue
        if child_name == "extensions":
            item: Any = _extension_text(child)
        else:
            item = {}
            for leaf in child:
                try:
                    leaf_name = local_names[leaf.tag]
                except KeyError:
                    leaf_name = _local(leaf)
                if not leaf_name:
                    continue
                if len(leaf):
                    item[leaf_name] = None  # children where text belongs: only in recovered broken XML
                else:
                    text = leaf.text
                    item[leaf_name] = (text.strip() or None) if text else None
        if child_name in _AUTH_RESULTS_LISTS:
            value.setdefault(child_name, []).append(item)
        else:
            value[child_name] = item
    return value


def _leaf_text(element: etree._Element) -> str | None:
    if len(element):
        return None  # children where text belongs: only in recovered broken XML
    text = element.text
    return (text.strip() or None) if text else None


def _alias(child_name: str, aliases: dict[str, str], value: dict[str, Any], reader: _Reader | None) -> str:
    target = aliases[child_name]
    if target in value:
        return child_name
    if reader is not None:
        reader.warnings.append(f"<{child_name}> read as <{target}> (a known reporter typo)")
    return target


def _extension_text(element: etree._Element) -> str:
    return etree.tostring(element, encoding="unicode", with_tail=False)


def _record_or_rejection(
    element: etree._Element, index: int, stream: ReportStream, content: Any
) -> Record | None:
    """Validate one <record>; hash its values (not its formatting), so re-indented copies hash alike."""
    value = _element_value(element, None)
    content.update(repr(value).encode("utf-8"))
    try:
        # Record.model_validate without its Python wrapper, whose argument checks we do not need
        record: Record = Record.__pydantic_validator__.validate_python(value)
    except (ValidationError, TypeError) as error:
        reason = _describe(error) if isinstance(error, ValidationError) else str(error)
        stream.rejected.append(RejectedRecord(index=index, reason=reason, xml=_extension_text(element)))
        return None
    return record


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors()[:5]:
        where = ".".join(str(part) for part in item["loc"])
        problems.append(f"{where}: {item['msg']}")
    return "; ".join(problems)


def _free(element: etree._Element) -> None:
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]
