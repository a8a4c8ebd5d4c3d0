"""dmarc_store/query/compiled_views.json: what is compiled ahead is fresh, used only when its key matches,
and a stale or foreign entry is compiled live instead; with it, a saved query loads no sqlglot."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import athena_queries
from dmarc_store.query import view_catalog
from tests.helpers import REPO


def live_views() -> dict[str, view_catalog.CompiledView]:
    views = view_catalog.compiled_document()["views"]
    return {
        name: view_catalog.CompiledView(entry["duck_sql"], dict(entry["columns"]), entry["key"])
        for name, entry in views.items()
    }


def test_what_is_shipped_is_what_a_fresh_compilation_gives() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "compile_views.py"), "--check"],
        capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_an_entry_is_used_only_when_its_key_matches() -> None:
    live = live_views()
    name = "report_details"
    marked = {"key": live[name].key, "duck_sql": "SELECT 1 AS marked", "columns": [["marked", "integer"]]}
    used = view_catalog._Catalog().compile(name, shipped={name: marked})
    assert used.duck_sql == "SELECT 1 AS marked"
    stale = {name: {**marked, "key": "0" * 64}}
    assert view_catalog._Catalog().compile(name, shipped=stale) == live[name]


def test_a_key_follows_the_views_it_reads() -> None:
    """An edited view changes the key of every view built on it, so none of them is taken stale."""
    live = live_views()
    view = next(view for view in athena_queries.views() if view.depends_on)
    depends = {name: live[name] for name in view.depends_on}
    assert view_catalog._key(view, depends) == live[view.name].key
    edited = {name: dataclasses.replace(compiled, key="edited") for name, compiled in depends.items()}
    assert view_catalog._key(view, edited) != live[view.name].key


def test_a_saved_query_on_a_store_loads_no_sqlglot() -> None:
    code = (
        "import sys, tempfile, pathlib, athena_queries\n"
        "from dmarc_store.query import DuckDBQueryRunner\n"
        "runner = DuckDBQueryRunner(pathlib.Path(tempfile.mkdtemp()))\n"
        "for query in athena_queries.saved_queries():\n"
        "    runner.run_saved(query)\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'sqlglot'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert done.stdout.strip() == "[]"
