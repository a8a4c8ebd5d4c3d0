"""Real reports from the field: quirks users met in the trackers of other DMARC tools, as data.

Each `Quirk` names the reporter (when the thread does), the tracker thread it comes from, what is odd,
a builder of the input bytes, and what must come of it: accepted (reports, records, message total) or
refused with a stable reason (`dmarc_model.errors`). The bytes are built here from small templates
and the standard library's gzip, zipfile, base64 and quopri; nothing is copied from those projects.
`tests/test_field_quirks.py` runs them all.
"""

from __future__ import annotations

import base64
import gzip
import io
import quopri
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

# --- expected outcomes -------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one input must give: reports stored, their records and messages, refusals by reason."""

    reports: int = 0
    records: int = 0
    messages: int = 0
    refusals: tuple[str, ...] = ()


def accept(records: int = 1, messages: int = 3, reports: int = 1) -> Outcome:
    return Outcome(reports=reports, records=records, messages=messages)


def refuse(*reasons: str) -> Outcome:
    return Outcome(refusals=tuple(sorted(reasons)))


@dataclass(frozen=True)
class Quirk:
    id: str
    reporter: str
    """Who sends it, when the thread says; "" when unknown."""
    reference: str
    """The tracker thread (URL) it was seen in; "" when none was found (a quirk known from elsewhere)."""
    description: str
    build: Callable[[], bytes]
    expected: Outcome
    xfail: str = ""
    """Why the code gets it wrong today (file, function, what): the test is a strict xfail."""


# --- XML templates -----------------------------------------------------------------------------

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
BEGIN, END = "1735689600", "1735775999"
DMARC_2 = "urn:ietf:params:xml:ns:dmarc-2.0"


def metadata(
    report_id: str = "field-1",
    *,
    org: str = "Field Reporter",
    email: str = "<email>dmarc@example.net</email>",
    begin: str = BEGIN,
    end: str = END,
    extra: str = "",
) -> str:
    return (
        f"<report_metadata><org_name>{org}</org_name>{email}{extra}<report_id>{report_id}</report_id>"
        f"<date_range><begin>{begin}</begin><end>{end}</end></date_range></report_metadata>"
    )


POLICY_BODY = "<adkim>r</adkim><aspf>r</aspf><p>none</p><sp>none</sp><pct>100</pct>"


def policy(body: str = POLICY_BODY, domain: str = "example.com") -> str:
    return f"<policy_published><domain>{domain}</domain>{body}</policy_published>"


def evaluated(disposition: str = "none", dkim: str = "pass", spf: str = "pass", reason: str = "") -> str:
    return (
        f"<policy_evaluated><disposition>{disposition}</disposition><dkim>{dkim}</dkim><spf>{spf}</spf>"
        f"{reason}</policy_evaluated>"
    )


def record(
    count: int = 3,
    *,
    ip: str = "192.0.2.7",
    policy_evaluated: str = "",
    identifiers: str = "<header_from>example.com</header_from><envelope_from>example.com</envelope_from>",
    auth: str = "<dkim><domain>example.com</domain><result>pass</result></dkim>"
    "<spf><domain>example.com</domain><result>pass</result></spf>",
) -> str:
    return (
        f"<record><row><source_ip>{ip}</source_ip><count>{count}</count>"
        f"{policy_evaluated or evaluated()}</row><identifiers>{identifiers}</identifiers>"
        f"<auth_results>{auth}</auth_results></record>"
    )


def feedback(
    *,
    records: str | None = None,
    meta: str | None = None,
    published: str | None = None,
    declaration: str = DECLARATION,
    open_tag: str = "<feedback>",
    close_tag: str = "</feedback>",
    head: str = "",
    middle: str = "",
) -> str:
    """A whole report: `head` goes before <report_metadata>, `middle` between the header and records."""
    body = (
        (meta or metadata()) + (published or policy()) + middle + (record() if records is None else records)
    )
    return f"{declaration}{open_tag}{head}{body}{close_tag}"


def xml(**parts: str) -> bytes:
    return feedback(**parts).encode()


# --- containers --------------------------------------------------------------------------------

