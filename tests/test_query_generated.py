"""Saved queries over a year of generated reports: totals equal the generator's, and dt prunes partitions.

The year store (tests/sql_fixtures.py) holds one report a day from ../shared/tools/make_report.py for the
365 days before today, rotating over three domains; expected totals are the generator's own summaries.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

import athena_queries
from dmarc_store.layout import TABLES
from dmarc_store.query import DuckDBQueryRunner
from tests.helpers import MAKE_REPORT

if TYPE_CHECKING:
    from tests.sql_fixtures import StoreCase

pytest_plugins = ["tests.sql_fixtures"]

ALL_DAYS = {"days": 1000}


def cutoff(days: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=days)).isoformat()


def test_totals_per_domain_equal_the_generator_summaries(
    year_case: StoreCase, year_runner: DuckDBQueryRunner
) -> None:
    result = year_runner.run_saved(athena_queries.saved_query("daily_volume_pass_rate"), ALL_DAYS)
    found: dict[str, Counter[str]] = {}
    for row in result.to_pylist():
        found.setdefault(row["policy_domain"], Counter()).update(
            {"messages": row["messages"], "dmarc_pass": row["dmarc_pass_messages"], "days": 1}
        )
    assert found == {
        domain: Counter(messages=totals.message_total, dmarc_pass=totals.dmarc_pass, days=totals.reports)
        for domain, totals in year_case.by_domain.items()
    }


def test_ipv6_records_and_dispositions_equal_the_generator_summaries(
    year_case: StoreCase, year_runner: DuckDBQueryRunner
) -> None:
    ipv6 = year_runner.run_saved(athena_queries.saved_query("ipv6_share"), ALL_DAYS).to_pylist()
    assert {row["policy_domain"]: row["ipv6_records"] for row in ipv6} == {
        domain: totals.ipv6_records for domain, totals in year_case.by_domain.items()
    }
    dispositions = year_runner.run_saved(athena_queries.saved_query("disposition_vs_policy"), ALL_DAYS)
    found: Counter[str] = Counter()
    for row in dispositions.to_pylist():
        found[row["disposition"]] += row["messages"]
    assert +found == +Counter(year_case.total.disposition)


def test_days_parameter_selects_the_last_n_days(year_case: StoreCase, year_runner: DuckDBQueryRunner) -> None:
    rows = year_runner.run_saved(
        athena_queries.saved_query("daily_volume_pass_rate"), {"days": 7}
    ).to_pylist()
    assert sorted(row["day"].isoformat() for row in rows) == sorted(
        report.dt for report in year_case.reports if report.dt >= cutoff(7)
    )
    assert len(rows) == 7
    expected = sum(report.report["message_total"] for report in year_case.reports if report.dt >= cutoff(7))
    assert sum(row["messages"] for row in rows) == expected


def test_new_sources_are_those_first_seen_in_the_last_n_days(
    year_case: StoreCase, year_runner: DuckDBQueryRunner
) -> None:
    first_seen: dict[tuple[str, str], str] = {}
    for report in sorted(year_case.reports, key=lambda report: report.dt):
        for record in report.records:
            first_seen.setdefault((record["policy_domain"], record["source_ip"]), report.dt)
    rows = year_runner.run_saved(athena_queries.saved_query("new_sources"), {"days": 10}).to_pylist()
    assert {(row["policy_domain"], row["source_ip"]) for row in rows} == {
        key for key, dt in first_seen.items() if dt >= cutoff(10)
    }


def test_a_seven_day_query_reads_only_those_days_files(
    year_case: StoreCase, year_runner: DuckDBQueryRunner
) -> None:
    """Partition pruning, shown by DuckDB's file-system log and its EXPLAIN ANALYZE counters."""
    query = athena_queries.saved_query("daily_volume_pass_rate")
    profile = year_runner.profile(query.sql, query.bind({"days": 7}))
    parquet = year_case.root / "parquet"
    in_range = {
        str(path)
        for path in parquet.glob("*/dt=*/*.parquet")
        if path.parent.name.removeprefix("dt=") >= cutoff(7)
    }
    assert len(in_range) == 7 * len(TABLES)  # 7 days x (reports, records, record_senders)
    opened = set(profile.files_opened)
    assert in_range <= opened
    # Besides those, DuckDB reads only the footer of the first file of each table, to bind its schema.
    first_files = {str(sorted((parquet / table).glob("dt=*/*.parquet"))[0]) for table in TABLES}
    assert opened - in_range <= first_files
    assert profile.plan.count("Scanning Files: 7/365") == len(TABLES)
    assert profile.plan.count("Total Files Read: 7 ") == len(TABLES)


