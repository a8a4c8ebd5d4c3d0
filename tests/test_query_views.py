"""Every view and saved query runs on DuckDB over the corpus store; results match independent totals.

The corpus store (tests/sql_fixtures.py) holds the accepted plain-XML reports of ../shared/corpus, with
some days in each state daily compaction goes through (merged file and originals, merged file only), so
every check here also checks the de-duplication of the views. Expected totals: expected.json.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import athena_queries
from dmarc_store.query import DuckDBQueryRunner

if TYPE_CHECKING:
    from tests.sql_fixtures import StoreCase

pytest_plugins = ["tests.sql_fixtures"]

ALL_DAYS = {"days": 100_000}


@pytest.mark.parametrize("view", athena_queries.views(), ids=lambda view: view.name)
def test_every_view_runs_on_the_corpus(
    view: athena_queries.ViewDefinition, corpus_runner: DuckDBQueryRunner
) -> None:
    result = corpus_runner.run_sql(f"SELECT * FROM {view.name}")
    assert result.num_rows > 0
    assert len(set(result.column_names)) == len(result.column_names)


@pytest.mark.parametrize("query", athena_queries.saved_queries(), ids=lambda query: query.name)
def test_every_saved_query_runs_on_the_corpus(
    query: athena_queries.SavedQuery, corpus_runner: DuckDBQueryRunner
) -> None:
    result = corpus_runner.run_saved(query, ALL_DAYS)
    assert result.num_rows > 0
    assert len(set(result.column_names)) == len(result.column_names)


def test_message_totals_equal_expected_json_and_duplicates_are_dropped(
    corpus_case: StoreCase, corpus_runner: DuckDBQueryRunner
) -> None:
    raw = corpus_runner.run_sql("SELECT sum(message_count) AS messages FROM records").to_pylist()[0]
    assert raw["messages"] > corpus_case.total.message_total, "the store should hold compacted duplicates"
    [row] = corpus_runner.run_sql(
        "SELECT sum(message_count) AS messages, "
        "sum(CASE WHEN dmarc_pass THEN message_count ELSE 0 END) AS dmarc_pass, "
        "count(*) AS records, count(DISTINCT report_key || '#' || CAST(record_index AS varchar)) AS keys "
        "FROM record_details"
    ).to_pylist()
    assert raw["messages"] > row["messages"] == corpus_case.total.message_total
    assert row["dmarc_pass"] == corpus_case.total.dmarc_pass
    assert row["records"] == row["keys"] == sum(len(report.records) for report in corpus_case.reports)


def test_reports_are_counted_once_per_report_key(
    corpus_case: StoreCase, corpus_runner: DuckDBQueryRunner
) -> None:
    [row] = corpus_runner.run_sql(
        "SELECT count(*) AS reports, count(DISTINCT report_key) AS keys, sum(message_total) AS messages "
        "FROM report_details"
    ).to_pylist()
    assert row == {
        "reports": corpus_case.total.reports,
        "keys": corpus_case.total.reports,
        "messages": corpus_case.total.message_total,
    }
    raw = corpus_runner.run_sql("SELECT count(*) AS n FROM reports").to_pylist()[0]["n"]
    assert raw > corpus_case.total.reports


def test_daily_volume_per_domain_equals_expected_json(
    corpus_case: StoreCase, corpus_runner: DuckDBQueryRunner
) -> None:
    result = corpus_runner.run_saved(athena_queries.saved_query("daily_volume_pass_rate"), ALL_DAYS)
    found: dict[str, Counter[str]] = {}
    for row in result.to_pylist():
        found.setdefault(row["policy_domain"], Counter()).update(
            {
                "messages": row["messages"],
                "dmarc_pass": row["dmarc_pass_messages"],
                "dkim": row["dkim_aligned_messages"],
                "spf": row["spf_aligned_messages"],
            }
        )
    expected = {
        domain: Counter(
            messages=totals.message_total,
            dmarc_pass=totals.dmarc_pass,
            dkim=totals.dkim_aligned_pass,
            spf=totals.spf_aligned_pass,
        )
        for domain, totals in corpus_case.by_domain.items()
        if totals.message_total
    }
    assert {domain: +counts for domain, counts in found.items()} == {d: +c for d, c in expected.items()}


def test_dispositions_equal_expected_json(corpus_case: StoreCase, corpus_runner: DuckDBQueryRunner) -> None:
    result = corpus_runner.run_saved(athena_queries.saved_query("disposition_vs_policy"), ALL_DAYS)
    found: Counter[str] = Counter()
    for row in result.to_pylist():
        found[row["disposition"] or "(missing)"] += row["messages"]
    assert +found == +Counter(corpus_case.total.disposition)


def test_reporters_count_each_report_once(corpus_case: StoreCase, corpus_runner: DuckDBQueryRunner) -> None:
    result = corpus_runner.run_saved(athena_queries.saved_query("reporters"), ALL_DAYS)
    found = Counter({(r["reporter"], r["policy_domain"]): r["reports"] for r in result.to_pylist()})
    expected = Counter((p.report["org_name"], p.report["policy_domain"]) for p in corpus_case.reports)
    assert found == expected


def test_domain_parameter_is_a_case_insensitive_pattern(corpus_runner: DuckDBQueryRunner) -> None:
    query = athena_queries.saved_query("daily_volume_pass_rate")
    only = corpus_runner.run_saved(query, {**ALL_DAYS, "domain": "EXAMPLE.com"})
    assert set(only.column("policy_domain").to_pylist()) == {"example.com"}
    pattern = corpus_runner.run_saved(query, {**ALL_DAYS, "domain": "%.example"})
    assert pattern.num_rows > 0
    assert all(domain.endswith(".example") for domain in pattern.column("policy_domain").to_pylist())


def test_rfc9990_fields_come_from_the_reports_that_carry_them(corpus_runner: DuckDBQueryRunner) -> None:
    result = corpus_runner.run_saved(athena_queries.saved_query("rfc9990_fields"), ALL_DAYS).to_pylist()
    assert {"np": "none", "testing": "n", "discovery_method": "treewalk"}.items() <= next(
        row for row in result if row["discovery_method"] == "treewalk"
    ).items()


# --- semantics of the derived columns, on hand-written records ---------------------------------------------

DOMAIN = "shop.example"


def _record(
    ip: str, count: int, dkim: str, spf: str, auth: str, reason: str = "", disposition: str = "none"
) -> str:
    why = f"<reason><type>{reason}</type></reason>" if reason else ""
    return (
        f"<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated>"
        f"<disposition>{disposition}</disposition><dkim>{dkim}</dkim><spf>{spf}</spf>{why}</policy_evaluated></row>"
        f"<identifiers><header_from>{DOMAIN}</header_from></identifiers><auth_results>{auth}</auth_results></record>"
    )


def _dkim(domain: str, result: str) -> str:
    return f"<dkim><domain>{domain}</domain><selector>s1</selector><result>{result}</result></dkim>"


def _spf(domain: str, result: str) -> str:
    return f"<spf><domain>{domain}</domain><scope>mfrom</scope><result>{result}</result></spf>"


OWN, ESP, LIST = _dkim(DOMAIN, "pass"), _dkim("esp.example", "pass"), _dkim("list.example", "pass")
# source ip: (expected failure_category, count, evaluated dkim, auth results, reason, disposition)
CASES = {
    "192.0.2.1": ("pass", 50, "pass", OWN + _spf("esp.example", "pass"), "", "none"),
    "192.0.2.2": ("forwarded", 4, "fail", _spf(DOMAIN, "fail"), "forwarded", "none"),
    "192.0.2.3": ("mailing_list", 3, "fail", LIST, "mailing_list", "none"),
    "192.0.2.4": ("not_aligned", 20, "fail", ESP + _spf("esp.example", "pass"), "", "none"),
    "2001:db8::5": ("dkim_not_aligned", 10, "fail", ESP + _spf(DOMAIN, "softfail"), "", "none"),
    "192.0.2.6": ("spf_not_aligned", 5, "fail", _spf("bounce.esp.example", "pass"), "", "none"),
    "192.0.2.7": ("no_auth", 8, "fail", _spf("spoof.example", "fail"), "", "reject"),
}


@pytest.fixture
def crafted_runner(build_store: Callable[[Iterable[bytes]], Path]) -> DuckDBQueryRunner:
    xml = (
        "<feedback><report_metadata><org_name>Receiver</org_name><email>r@receiver.example</email>"
        "<report_id>crafted-1</report_id><date_range><begin>1735689600</begin><end>1735775999</end></date_range>"
        f"</report_metadata><policy_published><domain>{DOMAIN}</domain><p>reject</p><pct>100</pct>"
        "</policy_published>"
        + "".join(
            _record(ip, count, dkim, "fail", auth, why, did)
            for ip, (_, count, dkim, auth, why, did) in CASES.items()
        )
        + "</feedback>"
    )
    return DuckDBQueryRunner(build_store([xml.encode()]))


def test_failure_category_names_why_each_record_failed(crafted_runner: DuckDBQueryRunner) -> None:
    rows = crafted_runner.run_sql(
        "SELECT source_ip, failure_category, dmarc_pass, is_ipv6 FROM record_details"
    )
    found = {row["source_ip"]: row["failure_category"] for row in rows.to_pylist()}
    assert found == {ip: case[0] for ip, case in CASES.items()}
    assert {r["source_ip"] for r in rows.to_pylist() if r["is_ipv6"]} == {"2001:db8::5"}


def test_enforcement_readiness_puts_authenticating_senders_first(crafted_runner: DuckDBQueryRunner) -> None:
    query = athena_queries.saved_query("enforcement_readiness")
    rows = crafted_runner.run_saved(query, ALL_DAYS).to_pylist()
    assert {row["readiness"] for row in rows} == {"not ready"}
    assert rows[0]["domain_messages"] == 100
    assert rows[0]["domain_failing_messages"] == 50
    assert rows[0]["would_fail_share"] == 0.5
    assert rows[0]["legitimate_fail_share"] == 0.38  # failing sources that pass something: (20+10+5+3)/100
    assert [row["source_ip"] for row in rows] == [
        "192.0.2.4", "2001:db8::5", "192.0.2.6", "192.0.2.3", "192.0.2.7", "192.0.2.2",
    ]  # fmt: skip
    assert rows[-1]["action"].startswith("blocked by reject")


def test_misconfigured_senders_name_the_domain_they_authenticate_as(
    crafted_runner: DuckDBQueryRunner,
) -> None:
    rows = crafted_runner.run_saved(athena_queries.saved_query("misconfigured_senders"), ALL_DAYS).to_pylist()
    found = {(row["source_ip"], row["method"], row["authenticated_domain"], row["messages"]) for row in rows}
    assert found == {
        ("192.0.2.4", "dkim", "esp.example", 20),
        ("192.0.2.4", "spf", "esp.example", 20),
        ("2001:db8::5", "dkim", "esp.example", 10),
        ("192.0.2.6", "spf", "bounce.esp.example", 5),
    }


# --- store states ------------------------------------------------------------------------------------------


def test_an_empty_store_answers_every_query_with_no_rows(tmp_path: Path) -> None:
    runner = DuckDBQueryRunner(tmp_path)
    for query in athena_queries.saved_queries():
        assert runner.run_saved(query).num_rows == 0, query.name


@pytest.mark.parametrize("which", ["oldest", "newest"])
def test_files_written_before_a_column_existed_read_as_null(
    which: str, store_copy: Path, corpus_case: StoreCase
) -> None:
    """Extend, never rename: an old file without a new column still reads, the column as NULL."""
    folders = sorted((store_copy / "parquet" / "reports").glob("dt=*"))
    files = [
        only for folder in folders for only in folder.glob("*.parquet") if len(list(folder.iterdir())) == 1
    ]
    target = files[0] if which == "oldest" else files[-1]
    table = pq.read_table(target)
    pq.write_table(table.drop_columns(["published_np", "source_key"]), target)
    runner = DuckDBQueryRunner(store_copy)
    result = runner.run_sql("SELECT report_key, source_key, message_total FROM report_details")
    assert pc.sum(result.column("message_total")).as_py() == corpus_case.total.message_total
    dropped = set(table.column("report_key").to_pylist())
    rows = {row["report_key"]: row for row in result.to_pylist()}
    assert all(rows[key]["source_key"] is None for key in dropped)
    assert all(row["source_key"] is not None for key, row in rows.items() if key not in dropped)
