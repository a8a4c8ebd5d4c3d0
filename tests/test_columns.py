"""dmarc_model.columns is the one column source: every other place is derived from it or held to it here.

Each check below returns the places that disagree with the declaration, by name, so a forgotten place
fails with a message that says where to look. The last test adds a field to the declaration and shows
that each check fails until its edit is made.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pytest

import athena_queries
from dmarc_cli.export import RECORD_COLUMNS_SELECTED
from dmarc_model import columns as declared
from dmarc_model.columns import RECORD_COLUMNS, REPORT_COLUMNS, RecordColumn, ReportColumn
from dmarc_model.prepare import prepare_report
from dmarc_model.unpack import unpack
from dmarc_store.backends.dynamo_items import META_ATTRIBUTES, RECORD_ATTRIBUTES
from dmarc_store.backends.local import LocalStore
from dmarc_store.ingest.service import IngestService
from dmarc_store.lookup import LOOKUP_FIELDS, lookup_dynamodb, lookup_local
from dmarc_store.query import DuckDBQueryRunner
from tests import aws_support as kit

ROOT = Path(__file__).resolve().parent.parent

FULL_REPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <report_metadata>
    <org_name>Every Field Inc.</org_name><email>dmarc@reporter.example</email>
    <extra_contact_info>https://reporter.example/dmarc</extra_contact_info>
    <report_id>all-fields-1</report_id>
    <date_range><begin>1735689600</begin><end>1735775999</end></date_range>
    <error>one error</error>
  </report_metadata>
  <policy_published>
    <domain>example.com</domain><adkim>r</adkim><aspf>s</aspf><p>none</p><sp>quarantine</sp>
    <pct>100</pct><fo>1</fo>
  </policy_published>
  <record>
    <row>
      <source_ip>2001:db8::7</source_ip><count>3</count>
      <policy_evaluated>
        <disposition>none</disposition><dkim>pass</dkim><spf>fail</spf>
        <reason><type>forwarded</type><comment>via list</comment></reason>
      </policy_evaluated>
    </row>
    <identifiers>
      <envelope_to>example.net</envelope_to><envelope_from>bounce.example.com</envelope_from>
      <header_from>example.com</header_from>
    </identifiers>
    <auth_results>
      <dkim><domain>example.com</domain><selector>s1</selector><result>pass</result>
        <human_result>good</human_result></dkim>
      <spf><domain>bounce.example.com</domain><scope>mfrom</scope><result>fail</result>
        <human_result>bad</human_result></spf>
    </auth_results>
  </record>
</feedback>
"""
"""A report in which every record field that DynamoDB items carry has a value."""


def _names(columns: Sequence[ReportColumn | RecordColumn]) -> list[str]:
    return [column.name for column in columns]


def ddl_problems(table: str, columns: Sequence[ReportColumn | RecordColumn]) -> list[str]:
    ddl = next(t for t in athena_queries.tables() if t.name == table)
    in_ddl = [column.name for column in ddl.columns]
    if in_ddl == _names(columns):
        return []
    missing = sorted(set(_names(columns)) - set(in_ddl))
    return [
        f"athena_queries/tables/{table}.sql: columns differ from dmarc_model/columns.py (missing {missing})"
    ]


def view_problems(view: str, columns: Sequence[ReportColumn | RecordColumn], tmp: Path) -> list[str]:
    runner = DuckDBQueryRunner(tmp)
    try:
        in_view = set(runner.schema[view])
    finally:
        runner.close()
    missing = [name for name in _names(columns) if name not in in_view]
    return [f"athena_queries/views/{view}.sql lacks {missing}: run `make columns`"] if missing else []


