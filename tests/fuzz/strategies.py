"""Hypothesis strategies for DMARC aggregate reports: structure, values, valid and broken, in any container.

    reports(valid=True)   a report whose header is valid and whose XML is well formed; its records may be
                          valid or not, and `GeneratedReport.expected()` says what a correct pipeline stores
    reports(valid=False)  any header, any values (unicode, controls, out-of-range numbers)
    inputs(intact=True)   bytes of valid reports in a container: raw XML, gzip (one or many members), zip
                          (one or several members), email (base64 attachments), zip in gzip, mail in mail
    inputs(intact=False)  the same, or broken reports, then maybe mutated: truncated at a random byte, a
                          byte flipped, an element dropped or duplicated

The rules the expectations follow are those of `dmarc_model.models` and `dmarc_model.parse.validate`: a
record is stored when its <count> is a whole number 0..2**32-1 (`MAX_MESSAGE_COUNT`; and the report's
running total stays within int64), its <source_ip> an address (no CIDR, no zone id) and its <disposition>
present. Where a rule is subtle (whitespace, unicode digits, leading zeros) the valid branch keeps away
from it: its text is ASCII printable and its numbers are written the canonical way.
"""

from __future__ import annotations

import email.policy
import gzip
import io
import itertools
import zipfile
from dataclasses import dataclass, replace
from email.message import EmailMessage
from xml.sax.saxutils import escape, quoteattr

from hypothesis import strategies as st
from lxml import etree

from dmarc_model.models import INT64_MAX, LAST_SECOND, MAX_MESSAGE_COUNT
from dmarc_model.parse import DMARC_2_NAMESPACE

NOW_SECOND = 1_760_000_000
"""The latest <begin> of a valid report: reports dated after today are refused (out-of-window)."""
DISPOSITIONS = ("none", "quarantine", "reject", "pass")
ODD_TOKENS = ("Quarantine", " REJECT ", "bogus", "x-unknown", "pass ", "temperror")
RESULTS = ("pass", "fail", "none", "neutral", "softfail", "temperror", "permerror", "policy")
PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
XML_TEXT = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Co", "Cn"))
ANY_TEXT = st.characters(codec="utf-8")
"""Any character UTF-8 encodes (no lone surrogate), controls and NUL among them: a broken reporter's text."""


@dataclass(frozen=True)
class GeneratedRecord:
    source_ip: str | None
    count: str | None
    disposition: str | None
    dkim: str | None = None
    spf: str | None = None
    header_from: str | None = None
    dkim_results: tuple[tuple[str, str, str], ...] = ()
    spf_results: tuple[tuple[str, str, str], ...] = ()
    valid: bool = True
    """Whether the record alone passes validation (the message total is checked by the report)."""

    @property
    def message_count(self) -> int:
        return int(self.count) if self.valid and self.count is not None else 0


@dataclass(frozen=True)
class Expected:
    """What a correct pipeline stores for one or more reports."""

    reports: int
    record_count: int
    message_total: int
    rejected: int

    def __add__(self, other: Expected) -> Expected:
        return Expected(
            self.reports + other.reports,
            self.record_count + other.record_count,
            self.message_total + other.message_total,
            self.rejected + other.rejected,
        )


NOTHING = Expected(0, 0, 0, 0)


@dataclass(frozen=True)
class GeneratedReport:
    report_id: str | None
    begin: str | None
    end: str | None
    domain: str | None
    org_name: str | None = None
    email: str | None = None
    policy: tuple[tuple[str, str], ...] = ()
    """<policy_published> children besides <domain>: p, sp, pct, adkim, aspf, np, as written."""
    records: tuple[GeneratedRecord, ...] = ()
    namespace: bool = False
    header_first: bool = True
    valid: bool = True
    """Whether the header is valid and the XML well formed (its records may still be kept aside)."""

    def expected(self) -> Expected:
        """Records stored, their message total and records kept aside, by the rules of `validate`."""
        total = stored = rejected = 0
        for record in self.records:
            if record.valid and total + record.message_count <= INT64_MAX:
                total += record.message_count
                stored += 1
            else:
                rejected += 1
        return Expected(1, stored, total, rejected)

    def render(self) -> bytes:
        return render_report(self)


