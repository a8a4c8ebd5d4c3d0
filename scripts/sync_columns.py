"""Writes the places that list every column of `dmarc_model.columns` and are not code: the column runs
of the views `report_details` and `record_details`, and the column tables of README.md's "Data" section.

    .venv/bin/python scripts/sync_columns.py           rewrite them (after adding a column)   = make columns
    .venv/bin/python scripts/sync_columns.py --check   exit 1, naming each stale place and showing the diff

tests/test_columns.py runs --check, so a column declared but missing from a view or the README fails the
tests until this script has run. In a view, the run is the block of `<alias>.<column>,` lines that starts
with `<alias>.dt,`; in README.md, the text between `<!-- columns: <table> -->` and `<!-- /columns -->`.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dmarc_model.columns import RECORD_COLUMNS, REPORT_COLUMNS  # noqa: E402
from dmarc_store.query.sql_dialect import athena_type  # noqa: E402

VIEWS = {"report_details": ("copies", "reports"), "record_details": ("rec", "records")}
"""View -> (the alias its column run uses, the table whose columns it carries)."""
README = ROOT / "README.md"


@dataclass(frozen=True)
class Place:
    path: Path
    current: str
    wanted: str


def table_columns(table: str) -> list[str]:
    columns = REPORT_COLUMNS if table == "reports" else RECORD_COLUMNS
    return [column.name for column in columns]


def view_text(text: str, alias: str, table: str) -> str:
    """The view's SQL with its column run listing dt and every column of the table, in order."""
    run = re.compile(rf"^(?P<indent>[ \t]+){alias}\.dt,\n(?:(?P=indent){alias}\.[a-z0-9_]+,\n)*", re.M)
    match = run.search(text)
    if match is None:
        raise SystemExit(f"no run of `{alias}.<column>,` lines starting with `{alias}.dt,` found")
    indent = match.group("indent")
    lines = "".join(f"{indent}{alias}.{name},\n" for name in ["dt", *table_columns(table)])
    return text[: match.start()] + lines + text[match.end() :]


def readme_block(table: str) -> str:
    columns = REPORT_COLUMNS if table == "reports" else RECORD_COLUMNS
    where = "DynamoDB META item" if table == "reports" else "DynamoDB record item, `dmarc lookup`"
    lines = [f"| `{table}` column | Athena type | also in |", "|---|---|---|"]
    for column in columns:
        carried = column.meta if table == "reports" else column.item  # type: ignore[union-attr]
        lines.append(f"| `{column.name}` | `{athena_type(column.type)}` | {where if carried else ''} |")
    return "\n".join(lines)


def readme_text(text: str) -> str:
    for table in ("reports", "records"):
        opener = f"<!-- columns: {table} -->\n"
        start = text.find(opener)
        end = text.find("<!-- /columns -->", start)
        if start < 0 or end < 0:
            raise SystemExit(f"README.md has no {opener.strip()} ... <!-- /columns --> block")
        start += len(opener)
        text = text[:start] + readme_block(table) + "\n" + text[end:]
    return text


def places() -> list[Place]:
    found = []
    for view, (alias, table) in VIEWS.items():
        path = ROOT / "athena_queries" / "views" / f"{view}.sql"
        current = path.read_text()
        found.append(Place(path, current, view_text(current, alias, table)))
    current = README.read_text()
    found.append(Place(README, current, readme_text(current)))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    stale = [place for place in places() if place.current != place.wanted]
    for place in stale:
        name = place.path.relative_to(ROOT)
        if args.check:
            diff = difflib.unified_diff(
                place.current.splitlines(keepends=True),
                place.wanted.splitlines(keepends=True),
                str(name),
                "wanted",
            )
            sys.stderr.write("".join(diff))
            sys.stderr.write(
                f"{name} does not list the columns of dmarc_model/columns.py: run `make columns`\n"
            )
        else:
            place.path.write_text(place.wanted)
            print(f"{name}: written")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
