"""The output matrix: every text field of a report, carrying each payload class, through every output.

One report per payload class (tests/data/output_payloads.json) carries the payload in all its text
fields at once, each value marked with its field's tag (tests/support/payload_reports.py). The reports
are ingested once, each output is made once per module, and each cell (output x class) checks every
field that output shows. The rule of each output:

    terminal tables (parse, ingest, query)   controls, escape sequences, bidi and invisible characters
                                             as escapes (\\x1b, \\u202e); rich markup shown as it is
    JSON lines (parse, ingest, query,        valid JSON, the value intact; C1, bidi and invisible
      lookup)                                characters written as \\uXXXX as JSON writes C0
    CSV (query --format csv, export --csv)   a formula prefix gets a leading '; controls as in the
                                             terminal but tab, LF and CRLF (lines of a quoted field)
    report --html                            invisible characters as U+FFFD, autoescaped, long text
                                             shortened with the full text in a title; nothing runs
    object names, DynamoDB keys              report text never in a name (hex report keys);
                                             quarantine names percent-encoded; keys within limits

The parser's own rules apply first: leading and trailing blanks are trimmed, a NUL character reference
is dropped by lxml's recovery, the policy domain is lower-cased, and a lone surrogate (``&#xD800;``)
makes the input refused.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from dmarc_cli.main import cli
from dmarc_cli.output import csv_cell, safe_terminal
from dmarc_report.text import clean
from tests.support.chromium import Browser, Run, chromium
from tests.support.payload_reports import (
    FIELDS,
    SOURCE_IP,
    csv_shown,
    field_value,
    payloads,
    write_reports,
)
from tests.test_report_html import Layout, layout_of, measuring_copy

PAYLOADS = payloads()
REFUSED = {"surrogate": None, "long": "schema-violation"}
"""Classes whose report is refused, and why: a lone surrogate is not XML (malformed-xml); 10 kB is more
than the schema keeps in a field (long-fit has each field at its bound)."""
STORED = tuple(name for name in PAYLOADS if name not in REFUSED)
TOP = ("org_name", "email", "extra_contact_info", "report_id", "policy_domain")
IDENTIFIERS = ("envelope_to", "envelope_from", "header_from")
NESTED = {
    "reason_comment": ("reasons", "comment"),
    "dkim_domain": ("dkim_results", "domain"),
    "dkim_selector": ("dkim_results", "selector"),
    "dkim_human_result": ("dkim_results", "human_result"),
    "spf_domain": ("spf_results", "domain"),
    "spf_human_result": ("spf_results", "human_result"),
}
"""Fields inside lists of objects: the column, and the key in its first object."""
RECORD_FIELDS = ("org_name", "report_id", "policy_domain", *IDENTIFIERS, *NESTED)
ALL_FIELDS = (*TOP, *IDENTIFIERS, *NESTED)
HEADLINE = ("org_name", "report_id", "policy_domain")
OBEYED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
FORMULA = ("=", "+", "-", "@", "\t", "\r")
QUERY_SQL = (
    "SELECT rec.*, rep.email, rep.extra_contact_info, rep.report_id FROM record_details AS rec "
    "JOIN report_details AS rep ON rep.report_key = rec.report_key ORDER BY rep.report_id"
)
assert set(ALL_FIELDS) == set(FIELDS), "every field of the reports is checked"


def stored(name: str, field: str) -> str:
    """The field's value as the store keeps it (the parser's rules: see the module docstring)."""
    value = field_value(name, field).replace("\x00", "").strip()
    return value.lower() if field == "policy_domain" else value


def body(name: str, field: str) -> str:
    """The field as a table or CSV cell writes it: itself, or inside a list's JSON as a JSON string."""
    value = stored(name, field)
    return value if field not in NESTED else json.dumps(value, ensure_ascii=False)[1:-1]


def obeyed(text: str, kept: str = "\n") -> list[str]:
    return [char for char in text if char not in kept and unicodedata.category(char) in OBEYED]


@dataclass
class Made:
    store: Path
    outputs: dict[str, Result]
    html: Path
    page: Run
    layout: Layout


def dmarc(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env={"COLUMNS": "1000"})