@dataclass(frozen=True)
class GeneratedInput:
    """Bytes to ingest, the reports inside them, and whether the bytes are the reports as rendered."""

    data: bytes
    kind: str
    reports: tuple[GeneratedReport, ...] = ()
    intact: bool = True
    mutation: str = ""

    @property
    def predictable(self) -> bool:
        """Whether `expected()` is what must be stored: intact bytes of valid reports only."""
        return self.intact and all(report.valid for report in self.reports)

    def expected(self) -> Expected:
        return sum((report.expected() for report in self.reports), NOTHING)


# --- rendering -----------------------------------------------------------------------------------------


def _leaf(name: str, value: str | None) -> str:
    """<name>value</name>, escaped; nothing when the value is None (the element is missing)."""
    return "" if value is None else f"<{name}>{escape(value)}</{name}>"


def _record_xml(record: GeneratedRecord) -> str:
    evaluated = (
        _leaf("disposition", record.disposition) + _leaf("dkim", record.dkim) + _leaf("spf", record.spf)
    )
    row = (
        _leaf("source_ip", record.source_ip)
        + _leaf("count", record.count)
        + f"<policy_evaluated>{evaluated}</policy_evaluated>"
    )
    identifiers = _leaf("header_from", record.header_from)
    auth = "".join(
        f"<dkim>{_leaf('domain', d)}{_leaf('selector', s)}{_leaf('result', r)}</dkim>"
        for d, s, r in record.dkim_results
    ) + "".join(
        f"<spf>{_leaf('domain', d)}{_leaf('scope', s)}{_leaf('result', r)}</spf>"
        for d, s, r in record.spf_results
    )
    return (
        f"<record><row>{row}</row><identifiers>{identifiers}</identifiers>"
        f"<auth_results>{auth}</auth_results></record>"
    )


def render_report(report: GeneratedReport) -> bytes:
    """The report as UTF-8 XML, every text escaped (xml.sax.saxutils)."""
    date_range = f"<date_range>{_leaf('begin', report.begin)}{_leaf('end', report.end)}</date_range>"
    metadata = (
        f"<report_metadata>{_leaf('org_name', report.org_name)}{_leaf('email', report.email)}"
        f"{_leaf('report_id', report.report_id)}{date_range}</report_metadata>"
    )
    policy = _leaf("domain", report.domain) + "".join(_leaf(name, value) for name, value in report.policy)
    header = f"{metadata}<policy_published>{policy}</policy_published>"
    records = "".join(_record_xml(record) for record in report.records)
    body = header + records if report.header_first else records + header
    xmlns = f" xmlns={quoteattr(DMARC_2_NAMESPACE)}" if report.namespace else ""
    version = "<version>1.0</version>" if report.namespace else ""
    text = f'<?xml version="1.0" encoding="UTF-8"?>\n<feedback{xmlns}>{version}{body}</feedback>\n'
    return text.encode("utf-8", errors="surrogatepass")


# --- values --------------------------------------------------------------------------------------------

_LABEL = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
DOMAIN = st.lists(_LABEL, min_size=1, max_size=3).map(lambda labels: ".".join([*labels, "example"]))
VALID_IPS = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)
BAD_IPS = st.sampled_from(
    ["1.2.3.4/32", "2001:db8::/64", "fe80::1%eth0", "999.1.1.1", "01.2.3.4", "1.2.3", "not-an-ip", "", "::g"]
)
VALID_COUNTS = st.one_of(
    st.integers(0, 1000), st.sampled_from([0, 1, 2**31, MAX_MESSAGE_COUNT - 1, MAX_MESSAGE_COUNT])
).map(str)
BAD_COUNTS = st.one_of(
    st.integers(max_value=-1).map(str),
    st.integers(min_value=MAX_MESSAGE_COUNT + 1, max_value=2**70).map(str),
    st.sampled_from([INT64_MAX, INT64_MAX + 1]).map(str),
    st.sampled_from(["", "abc", "12abc", "NaN", "--1"]),
)


def _text(alphabet: st.SearchStrategy[str], max_size: int = 30) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=0, max_size=max_size)


