"""Sender verdicts through the stores: written at ingest (`record_senders`, locally and on S3), shown by
`record_details` and the saved query `senders` (DuckDB running the Athena SQL), rewritten by
reclassification without touching the records, and `dmarc classify` / `dmarc query senders` on the CLI.

The records are the labelled cases of tests/data/sender_cases.toml, one report of them, so each
record's expected verdict is its case's label (cases whose address another case gives another network
are left out: one classifier serves the whole report).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from dmarc_cli.main import cli
from dmarc_model.senders.asn import AsnTable
from dmarc_model.senders.classify import Classifier
from dmarc_model.senders.reference import Reference, load_reference
from dmarc_model.senders.rows import senders_table
from dmarc_store.backends.local import LocalStore
from dmarc_store.backends.objects import LocalObjects
from dmarc_store.classify import reclassify_day
from dmarc_store.ingest.service import IngestService
from dmarc_store.query import DuckDBQueryRunner
from tests.test_sender_cases import CASES, REFERENCE, record

BEGIN = datetime(2026, 11, 20, tzinfo=UTC)
DAY = BEGIN.date()


def _consistent_cases() -> list[dict[str, Any]]:
    seen: dict[str, tuple[Any, ...]] = {}
    chosen = []
    for case in CASES:
        facts = (case["asn"], case["asn_org"], case["rdns"])
        if case["owner_ranges"] or seen.setdefault(case["source_ip"], facts) != facts:
            continue
        chosen.append(case)
    return chosen


STORE_CASES = _consistent_cases()


def classifier(reference: Reference = REFERENCE) -> Classifier:
    ranges = {(c["source_ip"], c["asn"], c["asn_org"]) for c in STORE_CASES if c["asn"]}
    networks = AsnTable.from_ranges([(ip, ip, asn, org) for ip, asn, org in sorted(ranges)], version="test")
    rdns = {c["source_ip"]: c["rdns"] for c in STORE_CASES if c["rdns"]}
    return Classifier(reference, networks, None, rdns)


def _leaf(name: str, value: object) -> str:
    return "" if value in (None, "") else f"<{name}>{escape(str(value))}</{name}>"


def _record_xml(index: int, case: dict[str, Any]) -> str:
    row = record(case)
    reasons = "".join(f"<reason><type>{r['type']}</type></reason>" for r in row["reasons"])
    dkim = "".join(
        f"<dkim>{_leaf('domain', d['domain'])}{_leaf('selector', d['selector'])}"
        f"{_leaf('result', d['result'])}</dkim>"
        for d in row["dkim_results"]
    )
    spf = "".join(
        f"<spf>{_leaf('domain', s['domain'])}{_leaf('scope', s['scope'])}{_leaf('result', s['result'])}</spf>"
        for s in row["spf_results"]
    )
    return (
        f"<record><row><source_ip>{row['source_ip']}</source_ip><count>{index + 1}</count><policy_evaluated>"
        f"<disposition>none</disposition><dkim>{row['policy_dkim']}</dkim><spf>{row['policy_spf']}</spf>"
        f"{reasons}</policy_evaluated></row><identifiers>{_leaf('envelope_from', row['envelope_from'])}"
        f"<header_from>{row['header_from']}</header_from></identifiers>"
        f"<auth_results>{dkim}{spf}</auth_results></record>"
    )


def report_xml(cases: list[dict[str, Any]], report_id: str = "senders-1") -> bytes:
    begin = int(BEGIN.timestamp())
    records = "".join(_record_xml(index, case) for index, case in enumerate(cases))
    return (
        '<?xml version="1.0"?><feedback><report_metadata><org_name>Example Receiver</org_name>'
        f"<email>r@example.net</email><report_id>{report_id}</report_id><date_range><begin>{begin}</begin>"
        f"<end>{begin + 86399}</end></date_range></report_metadata><policy_published><domain>example.com"
        f"</domain><p>none</p></policy_published>{records}</feedback>"
    ).encode()


def ingest(root: Path, chosen: Classifier) -> LocalStore:
    store = LocalStore(root)
    store.classifier = chosen
    result = IngestService(store).ingest("uploads/senders.xml", report_xml(STORE_CASES))
    assert result.new == 1, result.as_json()
    return store


def query(root: Path, sql: str, parameters: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    runner = DuckDBQueryRunner(root)
    try:
        return runner.run_sql(sql, parameters).to_pylist()
    finally:
        runner.close()


def test_enough_cases_reach_the_store() -> None:
    assert len(STORE_CASES) >= 80


def test_ingest_writes_one_verdict_per_record_and_record_details_shows_the_labels(tmp_path: Path) -> None:
    ingest(tmp_path, classifier())
    (senders_file,) = (tmp_path / "parquet" / "record_senders" / f"dt={DAY}").glob("*.parquet")
    assert pq.read_table(senders_file).num_rows == len(STORE_CASES)
    rows = query(
        tmp_path,
        "SELECT record_index, sender, sender_category, sender_confidence, sender_fix FROM record_details"
        " ORDER BY record_index",
    )
    got = [(r["sender"], r["sender_category"], r["sender_confidence"]) for r in rows]
    assert got == [(c["expect_sender"], c["expect_category"], c["expect_confidence"]) for c in STORE_CASES]


def test_the_senders_query_totals_each_sender(tmp_path: Path) -> None:
    ingest(tmp_path, classifier())
    from athena_queries import saved_query

    senders = saved_query("senders")
    rows = query(tmp_path, senders.sql, senders.bind({"days": 100_000}))
    messages: Counter[str] = Counter()
    passing: Counter[str] = Counter()
    for index, case in enumerate(STORE_CASES):
        messages[case["expect_sender"]] += index + 1
        passing[case["expect_sender"]] += (index + 1) if case["dkim_aligned"] or case["spf_aligned"] else 0
    assert {r["sender"]: r["messages"] for r in rows} == dict(messages)
    for row in rows:
        assert row["dmarc_pass_share"] == round(passing[row["sender"]] / messages[row["sender"]], 4)
        if row["failing_messages"] == 0:
            assert row["fix"] is None, row
        if row["category"] == "service" and row["failing_messages"]:
            assert row["fix"] == REFERENCE.services[row["sender"]].fix, row
    assert [r["messages"] for r in rows] == sorted((r["messages"] for r in rows), reverse=True)


def _without(reference: Reference, service: str) -> Reference:
    data: dict[str, Any] = {
        "version": "test-without",
        "service": [],
        "platform": [],
    }
    full = load_reference()
    for kept in full.services.values():
        if kept.id != service:
            data["service"].append(
                {
                    "id": kept.id,
                    "name": kept.name,
                    "kind": kept.kind,
                    "dkim_domains": list(kept.dkim_domains),
                    "selectors": list(kept.selectors),
                    "spf_domains": list(kept.spf_domains),
                    "rdns": list(kept.rdns),
                    "asns": sorted(kept.asns),
                }
            )
    for platform in full.platforms.values():
        data["platform"].append(
            {"id": platform.id, "name": platform.name, "asns": sorted(platform.asns)}
            | {"mailbox_provider": platform.mailbox_provider}
        )
    return Reference.from_data(data)


def test_reclassification_rewrites_the_verdicts_and_never_touches_the_records(tmp_path: Path) -> None:
    ingest(tmp_path, classifier(_without(REFERENCE, "amazon-ses")))
    records = sorted((tmp_path / "parquet" / "records").rglob("*.parquet"))
    before = {path: path.read_bytes() for path in records}
    sql = "SELECT sender, count(*) AS n FROM record_details GROUP BY sender"
    assert "amazon-ses" not in {row["sender"] for row in query(tmp_path, sql)}

    result = reclassify_day(LocalObjects(tmp_path), classifier(), DAY, datetime.now(UTC))

    assert result.records == len(STORE_CASES)
    ses = sum(1 for case in STORE_CASES if case["expect_sender"] == "amazon-ses")
    assert {row["sender"]: row["n"] for row in query(tmp_path, sql)}["amazon-ses"] == ses
    assert {path: path.read_bytes() for path in records} == before
    (only,) = (tmp_path / "parquet" / "record_senders" / f"dt={DAY}").glob("*.parquet")
    table = pq.read_table(only)
    assert table.num_rows == len(STORE_CASES)
    assert set(table.column("classifier_version").to_pylist()) == {classifier().version}


def test_reclassifying_again_with_the_same_rules_changes_no_verdict(tmp_path: Path) -> None:
    chosen = classifier()
    ingest(tmp_path, chosen)
    sql = "SELECT record_index, sender, sender_confidence FROM record_details ORDER BY record_index"
    first = query(tmp_path, sql)
    reclassify_day(LocalObjects(tmp_path), chosen, DAY, datetime.now(UTC))
    reclassify_day(LocalObjects(tmp_path), chosen, DAY, datetime.now(UTC))
    assert query(tmp_path, sql) == first


def test_a_verdict_is_the_same_at_ingest_and_from_the_stored_row(tmp_path: Path) -> None:
    chosen = classifier()
    ingest(tmp_path, chosen)
    (records_file,) = (tmp_path / "parquet" / "records" / f"dt={DAY}").glob("*.parquet")
    again = senders_table(pq.read_table(records_file), chosen, BEGIN)
    (senders_file,) = (tmp_path / "parquet" / "record_senders" / f"dt={DAY}").glob("*.parquet")
    stored = pq.read_table(senders_file)
    for column in ("sender", "sender_category", "sender_confidence", "sender_evidence", "network_asn"):
        assert again.column(column).to_pylist() == stored.column(column).to_pylist(), column


# --- the CLI: the package's own rules and table, as a user runs it ------------------------------------


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI reads the settings once per process (cached): each test reads its own."""
    from dmarc_store.settings import get_settings

    for name in ("DMARC_SENDERS_FILE", "DMARC_SENDER_RULES", "DMARC_ASN_TABLE", "DMARC_STORE"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _cli(*args: str, env: dict[str, str] | None = None) -> Any:
    from dmarc_store.settings import get_settings

    get_settings.cache_clear()
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_dmarc_query_senders_json_prints_one_object_per_sender(tmp_path: Path) -> None:
    store = tmp_path / "store"
    report = tmp_path / "senders.xml"
    report.write_bytes(report_xml(STORE_CASES))
    assert _cli("ingest", "--store", str(store), str(report)).exit_code == 0
    run = _cli("query", "senders", "--store", str(store), "--param", "days=100000", "--format", "json")
    assert run.exit_code == 0, run.output
    rows = [json.loads(line) for line in run.output.splitlines()]
    assert len({row["sender"] for row in rows}) == len(rows) > 10
    for row in rows:
        assert {"sender", "category", "messages", "dmarc_pass_share", "source_ips"} <= set(row)
    assert sum(row["messages"] for row in rows) == sum(range(1, len(STORE_CASES) + 1))


def test_dmarc_classify_uses_the_senders_file_and_prints_each_day(tmp_path: Path) -> None:
    store = tmp_path / "store"
    report = tmp_path / "senders.xml"
    report.write_bytes(report_xml(STORE_CASES))
    assert _cli("ingest", "--store", str(store), str(report)).exit_code == 0
    ips = Counter(case["source_ip"] for case in STORE_CASES)
    own = next(case for case in STORE_CASES if case["dkim_aligned"] and ips[case["source_ip"]] == 1)
    senders_file = tmp_path / "senders.toml"
    senders_file.write_text(
        f'[[own]]\nid = "relay"\nname = "Our relay"\nranges = ["{own["source_ip"]}/32"]\n'
    )
    env = {"DMARC_SENDERS_FILE": str(senders_file)}
    run = _cli("classify", "--store", str(store), "--json", env=env)
    assert run.exit_code == 0, run.output
    [day] = [json.loads(line) for line in run.output.splitlines()]
    assert (day["dt"], day["records"]) == (DAY.isoformat(), len(STORE_CASES))
    assert day["senders"]["own"] >= 1
    sql = "SELECT DISTINCT sender_name FROM record_details WHERE source_ip = ?"
    assert query(store, sql, (own["source_ip"],)) == [{"sender_name": "Our relay"}]


@pytest.mark.parametrize("content", ["[[own]]\nid = 'Bad Id'\nranges = []\n", "not toml ["])
def test_a_senders_file_that_does_not_read_is_a_configuration_error(tmp_path: Path, content: str) -> None:
    senders_file = tmp_path / "senders.toml"
    senders_file.write_text(content)
    run = _cli("classify", "--store", str(tmp_path), env={"DMARC_SENDERS_FILE": str(senders_file)})
    assert run.exit_code == 3
    assert "senders file" in run.output


def test_dmarc_classify_since_skips_earlier_days(tmp_path: Path) -> None:
    ingest(tmp_path, classifier())
    later = date(DAY.year, DAY.month, DAY.day + 1).isoformat()
    run = _cli("classify", "--store", str(tmp_path), "--since", later, "--json")
    assert (run.exit_code, run.output) == (0, "")


@pytest.mark.parametrize(("offset", "length"), [(0, None), (7, 20), (len(STORE_CASES) - 1, 1)])
def test_the_columnar_keys_are_the_keys_of_the_rows(tmp_path: Path, offset: int, length: int | None) -> None:
    """`senders_table` reads the records column by column; `classify` reads a mapping: the same keys,
    also for a batch sliced out of a bigger one (offsets into shared child arrays)."""
    from dmarc_model.senders.rows import _keys
    from dmarc_model.senders.signals import auth_key

    ingest(tmp_path, classifier())
    (records_file,) = (tmp_path / "parquet" / "records" / f"dt={DAY}").glob("*.parquet")
    batch = pq.read_table(records_file).combine_chunks().to_batches()[0].slice(offset, length)
    rows = batch.to_pylist()
    assert list(_keys(batch)) == [(row["source_ip"], auth_key(row)) for row in rows]
    assert len(rows) == (length or len(STORE_CASES) - offset)


def test_the_coverage_query_gives_the_named_share_and_the_unnamed_sources(tmp_path: Path) -> None:
    from athena_queries import saved_query

    ingest(tmp_path, classifier())
    named = {"service", "own", "forwarder"}
    messages = sum(range(1, len(STORE_CASES) + 1))
    identified = sum(i + 1 for i, c in enumerate(STORE_CASES) if c["expect_category"] in named)
    coverage = saved_query("sender_coverage")
    [row] = query(tmp_path, coverage.sql, coverage.bind({"days": 100_000}))
    assert (row["messages"], row["identified_messages"]) == (messages, identified)
    assert row["identified_share"] == round(identified / messages, 4)
    assert row["unclassified_messages"] == 0
    unnamed = saved_query("unidentified_sources")
    rows = query(tmp_path, unnamed.sql, unnamed.bind({"days": 100_000}))
    expected: Counter[str] = Counter()
    for index, case in enumerate(STORE_CASES):
        if case["expect_category"] not in named:
            expected[case["source_ip"]] += index + 1
    assert {r["source_ip"]: r["messages"] for r in rows} == dict(expected)
    assert [r["messages"] for r in rows] == sorted((r["messages"] for r in rows), reverse=True)


@pytest.mark.usefixtures("aws")
def test_on_aws_the_verdicts_go_to_s3_and_a_lookup_by_ip_answers_with_the_sender() -> None:
    import boto3

    from dmarc_store.backends.aws import AwsStore
    from dmarc_store.backends.objects import S3Objects
    from dmarc_store.lookup import lookup_dynamodb
    from tests import aws_support as kit

    s3 = boto3.client("s3", region_name=kit.REGION)
    dynamodb = boto3.client("dynamodb", region_name=kit.REGION)
    store = AwsStore(s3=s3, dynamodb=dynamodb, bucket=kit.BUCKET, table=kit.TABLE)
    store.classifier = classifier()
    result = IngestService(store).ingest("uploads/senders.xml", report_xml(STORE_CASES))
    assert result.new == 1
    objects = S3Objects(s3, kit.BUCKET)
    assert len(objects.list(f"parquet/record_senders/dt={DAY}/")) == 1
    case = next(c for c in STORE_CASES if c["expect_category"] == "service")
    rows = list(lookup_dynamodb(dynamodb, kit.TABLE, case["source_ip"], retention_days=0))
    assert rows
    assert {row["sender"] for row in rows} >= {case["expect_sender"]}
    assert all(row["sender_name"] and row["sender_category"] and row["sender_confidence"] for row in rows)
    done = reclassify_day(objects, classifier(), DAY, datetime.now(UTC))
    assert done.records == len(STORE_CASES)
    assert len(objects.list(f"parquet/record_senders/dt={DAY}/")) == 1