def make_outputs(inputs: Path, folder: Path) -> dict[str, Result]:
    store = str(folder / "store")
    runs = {
        "ingest --json": ("ingest", "--json", "--store", store, str(inputs)),
        "ingest": ("ingest", "--store", str(folder / "store-2"), str(inputs)),
        "parse": ("parse", str(inputs)),
        "parse --json": ("parse", "--json", str(inputs)),
        "query": ("query", "--store", store, "--sql", QUERY_SQL),
        "query csv": ("query", "--store", store, "--sql", QUERY_SQL, "--format", "csv"),
        "query json": ("query", "--store", store, "--sql", QUERY_SQL, "--format", "json"),
        "lookup": ("lookup", SOURCE_IP, "--store", store),
        "export records": ("export", "--csv", "-", "--store", store),
        "export reports": ("export", "--csv", "-", "--table", "reports", "--store", store),
        "report": ("report", "--html", str(folder / "report.html"), "--days", "all", "--store", store),
    }
    return {name: dmarc(*args) for name, args in runs.items()}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    folder = tmp_path_factory.mktemp("output-matrix")
    write_reports(folder / "inputs")
    outputs = make_outputs(folder / "inputs", folder)
    html = folder / "report.html"
    browser = Browser(chromium(), folder)
    browser.open(html)
    browser.open(measuring_copy(html, folder / "measure.html"), size="1280,2000")
    page, measured = browser.collect()
    return Made(folder / "store", outputs, html, page, layout_of(measured))


# --- every output, whole ------------------------------------------------------------------------------

EXIT_CODES = {"parse": 1, "parse --json": 1}
"""1 where the refused reports are read (parse); 0 elsewhere: ingest quarantines them, not a failure."""
CSV_OUTPUTS = ("query csv", "export records", "export reports")


@pytest.mark.parametrize("output", [*EXIT_CODES, "query", "query json", "lookup", *CSV_OUTPUTS, "report"])
def test_no_output_sends_a_character_a_terminal_would_obey(made: Made, output: str) -> None:
    result = made.outputs[output]
    assert result.exit_code == EXIT_CODES.get(output, 0), result.stderr[-2000:]
    assert "Traceback" not in result.stdout + result.stderr
    kept = "\n\t" if output in CSV_OUTPUTS else "\n"
    text = result.stdout.replace("\r\n", "\n") if output in CSV_OUTPUTS else result.stdout
    assert obeyed(text, kept) == []
    assert obeyed(result.stderr) == []


# --- terminal tables -----------------------------------------------------------------------------------


def terminal_views(text: str) -> list[str]:
    """What a table shows, blanks aside: all of it, and each column of a boxed table read down (a value
    folded over lines is whole again)."""
    columns: dict[int, list[str]] = {}
    for line in text.splitlines():
        if "\u2502" in line:
            for index, piece in enumerate(line.split("\u2502")):
                columns.setdefault(index, []).append("".join(piece.split()))
    return ["".join(text.split()), *("".join(pieces) for pieces in columns.values())]


@pytest.mark.parametrize("name", STORED)
@pytest.mark.parametrize(
    ("output", "fields"), [("parse", ("org_name", "policy_domain")), ("query", ALL_FIELDS)]
)
def test_tables_show_each_field_escaped_and_markup_as_text(
    made: Made, output: str, fields: tuple[str, ...], name: str
) -> None:
    views = terminal_views(made.outputs[output].stdout)
    for field in fields:
        shown = "".join(safe_terminal(body(name, field)).split())
        assert any(shown in view for view in views), (field, shown[:200])


def test_the_ingest_summary_shows_counts_and_never_report_text(made: Made) -> None:
    text = made.outputs["ingest"].stdout
    assert re.search(rf"reports new\s*\S\s*{len(STORED)}\b", text), text
    assert re.search(r"quarantined: schema-violation\s*\S\s*1\b", text), text
    assert re.search(r"quarantined: malformed-xml\s*\S\s*1\b", text), text  # the lone surrogate
    assert "~ORG" not in text


# --- JSON lines ----------------------------------------------------------------------------------------


