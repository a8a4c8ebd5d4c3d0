"""`content_sha256` hashes what a report says, not how it is written: every formatting variant of one
report hashes alike (record order, case of enumerated values, whitespace, indentation, prefixes,
attribute order, canonical XML of extensions, the container), and every single value change does not."""

from __future__ import annotations

import gzip
import ipaddress
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dmarc_model.digest import ReportDigest, digest_input
from dmarc_model.models import MAX_MESSAGE_COUNT
from tests import hostile

DMARC_2 = "urn:ietf:params:xml:ns:dmarc-2.0"
EXT = "urn:example:ext"


@dataclass(frozen=True)
class Style:
    """How one report is written; nothing here is a value."""

    indent: str = ""
    """White space between elements."""
    pad: str = ""
    """White space around every leaf value."""
    shout: bool = False
    """Every enumerated value in upper case."""
    prefix: str = ""
    """The prefix of the DMARC namespace ('' for a default namespace)."""
    ext_prefix: str = "x"
    """The prefix of the extensions' namespace ('' for a default namespace)."""
    attributes_reversed: bool = False
    order: tuple[int, ...] | None = None
    """The records in this order (a permutation of their indexes)."""
    inner_reversed: bool = False
    """Reasons and auth results in reverse order inside each valid record."""
    records_first: bool = False
    """Records before the header."""
    ipv6_exploded: bool = False
    count_style: str = ""
    """'' as is, '0' a leading zero, '.0' a fraction of zero."""
    begin_float: bool = False
    container: str = "xml"


def _leaf(style: Style, name: str, value: object, token: bool = False) -> str:
    if value is None:
        return ""
    text = str(value)
    if token and style.shout:
        text = text.upper()
    tag = f"{style.prefix}:{name}" if style.prefix else name
    return f"<{tag}>{style.pad}{text}{style.pad}</{tag}>"


def _element(style: Style, name: str, *children: str) -> str:
    tag = f"{style.prefix}:{name}" if style.prefix else name
    inner = style.indent.join(child for child in children if child)
    return f"<{tag}>{style.indent}{inner}{style.indent}</{tag}>"


def _extensions(style: Style, values: tuple[str, str]) -> str:
    p = f"{style.ext_prefix}:" if style.ext_prefix else ""
    declaration = f'xmlns:{style.ext_prefix}="{EXT}"' if style.ext_prefix else f'xmlns="{EXT}"'
    attributes = [f'level="{values[0]}"', f'kind="{values[1]}"']
    if style.attributes_reversed:
        attributes.reverse()
    body = (
        f"<{p}info {declaration} {' '.join(attributes)}>{style.indent}"
        f"<{p}note>{style.pad}{values[1]}{style.pad}</{p}note>{style.indent}<{p}empty/></{p}info>"
    )
    return _element(style, "extensions", body)


def _ip(style: Style, ip: str) -> str:
    address = ipaddress.ip_address(ip)
    return address.exploded.upper() if style.ipv6_exploded and address.version == 6 else ip


def _count(style: Style, count: int) -> str:
    return {"": str(count), "0": f"0{count}", ".0": f"{count}.0"}[style.count_style]


def _record(style: Style, record: dict[str, Any]) -> str:
    if record.get("rejected"):
        return _element(style, "record", _element(style, "row", _leaf(style, "source_ip", record["ip"])))
    reasons = [
        _element(style, "reason", _leaf(style, "type", kind, True), _leaf(style, "comment", comment))
        for kind, comment in record["reasons"]
    ]
    dkim = [
        _element(
            style,
            "dkim",
            _leaf(style, "domain", domain),
            _leaf(style, "selector", selector),
            _leaf(style, "result", result, True),
        )
        for domain, selector, result in record["dkim"]
    ]
    spf = [
        _element(
            style,
            "spf",
            _leaf(style, "domain", domain),
            _leaf(style, "scope", "mfrom", True),
            _leaf(style, "result", result, True),
        )
        for domain, result in record["spf"]
    ]
    if style.inner_reversed:
        reasons, dkim, spf = reasons[::-1], dkim[::-1], spf[::-1]
    evaluated = _element(
        style,
        "policy_evaluated",
        _leaf(style, "disposition", record["disposition"], True),
        _leaf(style, "dkim", record["policy_dkim"], True),
        _leaf(style, "spf", record["policy_spf"], True),
        *reasons,
    )
    row = _element(
        style,
        "row",
        _leaf(style, "source_ip", _ip(style, record["ip"])),
        _leaf(style, "count", _count(style, record["count"])),
        evaluated,
    )
    identifiers = _element(style, "identifiers", _leaf(style, "header_from", record["header_from"]))
    extensions = _extensions(style, record["extensions"]) if record["extensions"] else ""
    return _element(
        style, "record", row, identifiers, _element(style, "auth_results", *dkim, *spf), extensions
    )