@st.composite
def records(draw: st.DrawFn, valid_text: bool = True) -> GeneratedRecord:
    """One <record>: valid or not, its validity known from the branch each value came from."""
    ip_ok, count_ok, disposition_ok = (draw(st.integers(0, 4)) > 0 for _ in range(3))  # each 4 in 5 valid
    token = st.sampled_from(DISPOSITIONS + ODD_TOKENS) if valid_text else _text(ANY_TEXT, 12)
    disposition = draw(token.filter(str.strip)) if disposition_ok else draw(st.sampled_from([None, "", "  "]))
    name = DOMAIN if valid_text else _text(ANY_TEXT)
    result = st.sampled_from(RESULTS + ODD_TOKENS)
    auth = st.tuples(name, name, result)
    return GeneratedRecord(
        source_ip=draw(VALID_IPS if ip_ok else st.one_of(BAD_IPS, st.none())),
        count=draw(VALID_COUNTS if count_ok else st.one_of(BAD_COUNTS, st.none())),
        disposition=disposition,
        dkim=draw(st.none() | result),
        spf=draw(st.none() | result),
        header_from=draw(st.none() | name),
        dkim_results=tuple(draw(st.lists(auth, max_size=3))),
        spf_results=tuple(draw(st.lists(auth, max_size=3))),
        valid=ip_ok and count_ok and disposition_ok,
    )


def _policy(valid_text: bool) -> st.SearchStrategy[tuple[tuple[str, str], ...]]:
    pct = st.one_of(st.integers(0, 100).map(str), st.sampled_from(["150", "-5", "abc", "12.5", "1e2"]))
    token = st.sampled_from(("none", "quarantine", "reject", "r", "s", *ODD_TOKENS))
    value = token if valid_text else _text(ANY_TEXT, 8)
    entry = st.one_of(
        st.tuples(st.sampled_from(["p", "sp", "np", "adkim", "aspf"]), value),
        st.tuples(st.just("pct"), pct),
    )
    return st.lists(entry, max_size=6, unique_by=lambda item: item[0]).map(tuple)


SECONDS = st.integers(0, NOW_SECOND)
BAD_SECONDS = st.one_of(
    st.integers(max_value=-1),
    st.integers(min_value=LAST_SECOND + 1, max_value=10**30),
    st.sampled_from([10**400, "", "abc", "inf", "nan", "1e999"]),
).map(str)


@st.composite
def reports(draw: st.DrawFn, valid: bool = True, max_records: int = 8) -> GeneratedReport:
    """A report; `valid`: its header is valid and its XML well formed (and `expected()` exact)."""
    if valid:
        text = _text(PRINTABLE)
        report_id: str | None = draw(_text(PRINTABLE, 40).filter(str.strip))
        begin: str | None
        end: str | None
        begin, end = str(draw(SECONDS)), str(draw(st.integers(0, LAST_SECOND)))
        domain: str | None = draw(DOMAIN)
    else:
        text = _text(ANY_TEXT)
        report_id = draw(st.none() | _text(ANY_TEXT, 40))
        begin = draw(st.none() | BAD_SECONDS | SECONDS.map(str))
        end = draw(st.none() | BAD_SECONDS | SECONDS.map(str))
        domain = draw(st.none() | DOMAIN | text)
    return GeneratedReport(
        report_id=report_id,
        begin=begin,
        end=end,
        domain=domain,
        org_name=draw(st.none() | text | (_text(XML_TEXT) if valid else text)),
        email=draw(st.none() | text),
        policy=draw(_policy(valid)),
        records=tuple(draw(st.lists(records(valid_text=valid), max_size=max_records))),
        namespace=draw(st.booleans()),
        header_first=valid or draw(st.booleans()),
        valid=valid,
    )


# --- containers ----------------------------------------------------------------------------------------


def _gzip_members(data: bytes, cuts: list[int]) -> bytes:
    """`data` as consecutive gzip members, split at `cuts`."""
    bounds = [0, *sorted({cut % (len(data) + 1) for cut in cuts}), len(data)]
    return b"".join(gzip.compress(data[a:b], mtime=0) for a, b in itertools.pairwise(bounds))


def _zip(members: list[bytes], compress: bool) -> bytes:
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for index, member in enumerate(members):
            archive.writestr(f"report-{index}.xml", member)
    return buffer.getvalue()