def generated_places_problems() -> list[str]:
    """scripts/sync_columns.py --check, in this process (so a patched declaration counts)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import sync_columns
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    return [
        f"{place.path.relative_to(ROOT)} is stale: run `make columns`"
        for place in sync_columns.places()
        if place.current != place.wanted
    ]


def model_problems() -> list[str]:
    """Every declared column can be read from a parsed report (the model has the field)."""
    try:
        payload = next(iter(unpack(FULL_REPORT, name="full.xml")))
        prepare_report(payload, "full.xml", datetime(2025, 1, 2, tzinfo=UTC))  # type: ignore[arg-type]
    except AttributeError as error:
        return [f"dmarc_model/models.py: a declared column reads a missing field ({error})"]
    return []


def test_the_ddl_declares_every_column_in_order() -> None:
    assert ddl_problems("reports", REPORT_COLUMNS) == []
    assert ddl_problems("records", RECORD_COLUMNS) == []


def test_the_views_carry_every_declared_column(tmp_path: Path) -> None:
    assert view_problems("report_details", REPORT_COLUMNS, tmp_path) == []
    assert view_problems("record_details", RECORD_COLUMNS, tmp_path) == []


def test_the_generated_places_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "sync_columns.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_the_readme_tables_name_every_column() -> None:
    readme = (ROOT / "README.md").read_text()
    for column in (*REPORT_COLUMNS, *RECORD_COLUMNS):
        assert f"| `{column.name}` |" in readme


def test_every_declared_column_is_read_from_the_model() -> None:
    assert model_problems() == []
    payload = next(iter(unpack(FULL_REPORT, name="full.xml")))
    prepared = prepare_report(payload, "full.xml", datetime(2025, 1, 2, tzinfo=UTC))  # type: ignore[arg-type]
    assert list(prepared.report) == _names(REPORT_COLUMNS)
    assert prepared.records.schema.names == _names(RECORD_COLUMNS)
    record = prepared.records.to_pylist()[0]
    assert {name for name in RECORD_ATTRIBUTES if record[name] in (None, [])} == set()


def test_the_export_carries_every_record_column() -> None:
    exported = {entry.split(" AS ")[-1].split(".")[-1] for entry in RECORD_COLUMNS_SELECTED}
    assert [name for name in _names(RECORD_COLUMNS) if name not in exported] == []
    assert [
        c.name for c in REPORT_COLUMNS if c.name.startswith("published_") and c.name not in exported
    ] == []


def test_dynamodb_items_and_lookups_follow_the_declaration() -> None:
    assert tuple(c.name for c in RECORD_COLUMNS if c.item) == RECORD_ATTRIBUTES
    assert set(RECORD_ATTRIBUTES) <= set(LOOKUP_FIELDS)
    assert tuple(c.name for c in REPORT_COLUMNS if c.meta) == META_ATTRIBUTES


@pytest.mark.usefixtures("aws")
def test_both_lookups_give_every_item_column_with_the_same_values(tmp_path: Path) -> None:
    from dmarc_store.connect import aws_store
    from dmarc_store.settings import get_settings

    IngestService(aws_store(get_settings())).ingest("full.xml", FULL_REPORT)
    IngestService(LocalStore(tmp_path)).ingest("full.xml", FULL_REPORT)
    from_aws = list(
        lookup_dynamodb(boto3.client("dynamodb", region_name=kit.REGION), kit.TABLE, "2001:db8::7")
    )
    local = list(lookup_local(tmp_path, "2001:db8::7"))
    assert len(from_aws) == len(local) == 1
    assert set(from_aws[0]) == set(local[0]) == set(LOOKUP_FIELDS)
    empty = [name for name in LOOKUP_FIELDS if local[0][name] in (None, [])]
    assert empty == []
    assert _plain(from_aws[0]) == _plain(local[0])


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB leaves out NULL struct fields; Parquet keeps them as None."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: strip(item) for key, item in value.items() if item is not None}
        if isinstance(value, list):
            return [strip(item) for item in value]
        return value

    return {name: strip(value) for name, value in row.items()}


def test_a_new_field_fails_in_each_place_until_it_is_added(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The edits a new record field needs: the model, the declaration, the DDL, then `make columns`."""
    sample = RecordColumn("sample_field", pa.string(), attrgetter("row.sample_field"), item=True)
    extended = (*RECORD_COLUMNS, sample)
    monkeypatch.setattr(declared, "RECORD_COLUMNS", extended)
    import dmarc_model.rows as rows

    monkeypatch.setattr(rows, "_PER_RECORD", (*rows._PER_RECORD, (sample.name, sample.record)))
    monkeypatch.setattr(rows, "RECORDS_SCHEMA", pa.schema([(c.name, c.type) for c in extended]))
    assert "dmarc_model/models.py" in " ".join(model_problems())
    assert "athena_queries/tables/records.sql" in " ".join(ddl_problems("records", extended))
    assert "athena_queries/views/record_details.sql" in " ".join(
        view_problems("record_details", extended, tmp_path)
    )
    stale = " ".join(generated_places_problems())
    assert "README.md" in stale
