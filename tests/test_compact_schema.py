"""Compaction across schema versions: a file written before a column (or a struct field) was added is
merged with it as null; a file written by a newer version, or one this version cannot read, is left in
place, named and never silently cut down to the columns this version knows."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dmarc_model.schema import SCHEMAS
from dmarc_store.backends.objects import LocalObjects, Objects
from dmarc_store.compact import compact_closed_days
from dmarc_store.layout import parquet_bytes, parquet_key, partition_prefix
from tests.compact_support import (
    AFTER,
    DT,
    Template,
    as_report,
    report_files,
    template,
    views_total,
    write_files,
)

NAMES = ["r000", "r001", "r002"]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return template(str(tmp_path_factory.mktemp("template")))


@pytest.fixture
def objects(tmp_path: Path, base: Template) -> Objects:
    """A local store whose day holds three current per-report files of each table."""
    store = LocalObjects(tmp_path / "store")
    write_files(store, report_files(base, NAMES, ("records", "reports")))
    return store


def _rows(base: Template, table: str, name: str) -> pa.Table:
    return as_report(base.records if table == "records" else base.reports, name)


def _put(objects: Objects, table: str, name: str, rows: pa.Table) -> str:
    key = parquet_key(table, DT, name)
    objects.put(key, parquet_bytes(rows))
    return key


def _compact(objects: Objects) -> Any:
    return compact_closed_days(objects, AFTER, after_days=2, lookback_days=1)


def _only_file(objects: Objects, table: str) -> pa.Table:
    (only,) = objects.list(partition_prefix(table, DT))
    return pq.read_table(io.BytesIO(objects.get(only)))


def _by_report(rows: pa.Table, column: str) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for key, value in zip(
        rows.column("report_key").to_pylist(), rows.column(column).to_pylist(), strict=True
    ):
        found.setdefault(key, []).append(value)
    return found


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("records", "extensions"),
        ("records", "dkim_results"),
        ("records", "header_from"),
        ("reports", "extensions"),
        ("reports", "warnings"),
        ("reports", "org_name"),
    ],
)
def test_a_file_written_before_a_column_was_added_is_merged_with_the_column_null(
    objects: Objects, base: Template, table: str, column: str
) -> None:
    _put(objects, table, "old", _rows(base, table, "old").drop_columns([column]))
    run = _compact(objects)
    assert run.skipped == []
    merged = _only_file(objects, table)
    assert merged.schema == SCHEMAS[table]
    values = _by_report(merged, column)
    assert set(values["old"]) == {None}
    assert values["r001"] == _rows(base, table, "r001").column(column).to_pylist(), "the others keep theirs"
    assert sorted(values) == ["old", *NAMES]


def test_a_struct_field_added_later_reads_as_null(objects: Objects, base: Template) -> None:
    rows = _rows(base, "records", "old")
    older_type = pa.list_(pa.struct([(name, pa.string()) for name in ("domain", "selector", "result")]))
    older = [
        [{key: value for key, value in result.items() if key != "human_result"} for result in results]
        for results in rows.column("dkim_results").to_pylist()
    ]
    index = rows.schema.get_field_index("dkim_results")
    _put(objects, "records", "old", rows.set_column(index, "dkim_results", pa.array(older, older_type)))
    assert _compact(objects).skipped == []
    results = _by_report(_only_file(objects, "records"), "dkim_results")["old"]
    assert results[0][0]["domain"] == "example.com"
    assert {result["human_result"] for results_ in results for result in results_} == {None}


def test_a_narrower_type_is_widened(objects: Objects, base: Template) -> None:
    rows = _rows(base, "records", "old")
    index = rows.schema.get_field_index("message_count")
    _put(
        objects,
        "records",
        "old",
        rows.set_column(index, "message_count", rows.column(index).cast(pa.int32())),
    )
    assert _compact(objects).skipped == []
    assert _only_file(objects, "records").schema == SCHEMAS["records"]
    assert views_total(objects) == 4 * base.message_total


def _newer_column(rows: pa.Table) -> pa.Table:
    return rows.append_column("added_by_a_newer_version", pa.array(["kept"] * rows.num_rows))


def _newer_struct_field(rows: pa.Table) -> pa.Table:
    declared = rows.schema.field("spf_results").type.value_type
    fields = [(field.name, field.type) for field in declared]
    newer_type = pa.list_(pa.struct([*fields, ("added_later", pa.string())]))
    newer = [
        [{**result, "added_later": "kept"} for result in results]
        for results in rows.column("spf_results").to_pylist()
    ]
    return rows.set_column(
        rows.schema.get_field_index("spf_results"), "spf_results", pa.array(newer, newer_type)
    )


def _uncastable(rows: pa.Table) -> pa.Table:
    index = rows.schema.get_field_index("message_count")
    return rows.set_column(index, "message_count", pa.array(["many"] * rows.num_rows))


def _no_identity(rows: pa.Table) -> pa.Table:
    return rows.drop_columns(["record_index"])


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_newer_column, "unknown added_by_a_newer_version"),
        (_newer_struct_field, "unknown spf_results.added_later"),
        (_uncastable, "message_count is string, not int64"),
        (_no_identity, "no record_index"),
    ],
    ids=["unknown-column", "unknown-struct-field", "uncastable-column", "no-identity"],
)
def test_a_file_this_version_cannot_merge_is_left_in_place_and_named(
    objects: Objects, base: Template, change: Any, reason: str
) -> None:
    key = _put(objects, "records", "newer", change(_rows(base, "records", "newer")))
    before = objects.get(key)
    run = _compact(objects)
    assert run.skipped == []
    (records,) = [compaction for compaction in run.compacted if compaction.table == "records"]
    assert records.merged == 3
    ((aside_key, aside_reason),) = [(aside.key, aside.reason) for aside in records.set_aside]
    assert aside_key == key
    assert reason in aside_reason
    assert objects.get(key) == before, "left exactly as it was"
    assert len(objects.list(partition_prefix("records", DT))) == 2
    assert records.as_dict()["set_aside"] == [{"key": key, "reason": aside_reason}]


def test_a_file_set_aside_is_named_again_on_every_run_and_its_rows_stay_visible(
    objects: Objects, base: Template
) -> None:
    key = _put(objects, "records", "newer", _newer_column(_rows(base, "records", "newer")))
    _compact(objects)
    again = _compact(objects)
    assert [(c.table, c.merged, [a.key for a in c.set_aside]) for c in again.compacted] == [
        ("records", 0, [key])
    ]
    assert views_total(objects) == 4 * base.message_total, "the newer file's rows count, once"
    assert "added_by_a_newer_version" in pq.read_table(io.BytesIO(objects.get(key))).column_names


def test_bytes_that_are_not_parquet_are_left_in_place(objects: Objects) -> None:
    key = parquet_key("records", DT, "broken")
    objects.put(key, b"PAR1 this is not a Parquet file")
    run = _compact(objects)
    (records,) = [compaction for compaction in run.compacted if compaction.table == "records"]
    assert [aside.key for aside in records.set_aside] == [key]
    assert "not a readable Parquet file" in records.set_aside[0].reason
    assert objects.get(key) == b"PAR1 this is not a Parquet file"


# --- file shape --------------------------------------------------------------------------------------------


def test_a_merged_file_is_written_in_row_groups_of_about_the_configured_size(
    objects: Objects, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row groups of ROW_GROUP_BYTES (Athena's 128 MB block size); here shrunk to see a day split."""
    import dmarc_store.compact as compact_module

    merged_rows = sum(pq.read_table(io.BytesIO(objects.get(key))).num_rows
                      for key in objects.list(partition_prefix("records", DT)))  # fmt: skip
    monkeypatch.setattr(compact_module, "ROW_GROUP_BYTES", 1)  # one row a group
    _compact(objects)
    (only,) = objects.list(partition_prefix("records", DT))
    metadata = pq.ParquetFile(io.BytesIO(objects.get(only))).metadata
    assert metadata.num_rows == merged_rows
    assert metadata.num_row_groups == merged_rows
    assert all(metadata.row_group(index).num_rows == 1 for index in range(metadata.num_row_groups))


def test_row_groups_hold_about_the_bytes_asked_for() -> None:
    rows = pa.table({"n": list(range(40_000)), "text": ["x" * 30] * 40_000})
    for groups in (1, 4, 10):
        data = parquet_bytes(rows, row_group_bytes=rows.nbytes // groups)
        assert pq.ParquetFile(io.BytesIO(data)).metadata.num_row_groups == groups
    assert pq.read_table(io.BytesIO(parquet_bytes(rows, row_group_bytes=1))).equals(rows)
