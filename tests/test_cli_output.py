"""The output layer (dmarc_cli.output) and every command through it: report text is shown, never obeyed.

A payload matrix (rich markup, ANSI and OSC sequences, C0 and C1 controls, bidi and invisible format
characters, spreadsheet formulas) is carried in the org_name, report_id and policy domain of reports
and in file names, through `dmarc parse` (table and --json), `dmarc ingest` (summary and --json),
`dmarc query` (table, csv, json), `dmarc lookup` and `dmarc export --csv`:

    table output    no character a terminal would obey reaches stdout or stderr; markup shows as text
    CSV             cells that start like a formula get a leading quote, and controls are shown
                    escaped as in a table but tab, LF and CRLF, unless --raw (text exactly)
    JSON            one strict UTF-8 object per line that reads back to the same text
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

import dmarc_cli.output
from dmarc_cli.main import cli
from dmarc_cli.output import csv_cell, csv_column, json_line, safe_terminal, text_cell
from tests.helpers import REPO
from tests.support.payload_reports import csv_shown

ANY_TEXT = st.text(st.characters(categories=["L", "M", "N", "P", "S", "Z", "Cc", "Cf", "Cs", "Co"]))
"""Any text, lone surrogates and controls included."""
OBEYED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Controls, format characters (bidi, zero-width), surrogates, line and paragraph separators."""

PAYLOADS = {
    "markup-close": "[/bold]",
    "markup-open": "[red]x",
    "ansi": "\x1b[31mred",
    "osc": "\x1b]0;title\x07",
    "c0": "a\x01b\x08c",
    "c1": "a\x9b31m\x85b",
    "bidi": "abc\u202edef",
    "invisible": "a\u200b\ufeff\u2066b",
    "newline-tab": "a\nb\tc",
    "formula-eq": "=1+1",
    "formula-plus": "+1",
    "formula-minus": "-1",
    "formula-at": "@SUM(A1)",
}
"""What a report can carry in a text field: XML 1.0 text, and controls as character references that
lxml's recovery keeps (the parser strips leading blanks: tab, CR and space prefixes are tested by SQL)."""

FILE_NAMES = {
    "ansi": b"ansi-\x1b[31mred.xml",
    "osc": b"osc-\x1b]0;title\x07.xml",
    "newline-tab": b"newline-a\nb\tc.xml",
    "bidi": b"bidi-abc\xe2\x80\xaedef.xml",
    "markup": b"markup-[red]x[bold.xml",
    "c1": b"c1-\xc2\x9b31m.xml",
}
UNDECODABLE_NAME = b"undecodable-\xff.xml"
"""Not UTF-8: Python reads the byte as a lone surrogate; the key shows it as \\xff."""

SOURCE_IP = "192.0.2.77"


def obeyed(text: str) -> list[str]:
    """The characters of ``text`` a terminal would obey or that hide or reorder text, line ends aside."""
    return [char for char in text if char != "\n" and unicodedata.category(char) in OBEYED]


def is_formula(text: str) -> bool:
    return text.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))


def xml_text(value: str) -> str:
    """``value`` as XML element text; characters XML 1.0 has no room for as character references."""
    return "".join(
        f"&#{ord(char)};" if (ord(char) < 0x20 and char not in "\t\n") or char == "\r" else char
        for char in escape(value)
    )


