"""`dmarc query`: listing, running, formats and exit codes."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from click.testing import CliRunner, Result

import athena_queries
from dmarc_cli.main import cli

if TYPE_CHECKING:
    from tests.sql_fixtures import StoreCase

pytest_plugins = ["tests.sql_fixtures"]


def dmarc(*args: str, columns: int = 250) -> Result:
    env = {"COLUMNS": str(columns)}
    return CliRunner().invoke(cli, ["query", *args], catch_exceptions=False, env=env)


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_list_prints_one_line_per_saved_query_name_then_question() -> None:
    result = dmarc("--list")
    assert result.exit_code == 0
    queries = athena_queries.saved_queries()
    assert len(lines(result.stdout)) == len(queries)
    for line, query in zip(lines(result.stdout), queries, strict=True):
        name, question = line.split(maxsplit=1)
        assert (name, question) == (query.name, query.question)


def test_list_as_json_gives_the_parameter_defaults() -> None:
    result = dmarc("--list", "--format", "json")
    first = json.loads(lines(result.stdout)[0])
    assert first["parameters"] == {"days": 30, "domain": "%"}


def test_a_saved_query_prints_a_readable_table(corpus_case: StoreCase) -> None:
    result = dmarc("failure_categories", "--store", str(corpus_case.root), "--param", "days=100000")
    assert result.exit_code == 0, result.stderr
    query = athena_queries.saved_query("failure_categories")
    assert query.question[:40] in " ".join(result.stdout.split())
    assert "failure_category" in result.stdout
    assert "rows" in result.stdout


def test_results_too_wide_for_the_terminal_print_one_block_per_row(corpus_case: StoreCase) -> None:
    result = dmarc("ipv6_share", "--store", str(corpus_case.root), "--param", "days=100000", columns=60)
    assert result.exit_code == 0, result.stderr
    assert "row 1" in result.stdout
    assert any(line.split()[:2] == ["ipv6_share", "0.0006"] for line in lines(result.stdout))
    assert max(len(line) for line in lines(result.stdout)) <= 60


def test_json_is_one_object_per_row(corpus_case: StoreCase) -> None:
    result = dmarc(
        "reporters", "--store", str(corpus_case.root), "--param", "days=100000", "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in lines(result.stdout)]
    assert sum(row["reports"] for row in rows) == corpus_case.total.reports
    assert all(isinstance(row["first_period_begin"], str) for row in rows)


def test_csv_has_a_header_and_one_line_per_row(corpus_case: StoreCase) -> None:
    result = dmarc(
        "--sql", "SELECT policy_domain, sum(message_count) AS messages FROM record_details GROUP BY 1",
        "--store", str(corpus_case.root), "--format", "csv",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert sum(int(row["messages"]) for row in rows) == corpus_case.total.message_total


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "exactly one of NAME, --list or --sql"),
        (("reporters", "--sql", "SELECT 1"), "exactly one of"),
        (("--sql", "SELECT 1", "--param", "days=1"), "--param applies to a saved query"),
        (("reporters", "--param", "days"), "NAME=VALUE"),
        (("reporters", "--param", "weeks=2"), "no parameter 'weeks'"),
        (("reporters", "--param", "days=soon"), "wants an integer"),
        (("no_such_query",), "no saved query named"),
        (("reporters", "--store", ".", "--aws"), "exclude each other"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    args: tuple[str, ...], message: str, corpus_case: StoreCase
) -> None:
    if "--store" not in args and "--aws" not in args:
        args = (*args, "--store", str(corpus_case.root))
    result = dmarc(*args)
    assert result.exit_code == 2
    assert lines(result.stderr) == [lines(result.stderr)[0]]
    assert message in result.stderr


def test_a_missing_store_exits_3(tmp_path: Path) -> None:
    result = dmarc("reporters", "--store", str(tmp_path / "absent"))
    assert result.exit_code == 3
    assert "no local store" in result.stderr


def test_sql_that_fails_exits_1(corpus_case: StoreCase) -> None:
    result = dmarc("--sql", "SELECT nope FROM record_details", "--store", str(corpus_case.root))
    assert result.exit_code == 1
    assert len(lines(result.stderr)) == 1
    assert "could not be resolved" in result.stderr


@pytest.fixture
def athena_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, object]]]:
    import awswrangler

    from dmarc_store.settings import get_settings

    calls: list[dict[str, object]] = []

    def fake(sql: str, **kwargs: object) -> pd.DataFrame:
        calls.append({"sql": sql, **kwargs})
        return pd.DataFrame({"policy_domain": ["example.com"], "messages": [12]})

    monkeypatch.setattr(awswrangler.athena, "read_sql_query", fake)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "DMARC_GLUE_DATABASE": "dmarc_prod",
        "DMARC_ATHENA_WORKGROUP": "dmarc-wg",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield calls
    get_settings.cache_clear()


def test_aws_runs_on_athena_in_the_configured_database_and_workgroup(
    athena_env: list[dict[str, object]],
) -> None:
    result = dmarc("ipv6_share", "--aws", "--param", "domain=example.com", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line) for line in lines(result.stdout)] == [
        {"policy_domain": "example.com", "messages": 12}
    ]
    [call] = athena_env
    assert (call["database"], call["workgroup"], call["params"]) == (
        "dmarc_prod",
        "dmarc-wg",
        ["30", "'example.com'"],
    )
