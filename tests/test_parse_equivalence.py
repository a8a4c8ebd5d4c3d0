"""The fast path of the record reader (`dmarc_model.parse.fast`) against the generic walk.

For every corpus report, generated reports of many sizes and reporters, and hypothesis-built records
of odd shapes (white space, case, missing and repeated fields, extensions, namespaces, comments,
children where text belongs, odd counts and addresses), reading with the fast path gives exactly what
the generic walk gives: the header, each record (equal, and in the same state: the same `__dict__` in
the same order, fields set, extra and private values), the records kept aside, the warnings, the
rejected count and the content hash; or the same refusal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from pydantic import BaseModel

from dmarc_model.content import ContentHash, record_json, record_json_of_parts
from dmarc_model.errors import InputRefused
from dmarc_model.models import INT64_MAX, Record, RejectedRecord
from dmarc_model.parse import read_report
from dmarc_model.parse.fast import FastRecords
from dmarc_model.parse.validate import _RecordChecker
from dmarc_model.unpack import Payload, unpack
from tests.helpers import CORPUS, make_report


def _state(value: Any) -> Any:
    """A model's whole state, recursively (what `==` compares, and the fields set and key order)."""
    if isinstance(value, BaseModel):
        state = value.__getstate__()
        return (
            type(value).__name__,
            [(name, _state(item)) for name, item in state["__dict__"].items()],
            sorted(state["__pydantic_fields_set__"]),
            state["__pydantic_extra__"],
            state["__pydantic_private__"],
        )
    if isinstance(value, tuple):
        return tuple(_state(item) for item in value)
    return value


def _read(payload: Payload, fast_path: bool) -> dict[str, Any]:
    try:
        stream = read_report(payload, fast_path=fast_path)
        records = [_state(record) for record in stream.records()]
    except InputRefused as refused:
        return {"refused": (type(refused).__name__, refused.reason, refused.detail)}
    return {
        "header": _state(stream.header),
        "records": records,
        "rejected": [_state(rejected) for rejected in stream.rejected],
        "warnings": stream.warnings,
        "rejected_count": stream.rejected_count,
        "content_sha256": stream.content_sha256,
    }


def _assert_same(payload: Payload) -> dict[str, Any]:
    fast = _read(payload, fast_path=True)
    generic = _read(payload, fast_path=False)
    assert fast == generic, payload.location
    return fast


def _payload(xml: str | bytes) -> Payload:
    (found,) = list(unpack(xml.encode() if isinstance(xml, str) else xml))
    assert isinstance(found, Payload)
    return found


def _corpus_payloads() -> list[Path]:
    return sorted(path for path in CORPUS.rglob("*") if path.is_file())


@pytest.mark.parametrize("path", _corpus_payloads(), ids=lambda path: str(path.relative_to(CORPUS)))
def test_corpus_reads_alike_on_both_paths(path: Path) -> None:
    for found in unpack(path):
        if isinstance(found, Payload):
            _assert_same(found)


@pytest.mark.parametrize(
    ("records", "seed", "options"),
    [
        (1, 0, ()),
        (40, 1, ("--reporter", "0")),
        (300, 2, ("--reporter", "1", "--bom")),
        (300, 3, ("--reporter", "2", "--gzip")),
        (
            300,
            4,
            (
                "--reporter",
                "3",
            ),
        ),
        (300, 5, ("--reporter", "4", "--domain", "Example.ORG")),
        (6000, 6, ()),
    ],
)
def test_generated_reports_read_alike_on_both_paths(
    tmp_path: Path, records: int, seed: int, options: tuple[str, ...]
) -> None:
    out = tmp_path / "report.xml"
    summary = make_report(out, records, seed, *options)
    (payload,) = [found for found in unpack(out) if isinstance(found, Payload)]
    result = _assert_same(payload)
    assert len(result["records"]) == summary["record_count"]


def test_generated_records_take_the_fast_path(tmp_path: Path) -> None:
    """Not vacuous: the usual records do take the fast path, and build what the generic walk builds."""
    out = tmp_path / "report.xml"
    make_report(out, 500, 11)
    fast = FastRecords()
    taken = 0
    for _event, element in etree.iterparse(str(out), tag="record"):
        read = fast.read(element)
        assert read is not None
        generic = Record.model_validate(_generic_value(element))
        assert _state(read[0]) == _state(generic)
        assert record_json_of_parts(read[1], read[2], read[3].json, read[4].json, read[5].json) == (
            record_json(generic, None)
        )
        taken += 1
    assert taken == 500


