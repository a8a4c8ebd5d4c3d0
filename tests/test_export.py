"""`dmarc export --csv`: one row per record with its report's fields, safe quoting, formulas neutralised.

The store is the one of the report tests (tests/support/report_store.py): the corpus plus generated
reports whose totals make_report's --summary gives independently.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from dmarc_cli.export import FORMULA_TRIGGERS, cell, neutralise
from dmarc_cli.main import cli
from tests.support.report_store import (
    CONTACT_INFO,
    FORMULA_DOMAIN,
    FORMULA_ENVELOPES,
    FORMULA_ORG,
    FORMULA_REPORT_ID,
    HOSTILE_DOMAIN,
    HOSTILE_ORG,
    NEWS,
    SHOP,
    ReportStore,
    built_once,
    entry_point,
    shared_report_store,
)


@pytest.fixture(scope="session")
def report_store(tmp_path_factory: pytest.TempPathFactory) -> ReportStore:
    return shared_report_store(tmp_path_factory)


def export_once(store_root: Path) -> Callable[[Path], None]:
    def fill(folder: Path) -> None:
        outcome = entry_point("export", "--csv", str(folder / "records.csv"), "--store", str(store_root))
        (folder / "cli.json").write_text(json.dumps(outcome))

    return fill


@pytest.fixture(scope="module")
def records_csv(report_store: ReportStore, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The records export, written once a session through the entry point: the file and what it printed."""
    folder = built_once(tmp_path_factory, "records-csv", export_once(report_store.root))
    outcome = json.loads((folder / "cli.json").read_text())
    assert outcome["returncode"] == 0, outcome["stderr"]
    return folder / "records.csv", outcome["stdout"]


@pytest.fixture(scope="module")
def records(records_csv: tuple[Path, str]) -> list[dict[str, str]]:
    with records_csv[0].open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


@pytest.fixture(scope="module")
def reports(report_store: ReportStore) -> list[dict[str, str]]:
    result = dmarc("export", "--csv", "-", "--table", "reports", "--store", str(report_store.root))
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout, newline="")))