def json_rows(output: str, made: Made) -> dict[str, dict[str, Any]]:
    """Each class's object (for ingest, its report), by class name, found by the report id."""
    lines = [json.loads(line) for line in made.outputs[output].stdout.splitlines() if line.strip()]
    if output == "ingest --json":
        lines = [line["reports"][0] for line in lines if line.get("reports")]
    by_id = {line.get("report_id"): line for line in lines}
    return {name: by_id[stored(name, "report_id")] for name in STORED if stored(name, "report_id") in by_id}


def json_value(row: dict[str, Any], field: str) -> Any:
    if field in NESTED:
        column, key = NESTED[field]
        return row[column][0][key]
    return row[field]


@pytest.mark.parametrize("name", STORED)
@pytest.mark.parametrize(
    ("output", "fields"),
    [("parse --json", HEADLINE), ("ingest --json", HEADLINE), ("query json", ALL_FIELDS),
     ("lookup", RECORD_FIELDS)],
)  # fmt: skip
def test_json_gives_each_field_back_intact(
    made: Made, output: str, fields: tuple[str, ...], name: str
) -> None:
    rows = json_rows(output, made)
    assert name in rows, sorted(rows)
    for field in fields:
        assert json_value(rows[name], field) == stored(name, field), field


# --- CSV -----------------------------------------------------------------------------------------------


@given(st.text(st.characters(categories=["L", "N", "P", "S", "Z", "Cc", "Cf", "Cs", "Zl", "Zp"])))
def test_a_csv_cell_of_any_text_keeps_only_tabs_and_line_ends_of_the_controls(text: str) -> None:
    cell = csv_cell(text)
    assert obeyed(cell.replace("\r\n", "\n"), kept="\n\t") == []
    assert not cell.lstrip(" ").startswith(FORMULA)
    cell.encode("utf-8")


def csv_row(output: str, made: Made, name: str) -> dict[str, str]:
    """The class's row, found by its report id as the CSV writes it."""
    rows = list(csv.DictReader(io.StringIO(made.outputs[output].stdout, newline="")))
    wanted = csv_shown(stored(name, "report_id"))
    found = [row for row in rows if row["report_id"] == wanted]
    assert len(found) == 1, (wanted[:100], [row["report_id"][:40] for row in rows])
    return found[0]


@pytest.mark.parametrize("name", STORED)
@pytest.mark.parametrize(
    ("output", "fields"),
    [("query csv", ALL_FIELDS), ("export records", ALL_FIELDS), ("export reports", TOP)],
)
def test_csv_neutralises_formulas_and_escapes_controls_in_each_field(
    made: Made, output: str, fields: tuple[str, ...], name: str
) -> None:
    row = csv_row(output, made, name)
    for field in fields:
        column = NESTED[field][0] if field in NESTED else field
        expected = csv_shown(body(name, field), cell=field not in NESTED)
        cell = row[column]
        assert cell == expected if field not in NESTED else expected in cell, (field, cell[:200])
        assert not cell.lstrip(" ").startswith(FORMULA), field


# --- the HTML report -----------------------------------------------------------------------------------

HTML_FIELDS = ("org_name", "policy_domain", "envelope_from")
"""What the page shows of a report (envelope from domains lower-cased, as the saved queries list them)."""


@pytest.mark.parametrize("name", STORED)
def test_the_page_shows_each_field_as_text_or_shortened_with_a_title(made: Made, name: str) -> None:
    dom = lxml.html.document_fromstring(made.page.stdout)
    text = " ".join(dom.text_content().split())
    titles = {" ".join(title.split()) for title in dom.xpath("//@title")}
    for field in HTML_FIELDS:
        value = stored(name, field).lower() if field == "envelope_from" else stored(name, field)
        visible = " ".join(clean(value).split())
        assert visible in text or (visible in titles and visible[:20] in text), (field, visible[:100])


def test_the_page_runs_nothing_and_holds_its_layout_in_chromium(made: Made) -> None:
    assert made.page.returncode == 0
    assert made.page.console == []
    dom = lxml.html.document_fromstring(made.page.stdout)
    assert dom.xpath("//script | //textarea | //iframe | //object | //embed") == []
    assert dom.xpath("//@*[starts-with(name(), 'on')]") == []
    assert (
        dom.xpath("//*[local-name()='svg']//*[local-name()='script' or local-name()='foreignObject']") == []
    )
    source = made.html.read_text("utf-8")
    for raw in ("<script", "<svg onload", "</textarea>"):
        assert raw not in source, raw
    assert made.layout.too_wide() == []
    assert made.layout.document <= made.layout.viewport