def _generic_value(element: etree._Element) -> Any:
    from dmarc_model.parse.elements import _element_value

    return _element_value(element, None)


# Hypothesis: records of odd shapes, written into one report, read by both paths.

_SPACE = st.sampled_from(["", " ", "\n  ", "\t"])
_TOKENS = st.sampled_from(["pass", "PASS", " fail ", "none", "Quarantine", "reject", "softfail", "odd", ""])
_DOMAINS = st.sampled_from(["example.com", "Example.COM", " mail.example.org ", "", "x" * 254, "é.example"])
_IPS = st.sampled_from(
    [
        "192.0.2.1",
        " 192.0.2.1 ",
        "2001:DB8::1",
        "2001:db8:0:0:0:0:0:1",
        "::ffff:192.0.2.1",
        "::192.0.2.1",
        "192.0.2.01",
        "192.0.2.0/24",
        "fe80::1%eth0",
        "not an ip",
        "",
    ]
)
_COUNTS = st.sampled_from(["1", "007", " 3 ", "7.0", "+2", "-1", "4294967295", "4294967296", "1_0", "", "x"])


@st.composite
def _leaf(draw: st.DrawFn, name: str, values: st.SearchStrategy[str]) -> str:
    """One leaf, or none, or two, or one with a child where text belongs, or an empty one."""
    value = draw(values)
    form = draw(st.sampled_from(["one"] * 6 + ["none", "two", "child", "empty", "comment"]))
    space = draw(_SPACE)
    if form == "none":
        return ""
    if form == "two":
        return f"<{name}>{value}</{name}><{name}>{draw(values)}</{name}>"
    if form == "child":
        return f"<{name}><b>{value}</b></{name}>"
    if form == "empty":
        return f"<{name}/>"
    if form == "comment":
        return f"<{name}>{value}<!-- c --></{name}>"
    return f"<{name}>{space}{value}{space}</{name}>"


@st.composite
def _record(draw: st.DrawFn) -> str:
    space = draw(_SPACE)
    reasons = "".join(
        draw(
            st.lists(
                st.sampled_from(
                    [
                        "<reason><type>forwarded</type><comment>x</comment></reason>",
                        "<reason><type>Local_Policy</type></reason>",
                        "<reason>sampled_out</reason>",
                        "<reason/>",
                    ]
                ),
                max_size=2,
            )
        )
    )
    evaluated = (
        draw(_leaf("disposition", _TOKENS))
        + draw(_leaf("dkim", _TOKENS))
        + draw(_leaf("spf", _TOKENS))
        + reasons
    )
    row = (
        draw(_leaf("source_ip", _IPS))
        + draw(_leaf("count", _COUNTS))
        + f"<policy_evaluated>{space}{evaluated}</policy_evaluated>"
    )
    identifiers = draw(_leaf("header_from", _DOMAINS)) + draw(_leaf("envelope_from", _DOMAINS))
    identifiers += draw(_leaf("envelope_to", _DOMAINS))
    results = draw(
        st.lists(
            st.one_of(
                st.builds(
                    lambda d, s, r: f"<dkim>{d}{s}{r}</dkim>",
                    _leaf("domain", _DOMAINS),
                    _leaf("selector", st.sampled_from(["s1", "S2", ""])),
                    _leaf("result", _TOKENS),
                ),
                st.builds(
                    lambda d, s, r: f"<spf>{d}{s}{r}</spf>",
                    _leaf("domain", _DOMAINS),
                    _leaf("scope", st.sampled_from(["mfrom", "HELO", "odd"])),
                    _leaf("result", _TOKENS),
                ),
                st.just("<extensions><x a='1'>y</x></extensions>"),
                st.just("<unknown>z</unknown>"),
            ),
            max_size=4,
        )
    )
    parts = [
        f"<row>{row}</row>",
        f"<identifiers>{identifiers}</identifiers>",
        f"<auth_results>{''.join(results)}</auth_results>",
    ]
    extra = draw(
        st.sampled_from(["", "", "", "<extensions><e:x xmlns:e='urn:e'>1</e:x></extensions>", "<foo>1</foo>"])
    )
    order = draw(st.permutations(range(3)))
    dropped = draw(st.sampled_from([None] * 8 + [0, 1, 2]))
    body = "".join(parts[i] for i in order if i != dropped)
    return f"<record>{space}{body}{extra}</record>"