def _mail(members: list[bytes], gzipped: bool) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "noreply-dmarc@example.net"
    message["To"] = "dmarc@example.org"
    message["Subject"] = "Report domain: example.org"
    message.set_content("DMARC aggregate reports attached.")
    for index, member in enumerate(members):
        body, subtype = (gzip.compress(member, mtime=0), "gzip") if gzipped else (member, "xml")
        message.add_attachment(body, maintype="application", subtype=subtype, filename=f"report-{index}.xml")
    message.set_boundary("==fuzz-inner==")  # not email's random one: examples stay reproducible
    return message


def _mail_bytes(message: EmailMessage) -> bytes:
    return message.as_bytes(policy=email.policy.SMTP)


def _mail_in_mail(members: list[bytes], gzipped: bool) -> bytes:
    outer = EmailMessage()
    outer["From"] = "postmaster@example.org"
    outer["Subject"] = "Fwd: Report domain: example.org"
    outer.set_content("Forwarded.")
    outer.add_attachment(_mail(members, gzipped))
    outer.set_boundary("==fuzz-outer==")
    return _mail_bytes(outer)


@st.composite
def containers(draw: st.DrawFn, documents: list[bytes]) -> tuple[str, bytes]:
    """(kind, bytes) of the documents in a container that holds them all (raw and gzip hold the first)."""
    kinds = ["raw", "gzip"] if len(documents) == 1 else []
    kind = draw(st.sampled_from([*kinds, "zip", "email", "zip-in-gzip", "mail-in-mail"]))
    flag = draw(st.booleans())
    if kind == "raw":
        return kind, documents[0]
    if kind == "gzip":
        return kind, _gzip_members(documents[0], draw(st.lists(st.integers(0, 10**6), max_size=3)))
    if kind == "zip":
        return kind, _zip(documents, flag)
    if kind == "email":
        return kind, _mail_bytes(_mail(documents, flag))
    if kind == "zip-in-gzip":
        return kind, gzip.compress(_zip(documents, flag), mtime=0)
    return kind, _mail_in_mail(documents, flag)


def _distinct(reports_found: list[GeneratedReport]) -> list[GeneratedReport]:
    """Reports of one input with distinct identities (report id), so none is a conflict of another."""
    return [
        replace(report, report_id=f"{report.report_id}-{index}") if report.report_id is not None else report
        for index, report in enumerate(reports_found)
    ]


@st.composite
def inputs(draw: st.DrawFn, intact: bool = True, max_reports: int = 3) -> GeneratedInput:
    """An input object. `intact`: valid reports, bytes as rendered; else anything, maybe mutated."""
    valid = st.just(True) if intact else st.booleans()
    count = draw(st.integers(1, max_reports))
    found = _distinct([draw(reports(valid=draw(valid))) for _ in range(count)])
    documents = [report.render() for report in found]
    mutation = "" if intact else draw(st.sampled_from(["", "truncate", "flip", "drop", "duplicate"]))
    if mutation:
        target = draw(st.integers(0, len(documents) - 1))
        documents[target] = draw(mutated(documents[target], mutation))
    kind, data = draw(containers(documents))
    if not intact and draw(st.integers(0, 4)) == 0:  # the container itself damaged
        data = draw(mutated(data, draw(st.sampled_from(["truncate", "flip"]))))
        mutation = f"{mutation}+container" if mutation else "container"
    return GeneratedInput(data, kind, tuple(found), intact=not mutation, mutation=mutation)


@st.composite
def mutated(draw: st.DrawFn, data: bytes, how: str) -> bytes:
    """`data` truncated at a random byte, with a byte flipped, or with an element dropped or duplicated."""
    if how == "truncate":
        return data[: draw(st.integers(0, max(0, len(data) - 1)))]
    if how == "flip":
        if not data:
            return data
        at = draw(st.integers(0, len(data) - 1))
        return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return data
    elements = [element for element in root.iter() if element is not root and isinstance(element.tag, str)]
    if not elements:
        return data
    element = draw(st.sampled_from(elements))
    parent = element.getparent()
    if how == "drop" and parent is not None:
        parent.remove(element)
    else:
        element.addnext(etree.fromstring(etree.tostring(element, with_tail=False)))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