def dmarc(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def by_report(rows: list[dict[str, str]], domain: str) -> dict[str, list[dict[str, str]]]:
    grouped: defaultdict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        if row["policy_domain"] == domain:
            grouped[row["report_id"]].append(row)
    return dict(grouped)


# --- records -----------------------------------------------------------------------------------------------


def test_the_command_says_how_many_records_it_wrote(
    records_csv: tuple[Path, str], records: list[dict[str, str]]
) -> None:
    assert f"exported {len(records):,} records to {records_csv[0]}" in records_csv[1]


@pytest.mark.parametrize("domain", [SHOP, NEWS, HOSTILE_DOMAIN, FORMULA_DOMAIN])
def test_one_row_per_record_with_totals_that_match_the_generated_reports(
    records: list[dict[str, str]], report_store: ReportStore, domain: str
) -> None:
    exported = by_report(records, domain)
    assert len(exported) == len(report_store.of(domain))
    for report in report_store.of(domain):
        summary = report.summary
        report_id = FORMULA_REPORT_ID if domain == FORMULA_DOMAIN else summary["report_id"]
        rows = exported[neutralise(report_id)]
        assert len(rows) == summary["record_count"]
        assert sum(int(row["message_count"]) for row in rows) == summary["message_total"]
        assert (
            sum(int(row["message_count"]) for row in rows if row["dmarc_pass"] == "true")
            == (summary["dmarc_pass_total"])
        )
        for disposition, total in summary["disposition_totals"].items():
            assert sum(int(r["message_count"]) for r in rows if r["disposition"] == disposition) == total
        assert sorted(int(row["record_index"]) for row in rows) == list(range(summary["record_count"]))


def test_each_record_carries_its_report_s_fields(
    records: list[dict[str, str]], report_store: ReportStore
) -> None:
    for report in report_store.of(SHOP):
        rows = by_report(records, SHOP)[report.summary["report_id"]]
        assert {row["org_name"] for row in rows} == {report.summary["org_name"]}
        assert {row["email"] for row in rows} == {report.summary["org_email"]}
        assert {row["published_p"] for row in rows} == {report.summary["policy"]}
        assert {row["date_range_begin"][:10] for row in rows} == {report.day}
        assert {row["dt"] for row in rows} == {report.day}


def test_the_header_names_record_and_report_columns(records_csv: tuple[Path, str]) -> None:
    header = records_csv[0].read_text(encoding="utf-8").split("\r\n", 1)[0].split(",")
    for column in ("report_id", "org_name", "published_p", "source_ip", "message_count", "dmarc_pass",
                   "failure_category", "dkim_results", "spf_results", "report_extensions"):  # fmt: skip
        assert column in header
    assert "message_total" not in header  # a report total on every record would be summed many times


def test_lists_are_json_and_lines_end_with_crlf(
    records_csv: tuple[Path, str], records: list[dict[str, str]]
) -> None:
    assert records_csv[0].read_bytes().count(b"\r\n") >= len(records) + 1
    shop = [row for row in records if row["policy_domain"] == SHOP]
    results = [json.loads(row["spf_results"]) for row in shop]
    assert all(isinstance(result, list) for result in results)
    assert any(check["result"] for result in results for check in result)


# --- hostile fields ----------------------------------------------------------------------------------------


def test_cells_a_spreadsheet_would_run_as_formulas_get_a_leading_quote(records: list[dict[str, str]]) -> None:
    rows = [row for row in records if row["policy_domain"] == FORMULA_DOMAIN]
    assert {row["org_name"] for row in rows} == {"'" + FORMULA_ORG}
    assert {row["report_id"] for row in rows} == {"'" + FORMULA_REPORT_ID}
    envelopes = {row["envelope_from"] for row in rows}
    for value in FORMULA_ENVELOPES:
        assert "'" + value in envelopes


def test_no_cell_of_the_whole_export_starts_like_a_formula(records_csv: tuple[Path, str]) -> None:
    with records_csv[0].open(newline="", encoding="utf-8") as stream:
        for row in csv.reader(stream):
            for value in row:
                assert not value.lstrip(" ").startswith(FORMULA_TRIGGERS), value


def test_commas_quotes_and_line_breaks_survive_quoting(records: list[dict[str, str]]) -> None:
    rows = [row for row in records if row["policy_domain"] == FORMULA_DOMAIN]
    assert {row["extra_contact_info"] for row in rows} == {CONTACT_INFO}
    hostile = [row for row in records if row["policy_domain"] == HOSTILE_DOMAIN]
    assert {row["org_name"] for row in hostile} == {HOSTILE_ORG}


# --- reports -----------------------------------------------------------------------------------------------


def test_reports_table_has_one_row_per_report_with_its_totals(
    reports: list[dict[str, str]], report_store: ReportStore
) -> None:
    for report in report_store.of(SHOP) + report_store.of(NEWS):
        summary = report.summary
        (row,) = [r for r in reports if r["report_id"] == summary["report_id"]]
        assert int(row["message_total"]) == summary["message_total"]
        assert int(row["dmarc_pass"]) == summary["dmarc_pass_total"]
        assert int(row["record_count"]) == summary["record_count"]
        assert row["org_name"] == summary["org_name"]
    report_keys = [row["report_key"] for row in reports]
    assert len(report_keys) == len(set(report_keys))


def test_an_empty_store_exports_the_header_only(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    result = dmarc("export", "--csv", "-", "--store", str(tmp_path / "store"))
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.count(b"\r\n") == 1
    assert result.stdout.startswith("dt,report_key,report_id,")
    assert "exported 0 records to stdout" in result.stderr


# --- errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "exit_code", "message"),
    [
        (["--csv", "-", "--store", "{missing}"], 3, "no local store"),
        (["--csv", "-", "--store", "{store}", "--aws"], 2, "exclude each other"),
        (["--csv", "-", "--store", "{store}", "--table", "messages"], 2, "--table"),
        (["--csv", "{tmp}/no/such/folder/x.csv", "--store", "{store}"], 1, "there is no folder"),
        (["--store", "{store}"], 2, "--csv"),
    ],
)
def test_errors_are_one_line_and_a_documented_exit_code(
    report_store: ReportStore, tmp_path: Path, arguments: list[str], exit_code: int, message: str
) -> None:
    values = {"missing": str(tmp_path / "missing"), "store": str(report_store.root), "tmp": str(tmp_path)}
    result = dmarc("export", *[argument.format(**values) for argument in arguments])
    assert result.exit_code == exit_code
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_help_shows_examples_and_the_exit_codes() -> None:
    result = dmarc("export", "--help")
    assert result.exit_code == 0
    assert "dmarc export --csv records.csv" in result.stdout
    assert "Exit codes" in result.stdout


# --- the cell rules ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\\r=1"),
        ("  =1", "'  =1"),
        ("a=1", "a=1"),
        ("example.com", "example.com"),
        ("2001:db8::1", "2001:db8::1"),
        (-5, "-5"),
        (None, ""),
        (True, "true"),
        ([{"type": "=x"}], '[{"type":"=x"}]'),
    ],
)
def test_cell_neutralises_formula_text_and_leaves_numbers(value: object, expected: str) -> None:
    assert cell(value) == expected


@given(st.text())
def test_neutralised_text_never_starts_like_a_formula_and_keeps_the_original(text: str) -> None:
    result = neutralise(text)
    if result != text:
        assert result == "'" + text
    assert not result.lstrip(" ").startswith(FORMULA_TRIGGERS)