_HEADER = (
    "<report_metadata><org_name>o</org_name><email>a@example.org</email><report_id>r-1</report_id>"
    "<date_range><begin>1700000000</begin><end>1700086399</end></date_range></report_metadata>"
    "<policy_published><domain>example.com</domain><p>none</p></policy_published>"
)


def _report(records: list[str], namespace: str) -> str:
    declaration = {
        "": "",
        "dmarc-2": ' xmlns="urn:ietf:params:xml:ns:dmarc-2.0"',
        "prefix": ' xmlns:d="urn:d"',
    }
    root = "d:feedback" if namespace == "prefix" else "feedback"
    body = "".join(records)
    if namespace == "prefix":
        body = body.replace("<", "<d:").replace("<d:/", "</d:").replace("<d:!--", "<!--")
        header = _HEADER.replace("<", "<d:").replace("<d:/", "</d:")
    else:
        header = _HEADER
    return f"<?xml version='1.0'?><{root}{declaration[namespace]}>{header}{body}</{root}>"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    records=st.lists(_record(), min_size=1, max_size=6),
    repeats=st.lists(st.integers(0, 5), max_size=6),
    namespace=st.sampled_from(["", "dmarc-2", "prefix"]),
)
def test_odd_records_read_alike_on_both_paths(records: list[str], repeats: list[int], namespace: str) -> None:
    """Repeats put the same parts in several records, so the fast path's caches are hit too."""
    chosen = records + [records[i % len(records)] for i in repeats]
    _assert_same(_payload(_report(chosen, namespace)))


def test_message_total_past_int64_is_rejected_alike_and_the_tally_stays_whole(tmp_path: Path) -> None:
    """A record carrying the total past int64 is kept aside on both paths; the next record with the
    same parts still has its values tallied (the fast path tallies a part only once it is valid)."""
    odd = (
        "<record><row><source_ip>192.0.2.{n}</source_ip><count>{count}</count><policy_evaluated>"
        "<disposition>odd-disposition</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated>"
        "</row><identifiers><header_from>example.com</header_from></identifiers><auth_results><spf>"
        "<domain>example.com</domain><result>odd-result</result></spf></auth_results></record>"
    )
    xml = f"<feedback>{_HEADER}{odd.format(n=1, count=10)}{odd.format(n=2, count=1)}</feedback>"
    results = []
    for fast_path in (True, False):
        (element_1, element_2) = etree.fromstring(xml).findall("record")
        payload = _payload(xml)
        stream = read_report(payload, fast_path=fast_path)
        assert stream._reader is not None
        assert stream._reader.content is not None
        rejected: list[RejectedRecord] = []
        checker = _RecordChecker(stream._reader.content, rejected, fast_path)
        checker.message_total = INT64_MAX - 5
        first = checker.check(element_1, 0)
        second = checker.check(element_2, 1)
        assert first is None
        assert second is not None
        results.append(
            (
                [r.reason for r in rejected],
                _state(second),
                sorted(checker.tokens.unknown()),
                checker.content.hexdigest(),
            )
        )
    assert results[0] == results[1]
    assert ("disposition", "odd-disposition") in results[0][2]


def test_content_hash_of_parts_equals_the_hash_of_the_model(tmp_path: Path) -> None:
    out = tmp_path / "report.xml"
    make_report(out, 200, 12)
    (payload,) = [found for found in unpack(out) if isinstance(found, Payload)]
    stream = read_report(payload, fast_path=False)
    by_model = ContentHash(stream.header, None)
    by_parts = ContentHash(stream.header, None)
    fast = FastRecords()
    for _event, element in etree.iterparse(str(out), tag="record"):
        read = fast.read(element)
        assert read is not None
        by_model.add_record(read[0], None)
        by_parts.add_record_json(
            record_json_of_parts(read[1], read[2], read[3].json, read[4].json, read[5].json)
        )
    assert by_model.hexdigest() == by_parts.hexdigest()