WHOLE_HISTORY = {"new_sources": "first seen is over all time: it reads three columns of every records file"}
WINDOWED = [
    query.name
    for query in athena_queries.saved_queries()
    if any(parameter.name == "days" for parameter in query.parameters) and query.name not in WHOLE_HISTORY
]


@pytest.mark.parametrize("name", WINDOWED)
def test_every_windowed_saved_query_opens_only_its_days(
    name: str, year_case: StoreCase, year_runner: DuckDBQueryRunner
) -> None:
    """A 7-day window opens the files of those 7 days (and the first file of a table, for its schema),
    whatever the query does with them: UNNEST joins included."""
    query = athena_queries.saved_query(name)
    profile = year_runner.profile(query.sql, query.bind({"days": 7}))
    parquet = year_case.root / "parquet"
    in_range = {str(path) for path in parquet.glob("*/dt=*/*.parquet") if path.parent.name[3:] >= cutoff(7)}
    first_files = {str(min(folder.glob("dt=*/*.parquet"))) for folder in parquet.iterdir()}
    outside = set(profile.files_opened) - in_range - first_files
    assert not outside, f"{name} opened {len(outside)} files outside the window"


def test_without_a_dt_filter_every_file_is_read(year_runner: DuckDBQueryRunner) -> None:
    """The counter-proof: the same log sees all 1,095 files (365 days x 3 tables) when nothing prunes."""
    profile = year_runner.profile("SELECT count(*) AS n FROM record_details WHERE message_count > 0")
    assert len(profile.files_opened) == 365 * len(TABLES)
    assert profile.plan.count("Total Files Read: 365 ") == len(TABLES)


def test_the_generator_summary_cli_agrees_with_the_imported_generator(year_case: StoreCase) -> None:
    """The fixture calls make_report's generate_xml directly (fast); its --summary output is the same."""
    begin = datetime.fromisoformat(year_case.reports[0].dt).replace(tzinfo=UTC)
    completed = subprocess.run(
        [sys.executable, str(MAKE_REPORT), "--records", "4", "--seed", "0", "--domain", "example.com",
         "--reporter", "0", "--begin", str(int(begin.timestamp())), "--out", "-", "--summary", "-"],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    summary = json.loads(completed.stderr)
    first = year_case.reports[0]
    assert summary["message_total"] == first.report["message_total"]
    assert summary["dmarc_pass_total"] == first.report["dmarc_pass"]
    assert summary["record_count"] == len(first.records)


@pytest.mark.parametrize("domain", ["example.org", "EXAMPLE.NET"])
def test_domain_parameter_selects_one_domain(
    domain: str, year_case: StoreCase, year_runner: DuckDBQueryRunner
) -> None:
    rows = year_runner.run_saved(
        athena_queries.saved_query("failure_categories"), {**ALL_DAYS, "domain": domain}
    )
    assert {row["policy_domain"] for row in rows.to_pylist()} == {domain.lower()}
    assert (
        sum(row["messages"] for row in rows.to_pylist()) == year_case.by_domain[domain.lower()].message_total
    )
    assert sum(row["share"] for row in rows.to_pylist()) == pytest.approx(1.0, abs=1e-3)