def render(report: dict[str, Any], style: Style) -> bytes:
    begin = report["begin"]
    metadata = _element(
        style,
        "report_metadata",
        _leaf(style, "org_name", report["org_name"]),
        _leaf(style, "email", "dmarc@example.net"),
        _leaf(style, "report_id", report["report_id"]),
        _element(
            style,
            "date_range",
            _leaf(style, "begin", f"{begin}.0" if style.begin_float else begin),
            _leaf(style, "end", begin + 86399),
        ),
    )
    policy = _element(
        style,
        "policy_published",
        _leaf(style, "domain", report["domain"], True),
        _leaf(style, "adkim", "r", True),
        _leaf(style, "p", report["p"], True),
        _leaf(style, "pct", report["pct"]),
    )
    records = report["records"]
    order = style.order if style.order is not None else range(len(records))
    body = [_record(style, records[index]) for index in order]
    header = [metadata, policy, _extensions(style, report["extensions"])]
    parts = [*body, *header] if style.records_first else [*header, *body]
    root = f"{style.prefix}:feedback" if style.prefix else "feedback"
    declaration = f'xmlns:{style.prefix}="{DMARC_2}"' if style.prefix else f'xmlns="{DMARC_2}"'
    xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} {declaration}>{"".join(parts)}</{root}>'
    return _wrapped(xml.encode(), style.container)


def _wrapped(xml: bytes, container: str) -> bytes:
    if container == "gzip":
        return gzip.compress(xml)
    if container == "zip":
        return hostile.zip_of({"report.xml": xml})
    if container == "mail":
        return hostile.mail_with_attachment(gzip.compress(xml), "r.xml.gz", "application/gzip")
    return xml


def content_hash(data: bytes) -> str:
    (found,) = list(digest_input(data))
    assert isinstance(found, ReportDigest), str(found)
    return found.content_sha256


# --- the report and its styles, drawn ----------------------------------------------------------------

_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
_text = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789-._", min_size=1, max_size=12)
_result = st.sampled_from(["pass", "fail", "none", "softfail", "temperror", "hardfail"])
_extension_values = st.tuples(_word, _word)
_valid_record = st.fixed_dictionaries(
    {
        "ip": st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str),
        "count": st.integers(min_value=0, max_value=MAX_MESSAGE_COUNT),
        "disposition": st.sampled_from(["none", "quarantine", "reject"]),
        "policy_dkim": st.sampled_from(["pass", "fail"]),
        "policy_spf": st.sampled_from(["pass", "fail"]),
        "reasons": st.lists(st.tuples(st.sampled_from(["forwarded", "local_policy"]), _text), max_size=2),
        "header_from": _text,
        "dkim": st.lists(st.tuples(_text, _text, _result), max_size=3),
        "spf": st.lists(st.tuples(_text, _result), min_size=1, max_size=2),
        "extensions": st.none() | _extension_values,
    }
)
_rejected_record = st.builds(lambda ip: {"rejected": True, "ip": ip}, st.sampled_from(["999.1.1.1", "x"]))


@st.composite
def reports(draw: st.DrawFn) -> dict[str, Any]:
    pool = draw(st.lists(_valid_record, min_size=1, max_size=4))
    records = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=6))  # repeats are allowed
    records += draw(st.lists(_rejected_record, max_size=1))
    return {
        "org_name": draw(_text),
        "report_id": draw(_text),
        "begin": draw(st.integers(min_value=0, max_value=4_000_000_000)),
        "domain": draw(_word),
        "p": draw(st.sampled_from(["none", "quarantine", "reject"])),
        "pct": draw(st.none() | st.integers(min_value=0, max_value=100)),
        "extensions": draw(_extension_values),
        "records": records,
    }