GZ_NAME = "example.net!example.com!1735689600!1735775999.xml.gz"
ZIP_NAME = "example.net!example.com!1735689600!1735775999.zip"


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def zipped(*members: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def b64_lines(data: bytes, width: int = 76, padding: bool = True) -> str:
    text = base64.b64encode(data).decode()
    if not padding:
        text = text.rstrip("=")
    if width <= 0:
        return text
    return "\r\n".join(text[start : start + width] for start in range(0, len(text), width))


def attachment(
    data: bytes,
    content_type: str = "application/gzip",
    *,
    filename: str = GZ_NAME,
    disposition: str = "attachment",
    encoding: str = "base64",
    body: str | None = None,
    type_header: str = "Content-Type",
) -> str:
    """One MIME part; `body` replaces the encoded payload (to break it on purpose)."""
    if body is None:
        if encoding == "base64":
            body = b64_lines(data)
        elif encoding == "quoted-printable":
            body = quopri.encodestring(data).decode().replace("\n", "\r\n")
        else:
            body = data.decode()
    named = f'; name="{filename}"' if filename else ""
    disposed = f'Content-Disposition: {disposition}; filename="{filename}"\r\n' if disposition else ""
    headers = f"{type_header}: {content_type}{named}\r\nContent-Transfer-Encoding: {encoding}\r\n{disposed}"
    return f"{headers}\r\n{body}"


TEXT_PART = (
    'Content-Type: text/plain; charset="us-ascii"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n'
    "This is an aggregate report from example.net.\r\n"
)
HTML_PART = (
    'Content-Type: text/html; charset="us-ascii"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n'
    '<html><body><div style="font-family:Segoe UI">This is a DMARC aggregate report from Microsoft'
    " Corporation.</div></body></html>\r\n"
)


def mail(*parts: str, content_type: str = "multipart/mixed", first_line: str = "") -> bytes:
    boundary = "----=_field_quirk_boundary"
    head = (
        f"{first_line}From: reporter@example.net\r\nTo: dmarc@example.com\r\n"
        "Subject: Report Domain: example.com Submitter: example.net Report-ID: field-1\r\n"
        f'MIME-Version: 1.0\r\nContent-Type: {content_type}; boundary="{boundary}"\r\n\r\n'
    )
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    return (head + body).encode()


def report_mail(*parts: str, content_type: str = "multipart/mixed") -> bytes:
    """A report mail: a text body, then the parts."""
    return mail(TEXT_PART, *parts, content_type=content_type)


def forwarded(inner: bytes, encoding: str = "7bit") -> str:
    body = b64_lines(inner) if encoding == "base64" else inner.decode()
    return f"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n{body}"


# --- builders of the odder inputs ----------------------------------------------------------------

ONE = xml()
"""The plain report every quirk departs from: one record of 3 messages."""


def windows_1252() -> bytes:
    text = feedback(
        declaration='<?xml version="1.0" encoding="windows-1252"?>\n', meta=metadata(org="Caf\xe9")
    )
    return text.encode("cp1252")


def latin1_under_utf8() -> bytes:
    return xml(meta=metadata(org="ORG-NAME")).replace(b"ORG-NAME", b"Sue\xf1o Fueguino")


def smart_quote_in_url() -> bytes:
    extra = "<extra_contact_info>http://example.net/dmarc?QUOTED</extra_contact_info>"
    return xml(meta=metadata(extra=extra)).replace(b"QUOTED", b"\x91help\x92")


def utf16() -> bytes:
    return feedback(declaration='<?xml version="1.0" encoding="UTF-16"?>\n').encode("utf-16")


def xsd_schema_wrapper() -> bytes:
    opening = (
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'targetNamespace="http://dmarc.org/dmarc-xml/0.1">\n'
    )
    return (DECLARATION + opening + feedback(declaration="")).encode()


def three_records() -> str:
    return record(3) + record(5, ip="198.51.100.9") + record(7, ip="2001:db8::1")


def multiple_dkim() -> bytes:
    auth = (
        "<dkim><domain>google.com</domain><selector>20230601</selector><result>pass</result></dkim>"
        "<dkim><domain>example.com</domain><selector>s1</selector><result>pass</result></dkim>"
        "<spf><domain>example.com</domain><result>pass</result></spf>"
    )
    return xml(records=record(4, auth=auth))


def wp_pl_order() -> bytes:
    meta = (
        f"<report_metadata><date_range><begin>{BEGIN}</begin><end>{END}</end></date_range>"
        "<org_name>wp.pl</org_name><email>dmarc-support@example.net</email>"
        "<extra_contact_info>dmarc-reports@example.net</extra_contact_info>"
        "<report_id>1787643920.665812765</report_id></report_metadata>"
    )
    return feedback(declaration="", meta=meta).encode()


def null_report_record() -> bytes:
    empty = (
        "<record><row><source_ip></source_ip><count>0</count><policy_evaluated></policy_evaluated></row>"
        "<identifiers><header_from>example.com</header_from></identifiers><auth_results/></record>"
    )
    return xml(records=empty)


def zip_in_gzip() -> bytes:
    return gz(zipped(("report.xml", ONE)))


def tlsrpt_json() -> bytes:
    json = (
        '{"organization-name":"Microsoft Corporation","date-range":{"start-datetime":"2025-01-01T00:00:00Z",'
        '"end-datetime":"2025-01-01T23:59:59Z"},"report-id":"133","policies":[]}'
    )
    return report_mail(attachment(gz(json.encode()), filename="microsoft.com!example.com!1!2.json.gz"))


def ruf_mail() -> bytes:
    report = (
        "Content-Type: message/feedback-report\r\n\r\nFeedback-Type: auth-failure\r\n"
        "Auth-Failure: dmarc\r\nReported-Domain: example.com\r\n"
    )
    return mail(TEXT_PART, report, content_type='multipart/report; report-type="feedback-report"')


def tnef_winmail() -> bytes:
    tnef = b"\x78\x9f\x3e\x22\x01\x00\x01\x06\x90\x08\x00" + bytes(64)
    return report_mail(attachment(tnef, "application/ms-tnef", filename="winmail.dat"))


def mbox_from_line() -> bytes:
    return b"From reporter@example.net Thu Jan  2 00:00:00 2025\n" + report_mail(attachment(gz(ONE)))


def lf_only_mail() -> bytes:
    return report_mail(attachment(gz(ONE))).replace(b"\r\n", b"\n")


# --- the quirks --------------------------------------------------------------------------------

_GH = "https://github.com/"
PARSEDMARC = _GH + "domainaware/parsedmarc/"
SRG = _GH + "liuch/dmarc-srg/issues/"
VIEWER = _GH + "cry-inc/dmarc-report-viewer/issues/"
DMARCTS = _GH + "techsneeze/dmarcts-report-parser/issues/"
MODOBOA = _GH + "modoboa/modoboa-dmarc/"
MAIL_DMARC = _GH + "msimerson/mail-dmarc/"
RSPAMD = _GH + "rspamd/rspamd/issues/"
TA_DMARC_14 = _GH + "jorritfolmer/TA-dmarc/issues/14"
NO_THREAD = ""

BYTES_AND_DECLARATIONS = (
    Quirk(
        "utf8-bom",
        "",
        NO_THREAD,
        "UTF-8 byte order mark before the XML declaration",
        lambda: b"\xef\xbb\xbf" + ONE,
        accept(),
    ),
    Quirk("utf16-bom", "", NO_THREAD, "UTF-16 with a BOM and a matching declaration", utf16, accept()),
    Quirk(
        "no-xml-declaration",
        "wp.pl, o2.de",
        _GH + "techsneeze/dmarcts-report-viewer/pull/74",
        "no <?xml ...?> declaration and no line breaks at all",
        lambda: xml(declaration=""),
        accept(),
    ),
    Quirk(
        "declaration-squished",
        "",
        PARSEDMARC + "issues/69",
        "declaration and <feedback> on one line with no newline between",
        lambda: xml(declaration='<?xml version="1.0" encoding="utf-8"?>'),
        accept(),
    ),
    Quirk(
        "standalone-declaration",
        "",
        NO_THREAD,
        'declaration with standalone="yes"',
        lambda: xml(declaration='<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'),
        accept(),
    ),
    Quirk(
        "windows-1252-declared",
        "aol.com",
        TA_DMARC_14,
        "encoding=windows-1252 declared, with a non-ASCII org_name in that encoding",
        windows_1252,
        accept(),
    ),
    Quirk(
        "latin1-bytes-under-utf8",
        "Mail::DMARC (as generator)",
        MAIL_DMARC + "issues/190",
        "org_name in ISO-8859-1 bytes while the document says UTF-8",
        latin1_under_utf8,
        accept(),
    ),
    Quirk(
        "cp1252-smart-quotes-in-url",
        "",
        PARSEDMARC + "pull/122",
        "bytes 0x91/0x92 (invalid UTF-8) inside a URL field",
        smart_quote_in_url,
        accept(),
    ),
    Quirk(
        "unescaped-angle-brackets-in-email",
        "uwaterloo.ca",
        TA_DMARC_14,
        "a literal '<>' inside <email>",
        lambda: xml(meta=metadata(email="<email>dmarc<>@example.net</email>")),
        accept(),
    ),
    Quirk(
        "stray-quote-after-declaration",
        "sitnet.dk, ikea.com",
        TA_DMARC_14,
        "a lone '\"' between the declaration and <feedback>",
        lambda: xml(declaration='<?xml version="1.0"?>"\n'),
        refuse("malformed-xml"),
    ),
    Quirk(
        "unclosed-xsd-schema-wrapper",
        "ikea.com",
        PARSEDMARC + "issues/18",
        "an XSD <xs:schema ...> start tag, never closed, wraps <feedback>",
        xsd_schema_wrapper,
        accept(),
    ),
    Quirk(
        "broken-report-id-end-tag",
        "kddi.com",
        VIEWER + "21",
        "<report_id>...</report_id> written as '.../report_id>': the header cannot be recovered",
        lambda: xml(meta=metadata(report_id="202504210000000/report_id><x")).replace(b"<x</report_id>", b""),
        refuse("malformed-xml"),
    ),
    Quirk(
        "control-character-in-org-name",
        "",
        NO_THREAD,
        "a raw \\x01 (not allowed in XML 1.0) in org_name",
        lambda: xml(meta=metadata(org="Bad\x01Org")),
        accept(),
    ),
    Quirk(
        "nul-padding-after-root",
        "",
        NO_THREAD,
        "the document padded with NUL bytes after </feedback>",
        lambda: ONE + bytes(32),
        accept(),
    ),
    Quirk(
        "blank-line-before-declaration",
        "",
        NO_THREAD,
        "a newline before <?xml ...?>",
        lambda: b"\r\n" + ONE,
        accept(),
    ),
    Quirk(
        "yahoo-unused-body",
        "Yahoo, AOL",
        SRG + "73",
        "a gzip whose whole content is the word 'unused'",
        lambda: gz(b"unused"),
        refuse("not-a-report"),
    ),
    Quirk("empty-gzip", "", NO_THREAD, "a gzip of zero bytes", lambda: gz(b""), refuse("empty")),
)

ROOTS_AND_NAMESPACES = (
    Quirk(
        "dmarc-2.0-default-namespace",
        "GMX",
        _GH + "jgosmann/dmarc-metrics-exporter/pull/53",
        "<feedback xmlns='urn:ietf:params:xml:ns:dmarc-2.0'> (RFC 9990)",
        lambda: xml(open_tag=f'<feedback xmlns="{DMARC_2}">'),
        accept(),
    ),
    Quirk(
        "dmarc-2.0-prefixed-root",
        "",
        _GH + "danielsen/DmarcRua/pull/10",
        "a prefixed <d:feedback xmlns:d=...> whose children are unqualified",
        lambda: xml(open_tag=f'<d:feedback xmlns:d="{DMARC_2}">', close_tag="</d:feedback>"),
        accept(),
    ),
    Quirk(
        "xsi-schema-location",
        "",
        NO_THREAD,
        "xmlns:xsi and xsi:schemaLocation attributes on the root",
        lambda: xml(
            open_tag='<feedback xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:noNamespaceSchemaLocation="http://dmarc.org/dmarc-xml/0.1/rua.xsd">'
        ),
        accept(),
    ),
    Quirk(
        "version-element",
        "OpenDMARC, kddi.com",
        VIEWER + "21",
        "<version>1.0</version> before the metadata",
        lambda: xml(head="<version>1.0</version>"),
        accept(),
    ),
    Quirk(
        "unknown-top-level-element",
        "",
        NO_THREAD,
        "an element no schema has between <policy_published> and the records",
        lambda: xml(middle="<x-vendor><note>hi</note></x-vendor>"),
        accept(),
    ),
    Quirk(
        "np-in-policy-published",
        "Google",
        SRG + "69",
        "<np> (RFC 9091) in <policy_published>",
        lambda: xml(published=policy(POLICY_BODY + "<np>none</np>")),
        accept(),
    ),
    Quirk(
        "fo-in-policy-published",
        "Yahoo",
        PARSEDMARC + "issues/86",
        "<fo>0</fo> in <policy_published>",
        lambda: xml(published=policy(POLICY_BODY + "<fo>0</fo>")),
        accept(),
    ),
)

FIELDS = (
    Quirk(
        "missing-email",
        "",
        NO_THREAD,
        "no <email> in <report_metadata>",
        lambda: xml(meta=metadata(email="")),
        accept(),
    ),
    Quirk(
        "missing-sp",
        "Yahoo, seznam.cz, Verizon Media",
        MODOBOA + "issues/42",
        "no <sp> in <policy_published>",
        lambda: xml(published=policy("<adkim>r</adkim><aspf>r</aspf><p>none</p><pct>100</pct>")),
        accept(),
    ),
    Quirk(
        "empty-sp",
        "Yahoo",
        MODOBOA + "pull/67",
        "an empty <sp></sp>",
        lambda: xml(published=policy("<p>none</p><sp></sp><pct>100</pct>")),
        accept(),
    ),
    Quirk(
        "missing-pct-adkim-aspf",
        "",
        NO_THREAD,
        "only <domain> and <p> in <policy_published>",
        lambda: xml(published=policy("<p>reject</p>")),
        accept(),
    ),
    Quirk(
        "empty-report-id",
        "",
        NO_THREAD,
        "an empty <report_id/>: no identity, refused",
        lambda: xml(meta=metadata(report_id="")),
        refuse("schema-violation"),
    ),
    Quirk(
        "begin-end-with-whitespace",
        "",
        NO_THREAD,
        "date_range values with spaces and newlines around",
        lambda: xml(meta=metadata(begin=f"\n  {BEGIN} ", end=f" {END}\n")),
        accept(),
    ),
    Quirk(
        "begin-end-as-floats",
        "",
        NO_THREAD,
        "date_range written as 1735689600.0",
        lambda: xml(meta=metadata(begin=BEGIN + ".0", end=END + ".000")),
        accept(),
    ),
    Quirk(
        "timestamps-in-milliseconds",
        "",
        NO_THREAD,
        "date_range in milliseconds: past year 9999 as seconds, refused rather than misdated",
        lambda: xml(meta=metadata(begin=BEGIN + "000", end=END + "999")),
        refuse("schema-violation"),
    ),
    Quirk(
        "date-range-of-weeks",
        "Trustwave SEG",
        PARSEDMARC + "issues/282",
        "a date_range of several weeks (RFC 7489 asks for a day): kept",
        lambda: xml(meta=metadata(begin="1733011200", end=END)),
        accept(),
    ),
    Quirk(
        "metadata-out-of-order",
        "wp.pl",
        _GH + "dmarc-analyzer-net/DmarcAnalyzerApp/issues/190",
        "<date_range> first in <report_metadata>, no declaration",
        wp_pl_order,
        accept(),
    ),
    Quirk(
        "multiple-dkim-results",
        "Google",
        PARSEDMARC + "issues/619",
        "two <dkim> results in one record's <auth_results>",
        multiple_dkim,
        accept(messages=4),
    ),
    Quirk(
        "spf-hardfail",
        "",
        VIEWER + "21",
        "an SPF result 'hardfail' (not in the schema): kept as written",
        lambda: xml(records=record(auth="<spf><domain>example.com</domain><result>hardfail</result></spf>")),
        accept(),
    ),
    Quirk(
        "spf-unknown",
        "OpenDMARC",
        VIEWER + "80",
        "an SPF result 'unknown' for temperror",
        lambda: xml(records=record(auth="<spf><domain>example.com</domain><result>unknown</result></spf>")),
        accept(),
    ),
    Quirk(
        "empty-reason-type",
        "",
        _GH + "danielsen/DmarcRua/pull/5",
        "<reason><type></type></reason>",
        lambda: xml(records=record(policy_evaluated=evaluated(reason="<reason><type></type></reason>"))),
        accept(),
    ),
    Quirk(
        "reason-as-bare-text",
        "rspamd",
        RSPAMD + "2872",
        "<reason>sampled_out</reason> without a <type> child",
        lambda: xml(records=record(policy_evaluated=evaluated(reason="<reason>sampled_out</reason>"))),
        accept(),
    ),
    Quirk(
        "disposition-softfail",
        "rspamd",
        RSPAMD + "2872",
        "disposition 'softfail' (not an enumerated one)",
        lambda: xml(records=record(policy_evaluated=evaluated(disposition="softfail"))),
        accept(),
    ),
    Quirk(
        "disposition-leading-space",
        "rspamd",
        RSPAMD + "2872",
        "<disposition> quarantine</disposition>",
        lambda: xml(records=record(policy_evaluated=evaluated(disposition=" quarantine"))),
        accept(),
    ),
    Quirk(
        "no-envelope-from-helo-scope",
        "Fastmail, SpamTitan",
        MAIL_DMARC + "issues/141",
        "no <envelope_from>, SPF scope helo",
        lambda: xml(
            records=record(
                identifiers="<header_from>example.com</header_from>",
                auth="<spf><domain>mx.example.net</domain><scope>helo</scope><result>pass</result></spf>",
            )
        ),
        accept(),
    ),
    Quirk(
        "null-report-empty-record",
        "wp.pl",
        _GH + "dmarcguardhq/dmarcguard/issues/156",
        "a record with count 0, an empty <source_ip> and an empty <policy_evaluated>: kept aside",
        null_report_record,
        accept(records=0, messages=0),
    ),
    Quirk(
        "no-records",
        "",
        NO_THREAD,
        "a header and no <record> at all",
        lambda: xml(records=""),
        accept(records=0, messages=0),
    ),
    Quirk(
        "three-records-ipv4-ipv6",
        "",
        NO_THREAD,
        "records from IPv4 and IPv6 sources",
        lambda: xml(records=three_records()),
        accept(records=3, messages=15),
    ),
)

CONTAINERS_AND_MIME = (
    Quirk(
        "application-gzip",
        "AOL, Mail.ru, Comcast, Fastmail",
        MODOBOA + "issues/7",
        "the RFC 7489 way: application/gzip, base64",
        lambda: report_mail(attachment(gz(ONE))),
        accept(),
    ),
    Quirk(
        "application-x-gzip",
        "Yahoo, Amazon Route 53",
        SRG + "43",
        "application/x-gzip",
        lambda: report_mail(attachment(gz(ONE), "application/x-gzip")),
        accept(),
    ),
    Quirk(
        "octet-stream-gzip",
        "Amazon SES",
        VIEWER + "15",
        "application/octet-stream for a .xml.gz",
        lambda: report_mail(attachment(gz(ONE), "application/octet-stream")),
        accept(),
    ),
    Quirk(
        "octet-stream-no-disposition",
        "",
        NO_THREAD,
        "application/octet-stream, no Content-Disposition, the name only on Content-Type",
        lambda: report_mail(attachment(gz(ONE), "application/octet-stream", disposition="")),
        accept(),
    ),
    Quirk(
        "x-zip-compressed",
        "",
        NO_THREAD,
        "application/x-zip-compressed for a zip",
        lambda: report_mail(
            attachment(zipped(("r.xml", ONE)), "application/x-zip-compressed", filename=ZIP_NAME)
        ),
        accept(),
    ),
    Quirk(
        "zip-sent-as-gzip-type",
        "mimecast.org",
        DMARCTS + "117",
        "a .zip attachment declared application/gzip",
        lambda: report_mail(attachment(zipped(("r.xml", ONE)), filename=ZIP_NAME)),
        accept(),
    ),
    Quirk(
        "gzip-sent-as-zip-type",
        "GMX",
        MAIL_DMARC + "issues/247",
        "a gzip declared application/zip",
        lambda: report_mail(attachment(gz(ONE), "application/zip", filename=ZIP_NAME)),
        accept(),
    ),
    Quirk(
        "gzip-named-xml-zip",
        "seznam.cz, Yahoo",
        PARSEDMARC + "issues/208",
        "an octet-stream attachment named .xml.zip that holds a gzip: the bytes decide, not the name",
        lambda: report_mail(attachment(gz(ONE), "application/octet-stream", filename="r.xml.zip")),
        accept(),
    ),
    Quirk("zip-inside-gzip", "", NO_THREAD, "a zip wrapped again in gzip", zip_in_gzip, accept()),
    Quirk(
        "uncompressed-text-xml",
        "centerasecurity.com, xsalto.com",
        PARSEDMARC + "issues/607",
        "an uncompressed text/xml attachment",
        lambda: report_mail(attachment(ONE, "text/xml", filename="r.xml")),
        accept(),
    ),
    Quirk(
        "quoted-printable-xml",
        "",
        NO_THREAD,
        "a text/xml attachment sent quoted-printable",
        lambda: report_mail(attachment(ONE, "text/xml", filename="r.xml", encoding="quoted-printable")),
        accept(),
    ),
    Quirk(
        "inline-disposition",
        "Fastmail",
        _GH + "dmarcguardhq/dmarcguard/issues/205",
        "Content-Disposition: inline with a filename",
        lambda: report_mail(attachment(gz(ONE), disposition="inline")),
        accept(),
    ),
    Quirk(
        "inline-xml-body-no-filename",
        "",
        NO_THREAD,
        "the XML as the text/xml body, no name, no disposition",
        lambda: mail(attachment(ONE, "text/xml", filename="", disposition="", encoding="7bit")),
        accept(),
    ),
    Quirk(
        "multipart-alternative",
        "rspamd",
        RSPAMD + "1793",
        "multipart/alternative holding the report",
        lambda: report_mail(
            attachment(ONE, "text/xml", filename="r.xml"), content_type="multipart/alternative"
        ),
        accept(),
    ),
    Quirk(
        "html-body-before-report",
        "Microsoft",
        PARSEDMARC + "issues/626",
        "an HTML summary body before the .xml.gz",
        lambda: mail(HTML_PART, attachment(gz(ONE))),
        accept(),
    ),
    Quirk(
        "forwarded-rfc822-with-zip",
        "Google",
        DMARCTS + "122",
        "the report mail forwarded as message/rfc822, its zip inside",
        lambda: mail(
            TEXT_PART,
            forwarded(report_mail(attachment(zipped(("r.xml", ONE)), "application/zip", filename=ZIP_NAME))),
        ),
        accept(),
    ),
    Quirk(
        "forwarded-rfc822-base64",
        "",
        NO_THREAD,
        "a forwarded message/rfc822 itself base64 encoded",
        lambda: mail(TEXT_PART, forwarded(report_mail(attachment(gz(ONE))), encoding="base64")),
        accept(),
    ),
    Quirk(
        "content-type-header-typo",
        "Trustwave SEG",
        DMARCTS + "54",
        "'ContentType:' for Content-Type on the attachment",
        lambda: report_mail(attachment(gz(ONE), type_header="ContentType")),
        accept(),
    ),
    Quirk(
        "base64-long-lines",
        "rspamd",
        RSPAMD + "2820",
        "base64 lines of 78 characters",
        lambda: report_mail(attachment(gz(ONE), body=b64_lines(gz(ONE), width=78))),
        accept(),
    ),
    Quirk(
        "base64-one-line",
        "",
        PARSEDMARC + "pull/649",
        "the whole base64 on one line",
        lambda: report_mail(attachment(gz(ONE), body=b64_lines(gz(ONE), width=0))),
        accept(),
    ),
    Quirk(
        "base64-missing-padding",
        "",
        PARSEDMARC + "issues/26",
        "base64 without its '=' padding",
        lambda: report_mail(attachment(gz(ONE + b" "), body=b64_lines(gz(ONE + b" "), padding=False))),
        accept(),
    ),
    Quirk(
        "lf-only-line-ends",
        "rspamd",
        RSPAMD + "2812",
        "a mail with bare LF line ends",
        lf_only_mail,
        accept(),
    ),
    Quirk(
        "mbox-from-line",
        "",
        NO_THREAD,
        "a mail saved with its mbox 'From ' line",
        mbox_from_line,
        accept(),
    ),
    Quirk(
        "two-attachments",
        "",
        NO_THREAD,
        "two reports attached to one mail: both read",
        lambda: report_mail(
            attachment(gz(ONE)), attachment(gz(xml(meta=metadata("field-2"))), filename="second.xml.gz")
        ),
        accept(2, 6, 2),
    ),
    Quirk(
        "tar-gz-attachment",
        "",
        DMARCTS + "42",
        "a .tar.gz: tar is not read, refused",
        lambda: report_mail(attachment(gz(_tar(ONE)), filename="r.tar.gz")),
        refuse("not-a-report"),
    ),
    Quirk(
        "tnef-winmail-dat",
        "",
        NO_THREAD,
        "the report wrapped in an Outlook winmail.dat: not read",
        tnef_winmail,
        refuse("not-a-report"),
    ),
    Quirk(
        "smtp-tls-report",
        "Microsoft",
        PARSEDMARC + "issues/561",
        "a TLS-RPT JSON report in the same box: stored as one (RFC 8460), here with no policy",
        tlsrpt_json,
        accept(records=0, messages=0),
    ),
    Quirk(
        "failure-report",
        "",
        PARSEDMARC + "issues/84",
        "a DMARC failure (RUF) report mail",
        ruf_mail,
        refuse("not-aggregate"),
    ),
    Quirk(
        "mail-without-report",
        "",
        NO_THREAD,
        "a report mail whose attachment was stripped",
        lambda: mail(TEXT_PART),
        refuse("not-a-report"),
    ),
)


def _tar(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("report.xml")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def single_part_gzip_mail() -> bytes:
    head = (
        "From: reporter@example.net\r\nSubject: Report Domain: example.com\r\nMIME-Version: 1.0\r\n"
        "Content-Type: application/gzip\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    )
    return (head + b64_lines(gz(ONE))).encode()


def binary_transfer_encoding() -> bytes:
    marker = "BINARY-BODY"
    part = attachment(b"", encoding="binary", body=marker)
    return report_mail(part).replace(marker.encode(), gz(ONE))


def appledouble_zip() -> bytes:
    return zipped(("__MACOSX/", b""), ("__MACOSX/._report.xml", b"\x00\x05\x16\x07junk"), ("report.xml", ONE))


PROLOG_AND_MARKUP = (
    Quirk(
        "comment-before-root",
        "",
        NO_THREAD,
        "an XML comment between the declaration and <feedback>",
        lambda: xml(declaration=DECLARATION + "<!-- generated by a reporter -->\n"),
        accept(),
    ),
    Quirk(
        "stylesheet-processing-instruction",
        "",
        NO_THREAD,
        "an <?xml-stylesheet ...?> before the root",
        lambda: xml(declaration=DECLARATION + '<?xml-stylesheet type="text/xsl" href="rua.xsl"?>\n'),
        accept(),
    ),
    Quirk(
        "cdata-org-name",
        "",
        NO_THREAD,
        "org_name in a CDATA section holding '&'",
        lambda: xml(meta=metadata(org="<![CDATA[Smith & Sons]]>")),
        accept(),
    ),
    Quirk(
        "doctype-declaration",
        "",
        NO_THREAD,
        "a <!DOCTYPE feedback>: DTDs are never read, refused",
        lambda: xml(declaration=DECLARATION + "<!DOCTYPE feedback>\n"),
        refuse("forbidden-xml"),
    ),
)

SAVED_MAILS_AND_ARCHIVES = (
    Quirk(
        "gzip-body-declared-text-plain",
        "",
        NO_THREAD,
        "a gzip sent as a text/plain part with no name or disposition: the bytes decide",
        lambda: mail(attachment(gz(ONE), "text/plain", filename="", disposition="")),
        accept(),
    ),
    Quirk(
        "utf8-bom-before-mail",
        "",
        NO_THREAD,
        "a mail saved by a Windows tool with a UTF-8 BOM first",
        lambda: b"\xef\xbb\xbf" + report_mail(attachment(gz(ONE))),
        accept(),
    ),
    Quirk(
        "blank-line-before-mail",
        "",
        NO_THREAD,
        "a saved mail starting with a blank line",
        lambda: b"\r\n" + report_mail(attachment(gz(ONE))),
        accept(),
    ),
    Quirk(
        "single-part-gzip-mail",
        "",
        NO_THREAD,
        "no multipart: the whole body is the base64 gzip",
        single_part_gzip_mail,
        accept(),
    ),
    Quirk(
        "binary-transfer-encoding",
        "",
        NO_THREAD,
        "Content-Transfer-Encoding: binary, raw gzip bytes",
        binary_transfer_encoding,
        accept(),
    ),
    Quirk(
        "uppercase-transfer-encoding",
        "",
        NO_THREAD,
        "Content-Transfer-Encoding: BASE64",
        lambda: report_mail(attachment(gz(ONE)).replace(": base64", ": BASE64")),
        accept(),
    ),
    Quirk(
        "base64-trailing-junk",
        "",
        NO_THREAD,
        "characters outside base64 after the data",
        lambda: report_mail(attachment(gz(ONE), body=b64_lines(gz(ONE)) + "\r\n!!")),
        accept(),
    ),
    Quirk(
        "gzip-inside-zip",
        "",
        NO_THREAD,
        "a zip whose member is a .xml.gz",
        lambda: zipped(("report.xml.gz", gz(ONE))),
        accept(),
    ),
    Quirk(
        "appledouble-members-in-zip",
        "",
        NO_THREAD,
        "a zip re-made on macOS with __MACOSX/._report.xml",
        appledouble_zip,
        accept(),
    ),
)

QUIRKS: tuple[Quirk, ...] = (
    BYTES_AND_DECLARATIONS
    + PROLOG_AND_MARKUP
    + ROOTS_AND_NAMESPACES
    + FIELDS
    + CONTAINERS_AND_MIME
    + SAVED_MAILS_AND_ARCHIVES
)


# --- what an accepted quirk must keep, beyond its totals -----------------------------------------


@dataclass(frozen=True)
class Kept:
    """Values of the `reports` row and of the first `records` row that must come out as shown."""

    report: tuple[tuple[str, object], ...] = ()
    first_record: tuple[tuple[str, object], ...] = ()
    xfail: str = ""


DAY_START, DAY_END = datetime(2025, 1, 1), datetime(2025, 1, 1, 23, 59, 59)


def _spf(result: str) -> list[dict[str, object]]:
    return [{"domain": "example.com", "scope": None, "result": result, "human_result": None}]


VALUES_KEPT: dict[str, Kept] = {
    "windows-1252-declared": Kept(report=(("org_name", "Caf\xe9"),)),
    "latin1-bytes-under-utf8": Kept(report=(("org_name", "Sue\xf1o Fueguino"),)),
    "cp1252-smart-quotes-in-url": Kept(
        report=(("extra_contact_info", "http://example.net/dmarc?\u2018help\u2019"),)
    ),
    "cdata-org-name": Kept(report=(("org_name", "Smith & Sons"),)),
    "dmarc-2.0-default-namespace": Kept(report=(("xml_schema", "dmarc-2.0"),)),
    "dmarc-2.0-prefixed-root": Kept(report=(("xml_schema", "dmarc-2.0"),)),
    "missing-email": Kept(report=(("email", None),)),
    "missing-sp": Kept(report=(("published_sp", None), ("published_p", "none"))),
    "empty-sp": Kept(report=(("published_sp", None),)),
    "missing-pct-adkim-aspf": Kept(report=(("published_pct", None), ("published_p", "reject"))),
    "np-in-policy-published": Kept(report=(("published_np", "none"),)),
    "begin-end-with-whitespace": Kept(report=(("date_range_begin", DAY_START), ("date_range_end", DAY_END))),
    "begin-end-as-floats": Kept(report=(("date_range_begin", DAY_START), ("date_range_end", DAY_END))),
    "date-range-of-weeks": Kept(report=(("date_range_begin", datetime(2024, 12, 1)),)),
    "disposition-leading-space": Kept(report=(("disposition_quarantine", 3),)),
    "null-report-empty-record": Kept(report=(("rejected_record_count", 1),)),
    "disposition-softfail": Kept(first_record=(("disposition", "softfail"),)),
    "spf-hardfail": Kept(first_record=(("spf_results", _spf("hardfail")),)),
    "spf-unknown": Kept(first_record=(("spf_results", _spf("unknown")),)),
    "multiple-dkim-results": Kept(
        first_record=(
            (
                "dkim_results",
                [
                    {"domain": "google.com", "selector": "20230601", "result": "pass", "human_result": None},
                    {"domain": "example.com", "selector": "s1", "result": "pass", "human_result": None},
                ],
            ),
        )
    ),
    "reason-as-bare-text": Kept(first_record=(("reasons", [{"type": "sampled_out", "comment": None}]),)),
}
