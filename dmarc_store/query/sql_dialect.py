"""Athena SQL on DuckDB: the one place where the two dialects meet.

The project's SQL is written for Athena (Trino). To run it locally, ``to_duckdb`` parses it with sqlglot's
``athena`` dialect, qualifies and type-annotates it against the table schema (so integer division, ``sum``
and dates keep Athena's types), applies the few rewrites sqlglot does not make, and writes DuckDB SQL.

Rewrites made here (each pinned by tests/test_sql_dialect.py):
    - ``sum`` of integers and ``count_if`` are cast back to ``bigint`` (DuckDB widens them to ``hugeint``);
    - ``date_add``/``date_trunc`` on a ``date`` stay a ``date`` (DuckDB returns a ``timestamp``, which
      would also turn ``CAST(... AS varchar)`` into '2025-01-01 00:00:00');
    - ``CROSS|LEFT JOIN UNNEST(array_of_rows) AS t(f1, f2, ...)``, where Trino spreads the row's fields
      into columns, becomes a DuckDB subquery that unnests with ``max_depth := 2``;
    - the conditions of a WHERE that read only the table an UNNEST joins to move into a subquery on that
      table (DuckDB does not push them through the lateral join, so a ``dt`` window would open every
      partition), unless that would change the order of the ``?`` placeholders.

Functions and forms that do not translate are refused with ``UntranslatableSqlError`` rather than run with
a different answer; ``UNTRANSLATABLE`` lists them with what to write instead. The project's own SQL avoids
them (the tests run every view and saved query through here).

``athena_type`` is the one mapping of Arrow types to Athena (Glue DDL) types; it raises on any other type.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from dmarc_model.errors import DmarcError

__all__ = [
    "UNTRANSLATABLE",
    "SqlSyntaxError",
    "SqlTranslationError",
    "Untranslatable",
    "UntranslatableSqlError",
    "athena_type",
    "duckdb_type",
    "to_duckdb",
    "trino_type",
]

ATHENA = "athena"
DUCKDB = "duckdb"

Schema = Mapping[str, Mapping[str, str]]
"""Table or view name -> column name -> type (Athena DDL or Trino spelling)."""


class SqlTranslationError(DmarcError, ValueError):
    """Athena SQL that cannot be run on DuckDB."""


class SqlSyntaxError(SqlTranslationError):
    """The SQL does not parse, or names a table or column that does not exist."""


class UntranslatableSqlError(SqlTranslationError):
    """The SQL uses an Athena function or form that DuckDB would answer differently, or not at all."""


@dataclass(frozen=True)
class Untranslatable:
    name: str
    """As written in Athena SQL."""
    problem: str
    """What goes wrong on DuckDB."""
    instead: str
    """What to write instead, so the SQL runs the same on both."""


UNTRANSLATABLE: tuple[Untranslatable, ...] = (
    Untranslatable(
        "slice", "DuckDB's array_slice takes (start, end), Athena's slice (start, length)", "element_at"
    ),
    Untranslatable(
        "array_distinct",
        "DuckDB's list_distinct does not keep Athena's first-seen order",
        "array_sort(array_agg(DISTINCT x)) in an aggregate",
    ),
    Untranslatable(
        "format_datetime", "Joda-style patterns have no DuckDB function", "date_format with %-patterns"
    ),
    Untranslatable("any_match", "no DuckDB function", "cardinality(filter(a, x -> p)) > 0"),
    Untranslatable("all_match", "no DuckDB function", "cardinality(filter(a, x -> NOT p)) = 0"),
    Untranslatable("none_match", "no DuckDB function", "cardinality(filter(a, x -> p)) = 0"),
    Untranslatable("map_agg", "no DuckDB aggregate of that name", "array_agg of rows, or GROUP BY"),
    Untranslatable("zip", "no DuckDB function", "transform over an index, or separate columns"),
    Untranslatable(
        "reduce", "sqlglot drops the 4th (output) function of reduce", "apply the output function outside"
    ),
    Untranslatable(
        "ipaddress", "DuckDB has no IPADDRESS type without the inet extension (a download)", "string compare"
    ),
    Untranslatable(
        "contains(cidr, ip)",
        "CIDR containment needs IPADDRESS",
        "the ip_version column, prefix LIKE patterns",
    ),
    Untranslatable(
        "cast(double as varchar)",
        "Athena writes 1.0E7 where DuckDB writes 10000000.0",
        "round(x, n) and let the client format it, or format with format('%.2f', x)",
    ),
)

_REFUSED_FUNCTIONS = {
    "slice",
    "array_distinct",
    "format_datetime",
    "any_match",
    "all_match",
    "none_match",
    "map_agg",
    "zip",
}
_FLOATS = {exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT}
_DATES = {exp.DataType.Type.DATE}


def _refuse(name: str) -> UntranslatableSqlError:
    entry = next(item for item in UNTRANSLATABLE if item.name == name)
    return UntranslatableSqlError(
        f"{entry.name} does not run on DuckDB ({entry.problem}); use {entry.instead} instead"
    )


def _check_function_names(sql: str) -> None:
    tokens = sqlglot.Dialect.get_or_raise(ATHENA).tokenize(sql)
    for token, following in itertools.pairwise(tokens):
        name = token.text.lower()
        if name in _REFUSED_FUNCTIONS and following.token_type == sqlglot.TokenType.L_PAREN:
            raise _refuse(name)
        if name == "ipaddress":
            raise _refuse("ipaddress")


def _check_typed(tree: exp.Expr) -> None:
    for node in tree.walk():
        if isinstance(node, exp.Reduce) and node.args.get("finish") is not None:
            raise _refuse("reduce")
        if (
            isinstance(node, exp.ArrayContains)
            and node.this.type
            and node.this.type.is_type(*exp.DataType.TEXT_TYPES)
        ):
            raise _refuse("contains(cidr, ip)")
        if (
            isinstance(node, exp.Cast | exp.TryCast)
            and node.to.is_type(*exp.DataType.TEXT_TYPES)
            and node.this.type is not None
            and node.this.type.this in _FLOATS
        ):
            raise _refuse("cast(double as varchar)")


def _is_array_of_rows(node: exp.Expr) -> bool:
    kind = node.type
    return (
        kind is not None
        and kind.this == exp.DataType.Type.ARRAY
        and bool(kind.expressions)
        and kind.expressions[0].this == exp.DataType.Type.STRUCT
    )


def _rewrite_unnest_of_rows(tree: exp.Expr) -> None:
    """Trino spreads the fields of unnested rows into the alias columns; DuckDB needs max_depth := 2."""
    for unnest in list(tree.find_all(exp.Unnest)):
        alias = unnest.args.get("alias")
        if not isinstance(alias, exp.TableAlias) or len(alias.columns) < 2 or len(unnest.expressions) != 1:
            continue
        if not _is_array_of_rows(unnest.expressions[0]):
            continue
        if unnest.args.get("offset"):
            raise UntranslatableSqlError("UNNEST ... WITH ORDINALITY over rows does not run on DuckDB")
        array_sql = unnest.expressions[0].sql(DUCKDB)
        subquery = sqlglot.parse_one(f"(SELECT UNNEST({array_sql}, max_depth := 2))", read=DUCKDB)
        unnest.replace(exp.Subquery(this=subquery.unnest(), alias=alias.copy()))


def _is_lateral_unnest(join: exp.Join) -> bool:
    target = join.this
    if isinstance(target, exp.Unnest):
        return True
    inner = target.this if isinstance(target, exp.Subquery) else None
    return (
        isinstance(inner, exp.Select)
        and not inner.args.get("from_")
        and len(inner.expressions) == 1
        and isinstance(inner.expressions[0], exp.Unnest | exp.Explode)
    )


def _filter_before_unnest(tree: exp.Expr) -> None:
    """``FROM t AS a CROSS JOIN UNNEST(a.x) ... WHERE p(a) AND q`` as ``FROM (SELECT * FROM t AS a WHERE
    p(a)) AS a CROSS JOIN UNNEST(a.x) ... WHERE q``: the same rows, with ``p`` where DuckDB can push it.

    Only the leading conditions that read ``a`` alone move, and only when the select list and the joins
    hold no ``?``, so the placeholders keep their order."""
    for select in list(tree.find_all(exp.Select)):
        source, joins, where = select.args.get("from_"), select.args.get("joins"), select.args.get("where")
        if not (source and joins and where and isinstance(source.this, exp.Table) and source.this.alias):
            continue
        if not all(_is_lateral_unnest(join) for join in joins):
            continue
        if any(node.find(exp.Placeholder) for node in (*select.expressions, *joins)):
            continue
        alias = source.this.alias
        conditions = list(where.this.flatten()) if isinstance(where.this, exp.And) else [where.this]
        leading = next((i for i, c in enumerate(conditions) if not _reads_only(c, alias)), len(conditions))
        if leading == 0:
            continue
        inner = exp.select("*").from_(source.this.copy()).where(exp.and_(*conditions[:leading], copy=True))
        source.set("this", exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias))))
        rest = conditions[leading:]
        select.set("where", exp.Where(this=exp.and_(*rest, copy=True)) if rest else None)


def _reads_only(condition: exp.Expr, alias: str) -> bool:
    """Whether a condition reads columns of ``alias`` alone (and no subquery or aggregate)."""
    columns = list(condition.find_all(exp.Column))
    return (
        bool(columns)
        and all(column.table == alias for column in columns)
        and not condition.find(exp.Subquery, exp.Select, exp.AggFunc, exp.Window)
    )


def _keep_athena_types(tree: exp.Expr) -> None:
    """Cast back where DuckDB's result type differs from Athena's (innermost first)."""
    kinds = (exp.Sum, exp.CountIf, exp.DateAdd, exp.DateSub, exp.DateTrunc, exp.TimestampTrunc)
    for node in reversed(list(tree.find_all(*kinds))):
        if isinstance(node, exp.Sum | exp.CountIf):
            if isinstance(node, exp.Sum) and not (
                node.type and node.type.is_type(*exp.DataType.INTEGER_TYPES)
            ):
                continue
            target: exp.Expression = node.parent if isinstance(node.parent, exp.Window) else node
            target.replace(exp.cast(target.copy(), exp.DataType.build("BIGINT")))
        elif node.this.type is not None and node.this.type.this in _DATES:
            node.replace(exp.cast(node.copy(), exp.DataType.build("DATE")))


def to_duckdb(sql: str, schema: Schema) -> str:
    """Athena SQL (one statement) as DuckDB SQL, typed against ``schema``; raises SqlTranslationError."""
    mapping = MappingSchema({name: dict(columns) for name, columns in schema.items()}, dialect=ATHENA)
    try:
        _check_function_names(sql)
        statements = [tree for tree in sqlglot.parse(sql, read=ATHENA) if tree is not None]
        if len(statements) != 1:
            raise SqlSyntaxError(f"expected one SQL statement, got {len(statements)}")
        tree = qualify(statements[0], schema=mapping, dialect=ATHENA, validate_qualify_columns=True)
        tree = annotate_types(tree, schema=mapping, dialect=ATHENA)
    except SqlglotError as error:
        raise SqlSyntaxError(_first_line(error)) from None
    _check_typed(tree)
    _rewrite_unnest_of_rows(tree)
    _filter_before_unnest(tree)
    _keep_athena_types(tree)
    return tree.sql(DUCKDB)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def athena_type(arrow_type: pa.DataType) -> str:
    """The Athena (Glue DDL) type of an Arrow type, as written in tables/*.sql; TypeError if unknown."""
    simple: dict[Any, str] = {
        pa.string(): "string",
        pa.large_string(): "string",
        pa.int8(): "tinyint",
        pa.int16(): "smallint",
        pa.int32(): "int",
        pa.int64(): "bigint",
        pa.bool_(): "boolean",
        pa.float32(): "float",
        pa.float64(): "double",
        pa.date32(): "date",
        pa.binary(): "binary",
    }
    if arrow_type in simple:
        return simple[arrow_type]
    if pa.types.is_timestamp(arrow_type) and arrow_type.unit == "ms" and arrow_type.tz is None:
        return "timestamp"
    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return f"array<{athena_type(arrow_type.value_type)}>"
    if pa.types.is_struct(arrow_type):
        fields = ",".join(f"{field.name}:{athena_type(field.type)}" for field in arrow_type)
        return f"struct<{fields}>"
    raise TypeError(f"no Athena type for Arrow type {arrow_type}")


@cache
def duckdb_type(athena_ddl_type: str) -> str:
    """A DDL type (``array<struct<a:string>>``) in DuckDB's spelling (``STRUCT(a TEXT)[]``)."""
    return exp.DataType.build(athena_ddl_type, dialect=ATHENA).sql(DUCKDB)


@cache
def trino_type(duckdb_type_text: str) -> str:
    """A DuckDB type (as DESCRIBE prints it) in the spelling ``to_duckdb``'s schema accepts."""
    return exp.DataType.build(duckdb_type_text, dialect=DUCKDB).sql(ATHENA)