def report_xml(org_name: str, report_id: str, domain: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feedback><report_metadata><org_name>{xml_text(org_name)}</org_name><email>a@b.c</email>
<report_id>{xml_text(report_id)}</report_id><date_range><begin>1735689600</begin><end>1735775999</end>
</date_range></report_metadata><policy_published><domain>{xml_text(domain)}</domain><p>none</p>
</policy_published><record><row><source_ip>{SOURCE_IP}</source_ip><count>3</count><policy_evaluated>
<disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row><identifiers>
<header_from>example.com</header_from></identifiers><auth_results><spf><domain>example.com</domain>
<result>pass</result></spf></auth_results></record></feedback>""".encode()


def entry_point(*args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    """`python -m dmarc_cli.main ARGS`, its output as bytes (to check the encoding too)."""
    environment = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "FORCE_COLOR")}
    environment.update({"COLUMNS": "400", **env})
    command = [sys.executable, "-m", "dmarc_cli.main", *args]
    return subprocess.run(command, capture_output=True, check=False, cwd=REPO, env=environment, timeout=120)


def text_of(result: subprocess.CompletedProcess[bytes]) -> tuple[str, str]:
    """stdout and stderr, decoded as strict UTF-8 (a byte that is not fails the test)."""
    return result.stdout.decode("utf-8"), result.stderr.decode("utf-8")


def dmarc(*args: str, columns: int = 400) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env={"COLUMNS": str(columns)})


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One report per payload, in org_name, report_id and policy domain: ``<payload name>.xml``."""
    folder = tmp_path_factory.mktemp("payload-reports")
    for name, payload in PAYLOADS.items():
        (folder / f"{name}.xml").write_bytes(report_xml(payload, payload, payload))
    return folder


@pytest.fixture(scope="module")
def named(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Plain reports in files whose names carry the payloads a file system allows."""
    folder = tmp_path_factory.mktemp("payload-names")
    for number, name in enumerate(FILE_NAMES.values()):
        (folder / os.fsdecode(name)).write_bytes(report_xml("Reporter", f"named-{number}", "example.com"))
    return folder


@pytest.fixture(scope="module")
def store(reports: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("payload-store") / "store"
    result = entry_point("ingest", "--json", "--store", str(root), str(reports))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["new"] == len(PAYLOADS)
    return root


# --- the layer itself ----------------------------------------------------------------------------------


def test_the_output_layer_exports_what_we_meant() -> None:
    assert set(dmarc_cli.output.__all__) == {
        "CRLF", "FORMULA_TRIGGERS", "CsvRows", "csv_cell", "csv_column", "echo_json_line", "json_line",
        "neutralise", "safe_terminal", "terminal_console", "terminal_line", "terminal_text", "text_cell",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[31mred", "\\x1b[31mred"),
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
        ("a\nb\tc\rd", "a\\nb\\tc\\rd"),
        ("\x00\x7f", "\\x00\\x7f"),
        ("a\x9b31m\x85", "a\\x9b31m\\x85"),
        ("abc\u202edef\u2066\u061c", "abc\\u202edef\\u2066\\u061c"),
        ("a\u200b\u200d\ufeffb", "a\\u200b\\u200d\\ufeffb"),
        ("line\u2028para\u2029", "line\\u2028para\\u2029"),
        ("\udcff", "\\udcff"),
        ("tag\U000e0041", "tag\\U000e0041"),
        ("[/bold] Société 中文 ✓", "[/bold] Société 中文 ✓"),
    ],
)
def test_safe_terminal_shows_controls_sequences_and_format_characters_as_escapes(
    text: str, shown: str
) -> None:
    assert safe_terminal(text) == shown


@given(ANY_TEXT)
def test_safe_terminal_leaves_nothing_a_terminal_would_obey(text: str) -> None:
    shown = safe_terminal(text)
    assert [char for char in shown if unicodedata.category(char) in OBEYED] == []
    assert safe_terminal(shown) == shown
    if text.isprintable():
        assert shown == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (-5, "-5"),
        (0.25, "0.25"),
        (decimal.Decimal("1.50"), "1.50"),
        (decimal.Decimal("0E-10"), "0.0000000000"),
        (decimal.Decimal("1E+3"), "1000"),
        (dt.datetime(2025, 1, 1, 12, 30), "2025-01-01 12:30:00"),
        (
            dt.datetime(2025, 1, 1, 13, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
            "2025-01-01 12:30:00+00:00",
        ),
        (dt.date(2025, 1, 1), "2025-01-01"),
        ([{"type": "=x", "n": decimal.Decimal("2")}], '[{"type":"=x","n":2}]'),
        ({"é": None}, '{"é":null}'),
        ("[/bold]", "[/bold]"),
    ],
)
def test_text_cell_is_the_one_conversion_of_values_to_text(value: object, text: str) -> None:
    assert text_cell(value) == text


@pytest.mark.parametrize(
    ("value", "neutralised", "raw"),
    [
        ("=1+1", "'=1+1", "=1+1"),
        ("  @A1", "'  @A1", "  @A1"),
        ("\t=1", "'\t=1", "\t=1"),
        ("\r=1", "'\\r=1", "\r=1"),
        ("-1", "'-1", "-1"),
        ("a\x1b[31mb\u202ec\x85", "a\\x1b[31mb\\u202ec\\x85", "a\x1b[31mb\u202ec\x85"),
        ("a\nb\r\nc\td\re", "a\nb\r\nc\td\\re", "a\nb\r\nc\td\re"),
        (-1, "-1", "-1"),
        (decimal.Decimal("-1.5"), "-1.5", "-1.5"),
        ("a=1", "a=1", "a=1"),
        ("name-\udcff", "name-\\udcff", "name-\\udcff"),
    ],
)
def test_csv_cells_are_neutralised_unless_raw_and_always_utf8(
    value: object, neutralised: str, raw: str
) -> None:
    assert csv_cell(value) == neutralised
    assert csv_cell(value, raw=True) == raw
    csv_cell(value).encode("utf-8")


_CELL_VALUES = st.one_of(
    st.none(),
    st.text(),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.datetimes(),
    st.datetimes(timezones=st.just(dt.UTC)),
    st.decimals(allow_nan=False, allow_infinity=False),
)


@given(
    st.one_of(
        st.lists(_CELL_VALUES),
        st.lists(st.one_of(st.none(), st.text())),
        st.lists(st.one_of(st.none(), st.integers(), st.floats(allow_nan=False))),
        st.lists(st.one_of(st.none(), st.datetimes(), st.datetimes(timezones=st.just(dt.UTC)))),
    ),
    st.booleans(),
)
def test_a_csv_column_is_its_cells_one_by_one(values: list[object], raw: bool) -> None:
    assert csv_column(values, raw=raw) == [csv_cell(value, raw=raw) for value in values]


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_csv_rows_by_column_write_what_rows_one_by_one_write(line_end: str) -> None:
    columns = [["a", "=b", None, "c\r\nd", "e\rf"], [1, None, -2, 3, 4], [1.5, None, 2.0, None, 0.1]]
    by_row, by_column = io.StringIO(), io.StringIO()
    dmarc_cli.output.CsvRows(by_row, line_end=line_end).rows(zip(*columns, strict=True))
    written = dmarc_cli.output.CsvRows(by_column, line_end=line_end).columns(columns)
    assert written == len(columns[0])
    assert by_column.getvalue() == by_row.getvalue()


def test_json_lines_escape_what_a_terminal_would_obey_and_read_back_the_same() -> None:
    text = "a\x1b[31m\x9b\u202e\u200b\udcff\U000e0041 é 中"
    line = json_line({"org_name": text, "count": decimal.Decimal("3"), "share": float("nan")})
    assert "\n" not in line
    assert obeyed(line.encode("utf-8").decode("utf-8")) == []
    assert "é 中" in line  # non-ASCII text as is, not \u escapes
    assert json.loads(line) == {"org_name": text, "count": 3, "share": None}


@given(ANY_TEXT)
def test_any_text_survives_a_json_line(text: str) -> None:
    line = json_line({"value": text})
    assert obeyed(line.encode("utf-8").decode("utf-8")) == []
    assert json.loads(line) == {"value": text}


# --- dmarc parse ---------------------------------------------------------------------------------------


def test_parse_json_gives_back_every_payload_as_reported(reports: Path) -> None:
    result = entry_point("parse", "--json", str(reports))
    stdout, _ = text_of(result)
    assert result.returncode == 0
    assert obeyed(stdout) == []
    lines = {Path(str(line["source"])).stem: line for line in json_lines(stdout)}
    assert set(lines) == set(PAYLOADS)
    for name, payload in PAYLOADS.items():
        assert (lines[name]["org_name"], lines[name]["report_id"]) == (payload, payload), name
        assert lines[name]["policy_domain"] == payload.lower(), name


SHOWN = ("[/bold]", "[red]x", "\\x1b[31mred", "\\x1b]0;title\\x07", "a\\x01b\\x08c", "a\\x9b31m\\x85b",
         "abc\\u202edef", "a\\u200b\\ufeff\\u2066b", "a\\nb\\tc", "=1+1")  # fmt: skip
"""How the table shows the payloads: markup and formulas as they are, the rest as escapes."""


def test_parse_table_shows_report_text_and_never_obeys_it(reports: Path) -> None:
    result = entry_point("parse", str(reports))
    stdout, stderr = text_of(result)
    assert result.returncode == 0, stderr
    assert "Traceback" not in stdout + stderr
    assert obeyed(stdout + stderr) == []
    for shown in SHOWN:
        assert shown in stdout, shown
    assert "warning" in stdout  # lxml's recovery of the control character references, as notes


def test_parse_table_in_colour_sends_only_its_own_styles(reports: Path) -> None:
    result = entry_point("parse", str(reports), FORCE_COLOR="1", TERM="xterm-256color")
    stdout, stderr = text_of(result)
    assert "\x1b[" in stdout  # rich did colour: the notes are yellow
    assert "\x1b[31mred" not in stdout
    assert obeyed(re.sub(r"\x1b\[[0-9;]*m", "", stdout + stderr)) == []
    assert "\\x1b[31mred" in re.sub(r"\x1b\[[0-9;]*m", "", stdout)


def test_parse_shows_file_names_escaped_in_the_table_and_as_they_are_in_json(named: Path) -> None:
    table, as_json = entry_point("parse", str(named)), entry_point("parse", "--json", str(named))
    stdout, stderr = text_of(table)
    assert (table.returncode, as_json.returncode) == (0, 0), stderr
    assert obeyed(stdout + stderr) == []
    for shown in (
        "ansi-\\x1b[31mred.xml",
        "osc-\\x1b]0;title\\x07.xml",
        "bidi-abc\\u202edef.xml",
        "c1-\\x9b31m.xml",
    ):
        assert shown in " ".join(stdout.split()), shown
    sources = {str(line["source"]) for line in json_lines(text_of(as_json)[0])}
    assert sources == {str(named / os.fsdecode(name)) for name in FILE_NAMES.values()}


# --- dmarc ingest --------------------------------------------------------------------------------------


def test_ingest_json_gives_each_source_as_valid_utf8(named: Path, tmp_path: Path) -> None:
    odd = tmp_path / os.fsdecode(UNDECODABLE_NAME)
    odd.write_bytes(report_xml("Reporter", "undecodable", "example.com"))
    result = entry_point("ingest", "--json", "--store", str(tmp_path / "store"), str(named), str(odd))
    stdout, stderr = text_of(result)
    assert result.returncode == 0, stderr
    lines = json_lines(stdout)
    assert lines[-1]["new"] == len(FILE_NAMES) + 1
    expected = {str(named / os.fsdecode(name)) for name in FILE_NAMES.values()}
    assert {str(line["source"]) for line in lines[:-1]} == expected | {f"{odd.parent}/undecodable-\\xff.xml"}


def test_ingest_summary_shows_failed_file_names_and_the_store_escaped(named: Path, tmp_path: Path) -> None:
    broken = tmp_path / os.fsdecode(b"store-[bold]\x1b]0;t\x07\xe2\x80\xae")
    broken.mkdir()
    (broken / "parquet").write_text("a file where the store wants a folder: every write fails")
    result = entry_point("ingest", "--store", str(broken), str(named))
    stdout, stderr = text_of(result)
    assert result.returncode == 1
    assert "Traceback" not in stdout + stderr
    assert obeyed(stdout + stderr) == []
    flat = " ".join(stdout.split())
    assert "store-[bold]\\x1b]0;t\\x07\\u202e" in flat
    assert flat.count("failed ") == len(FILE_NAMES)
    for shown in (
        "ansi-\\x1b[31mred.xml",
        "newline-a\\nb\\tc.xml",
        "markup-[red]x[bold.xml",
        "c1-\\x9b31m.xml",
    ):
        assert shown in flat, shown


# --- dmarc query ---------------------------------------------------------------------------------------

REPORT_FIELDS = "SELECT report_id, org_name, policy_domain FROM report_details ORDER BY report_id"
PREFIXES_SQL = (
    "SELECT chr(9) || '=1' AS tab, chr(13) || '=1' AS cr, '  =1' AS spaces, '=1' AS eq, '+1' AS plus,"
    " '-1' AS minus, '@A1' AS at, -1 AS number, '[/bold]' AS markup, chr(27) || ']0;t' || chr(7) AS osc,"
    " 'a' || chr(10) || 'b' AS newline, '=x' AS \"=header\""
)
PREFIXES = {
    "tab": "\t=1", "cr": "\r=1", "spaces": "  =1", "eq": "=1", "plus": "+1", "minus": "-1", "at": "@A1",
    "number": "-1", "markup": "[/bold]", "osc": "\x1b]0;t\x07", "newline": "a\nb", "=header": "=x",
}  # fmt: skip


@pytest.mark.parametrize("columns", [400, 60])
def test_query_table_shows_report_text_and_never_obeys_it(store: Path, columns: int) -> None:
    result = dmarc("query", "--store", str(store), "--sql", REPORT_FIELDS, columns=columns)
    assert result.exit_code == 0, result.stderr
    assert obeyed(result.stdout + result.stderr) == []
    flat = "".join(result.stdout.split())
    for shown in (
        "[/bold]",
        "[red]x",
        "\\x1b[31mred",
        "\\x1b]0;title\\x07",
        "abc\\u202edef",
        "a\\x9b31m\\x85b",
    ):
        assert shown in flat, shown


def test_query_csv_neutralises_formulas_and_shows_controls_escaped_unless_raw(store: Path) -> None:
    result = dmarc("query", "--store", str(store), "--sql", REPORT_FIELDS, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = csv_rows(result.stdout)
    expected = {csv_shown(payload) for payload in PAYLOADS.values()}
    assert {row["report_id"] for row in rows} == {row["org_name"] for row in rows} == expected
    raw = dmarc("query", "--store", str(store), "--sql", REPORT_FIELDS, "--format", "csv", "--raw")
    assert {row["report_id"] for row in csv_rows(raw.stdout)} == set(PAYLOADS.values())


def test_query_csv_neutralises_every_formula_prefix_but_not_numbers(store: Path) -> None:
    neutral = dmarc("query", "--store", str(store), "--sql", PREFIXES_SQL, "--format", "csv")
    raw = dmarc("query", "--store", str(store), "--sql", PREFIXES_SQL, "--format", "csv", "--raw")
    assert (neutral.exit_code, raw.exit_code) == (0, 0), neutral.stderr + raw.stderr
    [row] = csv_rows(neutral.stdout)
    for column, value in PREFIXES.items():
        header = csv_shown(column)
        wanted = csv_shown(value) if column != "number" else value
        assert row[header] == wanted, column
    assert csv_rows(raw.stdout) == [PREFIXES]


def test_query_table_of_any_text_never_obeys_it(store: Path) -> None:
    result = dmarc("query", "--store", str(store), "--sql", PREFIXES_SQL)
    assert result.exit_code == 0, result.stderr
    assert obeyed(result.stdout) == []
    assert "[/bold]" in result.stdout
    assert "\\x1b]0;t\\x07" in result.stdout


def test_query_json_reads_back_to_the_same_text(store: Path) -> None:
    result = dmarc("query", "--store", str(store), "--sql", REPORT_FIELDS, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert obeyed(result.stdout_bytes.decode("utf-8")) == []
    rows = json_lines(result.stdout)
    assert {row["report_id"] for row in rows} == {row["org_name"] for row in rows} == set(PAYLOADS.values())
    assert {row["policy_domain"] for row in rows} == {payload.lower() for payload in PAYLOADS.values()}


def test_query_raw_applies_to_csv_only(store: Path) -> None:
    result = dmarc("query", "--store", str(store), "--sql", "SELECT 1", "--raw")
    assert result.exit_code == 2
    assert "--raw applies to --format csv" in result.stderr


# --- dmarc lookup, dmarc export ------------------------------------------------------------------------


def test_lookup_json_reads_back_to_the_same_text(store: Path) -> None:
    result = dmarc("lookup", SOURCE_IP, "--store", str(store))
    assert result.exit_code == 0, result.stderr
    assert obeyed(result.stdout_bytes.decode("utf-8")) == []
    rows = json_lines(result.stdout)
    assert {row["org_name"] for row in rows} == {row["report_id"] for row in rows} == set(PAYLOADS.values())


def test_export_csv_neutralises_formulas_unless_raw(store: Path) -> None:
    neutral = dmarc("export", "--csv", "-", "--store", str(store))
    raw = dmarc("export", "--csv", "-", "--raw", "--store", str(store))
    assert (neutral.exit_code, raw.exit_code) == (0, 0), neutral.stderr + raw.stderr
    expected = {csv_shown(payload) for payload in PAYLOADS.values()}
    for column in ("report_id", "org_name"):
        assert {row[column] for row in csv_rows(neutral.stdout)} == expected, column
        assert {row[column] for row in csv_rows(raw.stdout)} == set(PAYLOADS.values()), column
    domains = {row["policy_domain"] for row in csv_rows(neutral.stdout)}
    assert "'@sum(a1)" in domains
    assert neutral.stdout_bytes.count(b"\r\n") >= len(PAYLOADS) + 1


@pytest.mark.parametrize("command", ["query", "export"])
def test_help_documents_raw(command: str) -> None:
    result = dmarc(command, "--help")
    assert result.exit_code == 0
    assert "--raw" in result.stdout