# --- object names and DynamoDB keys --------------------------------------------------------------------


@pytest.mark.parametrize("name", PAYLOADS)
def test_a_quarantine_name_from_any_payload_is_one_safe_relative_name(name: str) -> None:
    from urllib.parse import unquote

    from dmarc_store.layout import KEY_MAX_BYTES, NAME_MAX_BYTES, QUARANTINE_NOTE_SUFFIX, quarantine_key

    source_key = f"uploads/{PAYLOADS[name]}~KEY.xml"
    key = quarantine_key("schema-violation", source_key)
    note = key + QUARANTINE_NOTE_SUFFIX
    assert len(note.encode()) <= KEY_MAX_BYTES
    parts = key.split("/")
    assert all(part not in ("", ".", "..") and not part.startswith(".") for part in parts)
    assert all(len(part.encode()) + len(QUARANTINE_NOTE_SUFFIX) <= NAME_MAX_BYTES for part in parts)
    assert obeyed(key, kept="") == []
    assert "\\" not in key
    if "%-" not in key:  # not shortened: decoding gives the key back
        assert unquote(key.removeprefix("quarantine/schema-violation/"), errors="surrogatepass") == source_key


def test_stored_objects_are_named_by_report_key_never_by_report_text(made: Made) -> None:
    from dmarc_store.layout import TABLES

    names = [path.relative_to(made.store).as_posix() for path in made.store.rglob("*.parquet")]
    assert len(names) == len(TABLES) * len(STORED)
    pattern = re.compile(r"parquet/(reports|records|record_senders)/dt=2025-01-01/[0-9a-f]{32}\.parquet")
    assert [name for name in names if not pattern.fullmatch(name)] == []


@pytest.mark.parametrize("name", STORED)
def test_dynamodb_keys_stay_within_their_limits(tmp_path: Path, name: str) -> None:
    from dmarc_model.prepare import prepare_report
    from dmarc_model.unpack import unpack
    from dmarc_store.backends.dynamo_items import completion_attributes, record_items
    from tests.support.payload_reports import report_xml

    payload = next(iter(unpack(report_xml(name), name="r.xml")))
    report = prepare_report(payload, "r.xml", datetime(2025, 1, 3, tzinfo=UTC))  # type: ignore[arg-type]
    items = [*record_items(report, None), completion_attributes(report, None)]
    for item in items:
        for key, limit in (("PK", 2048), ("GSI1PK", 2048), ("GSI2PK", 2048), ("SK", 1024), ("GSI1SK", 1024),
                           ("GSI2SK", 1024)):  # fmt: skip
            if key in item:
                assert 0 < len(item[key].encode("utf-8")) <= limit, (key, item[key][:100])
    assert items[-1]["GSI2PK"] == "DOMAIN#" + stored(name, "policy_domain")


# --- refused reports ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REFUSED)
def test_a_refused_report_is_one_valid_json_line_with_its_reason_and_no_report_text(
    made: Made, name: str
) -> None:
    lines = [json.loads(line) for line in made.outputs["parse --json"].stdout.splitlines()]
    [refused] = [line for line in lines if line["source"].endswith(f"/{name}.xml")]
    assert refused["error"]["reason"] == (REFUSED[name] or refused["error"]["reason"])
    assert "~ORG" not in json.dumps(refused)
    assert obeyed(refused["error"]["detail"]) == []


def test_a_report_over_the_schema_bounds_is_quarantined_with_a_note(made: Made) -> None:
    [note] = made.store.glob("quarantine/schema-violation/**/long.xml%note.json")
    assert json.loads(note.read_text())["reason"] == "schema-violation"
    assert (
        note.with_name("long.xml").read_bytes()
        == made.store.parent.joinpath("inputs", "long.xml").read_bytes()
    )


def test_a_lone_surrogate_is_refused_as_malformed_xml_not_as_an_internal_error(made: Made) -> None:
    lines = [json.loads(line) for line in made.outputs["parse --json"].stdout.splitlines()]
    [refused] = [line for line in lines if line["source"].endswith("/surrogate.xml")]
    assert refused["error"]["reason"] == "malformed-xml"
