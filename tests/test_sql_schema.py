"""The Athena DDL holds the Parquet schema: every table's columns and types equal dmarc_model.schema."""

from __future__ import annotations

import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp

import athena_queries
from dmarc_model.schema import PARTITION_COLUMN, SCHEMAS
from dmarc_store.query.sql_dialect import athena_type


def test_there_is_one_ddl_file_per_parquet_table() -> None:
    assert sorted(table.name for table in athena_queries.tables()) == sorted(SCHEMAS)


@pytest.mark.parametrize("table", athena_queries.tables(), ids=lambda table: table.name)
def test_ddl_columns_and_types_equal_the_arrow_schema_in_order(table: athena_queries.TableDefinition) -> None:
    expected = [(field.name, athena_type(field.type)) for field in SCHEMAS[table.name]]
    assert [(column.name, column.type) for column in table.columns] == expected


@pytest.mark.parametrize("table", athena_queries.tables(), ids=lambda table: table.name)
def test_ddl_is_partitioned_by_dt_string_only(table: athena_queries.TableDefinition) -> None:
    assert [(c.name, c.type) for c in table.partition_columns] == [(PARTITION_COLUMN, "string")]
    assert PARTITION_COLUMN not in SCHEMAS[table.name].names


@pytest.mark.parametrize("table", athena_queries.tables(), ids=lambda table: table.name)
def test_sqlglot_reads_the_same_columns_as_the_line_parser(table: athena_queries.TableDefinition) -> None:
    """The one-column-per-line format and a real SQL parser agree, so deploy tooling can rely on lines."""
    tree = sqlglot.parse_one(table.sql, read="athena")
    schema = tree.this
    assert isinstance(schema, exp.Schema)
    parsed = [(d.name, d.args["kind"]) for d in schema.expressions if isinstance(d, exp.ColumnDef)]
    assert [name for name, _ in parsed] == [column.name for column in table.columns]
    for (_, kind), column in zip(parsed, table.columns, strict=True):
        assert kind == exp.DataType.build(column.type, dialect="athena")


@pytest.mark.parametrize(
    ("arrow_type", "athena"),
    [
        (pa.string(), "string"),
        (pa.int8(), "tinyint"),
        (pa.int16(), "smallint"),
        (pa.int32(), "int"),
        (pa.int64(), "bigint"),
        (pa.bool_(), "boolean"),
        (pa.float64(), "double"),
        (pa.date32(), "date"),
        (pa.timestamp("ms"), "timestamp"),
        (pa.decimal128(10, 2), "decimal(10,2)"),
        (pa.list_(pa.string()), "array<string>"),
        (pa.list_(pa.struct([("a", pa.string()), ("b", pa.int32())])), "array<struct<a:string,b:int>>"),
    ],
)
def test_arrow_types_map_to_glue_ddl_types(arrow_type: pa.DataType, athena: str) -> None:
    assert athena_type(arrow_type) == athena


@pytest.mark.parametrize(
    "arrow_type",
    [
        pa.timestamp("ms", tz="UTC"),
        pa.timestamp("ns"),
        pa.map_(pa.string(), pa.string()),
        pa.uint64(),
        pa.null(),
    ],
)
def test_unknown_or_lossy_arrow_types_raise(arrow_type: pa.DataType) -> None:
    with pytest.raises(TypeError, match="no Athena type"):
        athena_type(arrow_type)
