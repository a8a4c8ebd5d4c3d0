"""Reports for the output matrix (tests/test_output_matrix.py): one per payload class, the payload in every
text field at once, each field's value marked so that it can be found in any output.

    payloads()                      the classes of tests/data/output_payloads.json: name -> text
    field_value(name, field)        what the report of class ``name`` carries in ``field``: the payload,
                                    then ``~`` and the field's tag (``~ORG``): the payload first, as a
                                    formula would be; for a ``fit`` class cut to what the schema keeps
    report_xml(name)                the report (XML 1.0: forbidden characters as character references)
    csv_shown(text)                 a text cell of a CSV (not --raw), as the rule says it is written
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from dmarc_cli.output import safe_terminal
from dmarc_model.models import MAX_DOMAIN_CHARS, MAX_TEXT_CHARS

PAYLOAD_FILE = Path(__file__).resolve().parent.parent / "data" / "output_payloads.json"
FIELDS = {
    "org_name": "ORG",
    "email": "MAIL",
    "extra_contact_info": "CONTACT",
    "report_id": "RID",
    "policy_domain": "POL",
    "reason_comment": "WHY",
    "envelope_to": "ETO",
    "envelope_from": "EFROM",
    "header_from": "HFROM",
    "dkim_domain": "DKD",
    "dkim_selector": "SEL",
    "dkim_human_result": "DKH",
    "spf_domain": "SPD",
    "spf_human_result": "SPH",
}
"""Every text field of a report and the tag that marks its value."""
DOMAINS = ("policy_domain", "envelope_to", "envelope_from", "header_from", "dkim_domain", "dkim_selector",
           "spf_domain")  # fmt: skip
"""The fields the schema bounds as domain names (MAX_DOMAIN_CHARS); the others are text (MAX_TEXT_CHARS)."""
SOURCE_IP = "192.0.2.66"
BEGIN = 1735689600
"""2025-01-01 00:00 UTC: outside any "last N days" window, so the HTML report is asked for --days all."""


@cache
def _classes() -> tuple[dict[str, str], frozenset[str]]:
    data = json.loads(PAYLOAD_FILE.read_text("utf-8"))
    built = {name: spec["text"] * spec["times"] for name, spec in data["repeat"].items()}
    fit = frozenset(name for name, spec in data["repeat"].items() if spec.get("fit"))
    return {**data["payloads"], **built}, fit


def payloads() -> dict[str, str]:
    return _classes()[0]


def field_value(name: str, field: str) -> str:
    payload, tag = payloads()[name], f"~{FIELDS[field]}"
    if name in _classes()[1]:
        payload = payload[: (MAX_DOMAIN_CHARS if field in DOMAINS else MAX_TEXT_CHARS) - len(tag)]
    return payload + tag


def xml_text(value: str) -> str:
    """``value`` as XML element text: escaped, characters XML 1.0 forbids (and CR, which parsing would
    turn into LF) as character references, so the document stays well-formed where it can."""
    return "".join(
        f"&#{ord(char)};"
        if (ord(char) < 0x20 and char not in "\t\n") or 0xD800 <= ord(char) <= 0xDFFF
        else char
        for char in escape(value)
    )


def report_xml(name: str) -> bytes:
    def leaf(element: str, field: str) -> str:
        return f"<{element}>{xml_text(field_value(name, field))}</{element}>"

    body = (
        f"<report_metadata>{leaf('org_name', 'org_name')}{leaf('email', 'email')}"
        f"{leaf('extra_contact_info', 'extra_contact_info')}{leaf('report_id', 'report_id')}"
        f"<date_range><begin>{BEGIN}</begin><end>{BEGIN + 86399}</end></date_range></report_metadata>"
        f"<policy_published>{leaf('domain', 'policy_domain')}<p>none</p></policy_published>"
        f"<record><row><source_ip>{SOURCE_IP}</source_ip><count>3</count><policy_evaluated>"
        f"<disposition>none</disposition><dkim>fail</dkim><spf>fail</spf>"
        f"<reason><type>other</type>{leaf('comment', 'reason_comment')}</reason></policy_evaluated></row>"
        f"<identifiers>{leaf('envelope_to', 'envelope_to')}{leaf('envelope_from', 'envelope_from')}"
        f"{leaf('header_from', 'header_from')}</identifiers><auth_results>"
        f"<dkim>{leaf('domain', 'dkim_domain')}{leaf('selector', 'dkim_selector')}<result>fail</result>"
        f"{leaf('human_result', 'dkim_human_result')}</dkim>"
        f"<spf>{leaf('domain', 'spf_domain')}<scope>mfrom</scope><result>fail</result>"
        f"{leaf('human_result', 'spf_human_result')}</spf></auth_results></record>"
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<feedback>{body}</feedback>\n'.encode()


def write_reports(folder: Path) -> dict[str, Path]:
    """One report file per payload class in ``folder``: class name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in payloads():
        paths[name] = folder / f"{name}.xml"
        paths[name].write_bytes(report_xml(name))
    return paths


def csv_shown(text: str, *, cell: bool = True) -> str:
    """A formula (=, +, -, @, tab, CR first, also after spaces) quoted if ``text`` is the whole cell,
    then the terminal's escapes on all but tabs and line ends (LF, CRLF): the lines of a quoted field."""
    pieces = re.split(r"(\r\n|\n|\t)", text)
    shown = "".join(piece if index % 2 else safe_terminal(piece) for index, piece in enumerate(pieces))
    formula = cell and text.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))
    return "'" + shown if formula else shown