@st.composite
def styles(draw: st.DrawFn, records: int) -> Style:
    return Style(
        indent=draw(st.sampled_from(["", "\n", "\n    ", "\t"])),
        pad=draw(st.sampled_from(["", " ", "\n  "])),
        shout=draw(st.booleans()),
        prefix=draw(st.sampled_from(["", "d", "dmarc"])),
        ext_prefix=draw(st.sampled_from(["", "x", "ext"])),
        attributes_reversed=draw(st.booleans()),
        order=tuple(draw(st.permutations(range(records)))),
        inner_reversed=draw(st.booleans()),
        records_first=draw(st.booleans()),
        ipv6_exploded=draw(st.booleans()),
        count_style=draw(st.sampled_from(["", "0", ".0"])),
        begin_float=draw(st.booleans()),
        container=draw(st.sampled_from(["xml", "gzip", "zip", "mail"])),
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_every_formatting_variant_of_a_report_hashes_alike(data: st.DataObject) -> None:
    report = data.draw(reports())
    first = data.draw(styles(len(report["records"])))
    second = data.draw(styles(len(report["records"])))
    assert content_hash(render(report, first)) == content_hash(render(report, second))


# --- the same, one variant at a time (each as named in the issue) ----------------------------------

SAMPLE: dict[str, Any] = {
    "org_name": "Example Receiver",
    "report_id": "r-1",
    "begin": 1_700_000_000,
    "domain": "example.com",
    "p": "none",
    "pct": 100,
    "extensions": ("high", "alpha"),
    "records": [
        {
            "ip": "2001:db8::1",
            "count": 3,
            "disposition": "none",
            "policy_dkim": "pass",
            "policy_spf": "fail",
            "reasons": [("forwarded", "list"), ("local_policy", "rule")],
            "header_from": "Example.com",
            "dkim": [("example.com", "s1", "pass"), ("esp.example", "s2", "fail")],
            "spf": [("bounce.example.com", "softfail")],
            "extensions": ("low", "beta"),
        },
        {
            "ip": "192.0.2.7",
            "count": 1,
            "disposition": "reject",
            "policy_dkim": "fail",
            "policy_spf": "fail",
            "reasons": [],
            "header_from": "example.com",
            "dkim": [],
            "spf": [("example.com", "fail")],
            "extensions": None,
        },
        {"rejected": True, "ip": "999.1.1.1"},
    ],
}

VARIANTS = {
    "re-indented": Style(indent="\n    "),
    "white space around values": Style(pad=" \n "),
    "PASS versus pass": Style(shout=True),
    "records in another order": Style(order=(2, 0, 1)),
    "auth results and reasons in another order": Style(inner_reversed=True),
    "records before the header": Style(records_first=True),
    "another DMARC prefix": Style(prefix="dmarc"),
    "extensions in a default namespace": Style(ext_prefix=""),
    "extensions under another prefix": Style(ext_prefix="other"),
    "extension attributes in another order": Style(attributes_reversed=True),
    "IPv6 written out in full": Style(ipv6_exploded=True),
    "a count with a leading zero": Style(count_style="0"),
    "a count written 3.0": Style(count_style=".0"),
    "a begin written 1700000000.0": Style(begin_float=True),
    "gzipped": Style(container="gzip"),
    "zipped": Style(container="zip"),
    "mailed": Style(container="mail"),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_formatting_variant_hashes_alike(variant: str) -> None:
    assert content_hash(render(SAMPLE, VARIANTS[variant])) == content_hash(render(SAMPLE, Style()))


# --- every value change hashes differently -----------------------------------------------------------

BASE_XML = render(SAMPLE, Style())
CHANGES: dict[str, tuple[str, str]] = {
    "org_name": ("<org_name>Example Receiver<", "<org_name>Example receiver<"),
    "email": ("dmarc@example.net", "dmarc@example.org"),
    "report_id": ("<report_id>r-1<", "<report_id>r-2<"),
    "begin": ("<begin>1700000000<", "<begin>1700000001<"),
    "end": ("<end>1700086399<", "<end>1700086398<"),
    "policy domain": ("<domain>example.com</domain><adkim>", "<domain>example.org</domain><adkim>"),
    "adkim": ("<adkim>r<", "<adkim>s<"),
    "p": ("<p>none<", "<p>reject<"),
    "pct": ("<pct>100<", "<pct>50<"),
    "report extensions: an attribute": ('level="high"', 'level="higher"'),
    "report extensions: a text": ("<x:note>alpha<", "<x:note>Alpha<"),
    "report extensions: a namespace": (f'xmlns:x="{EXT}" level="high"', f'xmlns:x="{EXT}2" level="high"'),
    "source_ip": ("<source_ip>192.0.2.7<", "<source_ip>192.0.2.8<"),
    "count": ("<count>3<", "<count>4<"),
    "disposition": ("<disposition>reject<", "<disposition>quarantine<"),
    "policy_evaluated dkim": ("<dkim>pass</dkim><spf>fail", "<dkim>fail</dkim><spf>fail"),
    "policy_evaluated spf": ("<dkim>pass</dkim><spf>fail", "<dkim>pass</dkim><spf>pass"),
    "reason type": ("<type>forwarded<", "<type>mailing_list<"),
    "reason comment": ("<comment>list<", "<comment>List<"),
    "header_from": ("<header_from>Example.com<", "<header_from>example.com<"),
    "dkim domain": ("<domain>esp.example<", "<domain>esp.example.net<"),
    "dkim selector": ("<selector>s1<", "<selector>s3<"),
    "dkim result": ("<selector>s2</selector><result>fail<", "<selector>s2</selector><result>pass<"),
    "spf domain": ("<domain>bounce.example.com<", "<domain>bounces.example.com<"),
    "spf scope": ("<scope>mfrom</scope><result>softfail", "<scope>helo</scope><result>softfail"),
    "spf result": ("<result>softfail<", "<result>neutral<"),
    "record extensions: an attribute": ('level="low"', 'level="lower"'),
    "record extensions: a text": ("<x:note>beta<", "<x:note>gamma<"),
    "record extensions: an element": (
        "<x:empty/></x:info></extensions></record><record>",
        "</x:info></extensions></record><record>",
    ),
    "a rejected record's value": ("<source_ip>999.1.1.1<", "<source_ip>999.1.1.2<"),
}


def _changed(old: str, new: str) -> bytes:
    text = BASE_XML.decode()
    assert text.count(old) == 1, old
    return text.replace(old, new).encode()


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_every_single_value_change_hashes_differently(change: str) -> None:
    old, new = CHANGES[change]
    assert content_hash(_changed(old, new)) != content_hash(BASE_XML)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_a_record_dropped_hashes_differently(index: int) -> None:
    fewer = {**SAMPLE, "records": [r for i, r in enumerate(SAMPLE["records"]) if i != index]}
    assert content_hash(render(fewer, Style())) != content_hash(BASE_XML)


def test_a_repeated_record_counts_in_the_hash() -> None:
    """A report is a multiset of records: the same record twice is not the same as once."""
    twice = {**SAMPLE, "records": [*SAMPLE["records"], SAMPLE["records"][1]]}
    assert content_hash(render(twice, Style())) != content_hash(BASE_XML)


def test_the_hash_of_a_known_report_is_pinned() -> None:
    """The canonical form is a contract: stored hashes are compared with new ones for ever after, so
    a change to it (on purpose: a new version in `dmarc_model.content`) must show here."""
    assert content_hash(BASE_XML) == "ff4a274c2e98119ca5613377c34b3df17072fc9b8c8fabdbfd8f1c546478bb46"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.none() | st.sampled_from(["a", "b"]), st.none() | st.sampled_from(["a", "b"]))))
def test_repeated_results_sort_to_one_order_whatever_their_order_and_missing_values(
    items: list[tuple[str | None, str | None]],
) -> None:
    from dmarc_model.content import _unordered

    assert _unordered(list(items)) == _unordered(list(reversed(items))) == _unordered(sorted(items, key=repr))
