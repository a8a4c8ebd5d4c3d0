"""dmarc_store.query.translations: ad hoc SQL's translation is kept between runs under a key that
follows everything it depends on, read back instead of loading sqlglot, and never needed to run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dmarc_store.errors import QueryFailedError
from dmarc_store.query import translations, view_catalog
from tests.helpers import REPO

AD_HOC = "SELECT policy_domain, count(*) AS n FROM record_details GROUP BY 1 -- ad hoc"


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "dmarc" / "translations"


def test_a_translation_is_kept_under_its_key_and_read_back(cache_home: Path) -> None:
    reads = view_catalog.needed(AD_HOC)
    first = view_catalog.translated(AD_HOC, reads)
    (entry,) = cache_home.glob("*.sql")
    assert entry.read_text("utf-8") == first
    entry.write_text("SELECT 'kept' AS marked", "utf-8")
    assert view_catalog.translated(AD_HOC, reads) == "SELECT 'kept' AS marked"


def test_other_sql_or_other_tables_make_another_key(cache_home: Path) -> None:
    for sql in (AD_HOC, AD_HOC + " ", "SELECT count(*) AS n FROM records"):
        view_catalog.translated(sql, view_catalog.needed(sql))
    assert len(list(cache_home.glob("*.sql"))) == 3


def test_sql_that_does_not_translate_is_not_kept(cache_home: Path) -> None:
    with pytest.raises(QueryFailedError):
        view_catalog.translated("SELECT FROM WHERE (", view_catalog.needed("SELECT 1"))
    assert not list(cache_home.glob("*.sql"))


def test_a_folder_that_cannot_be_written_only_means_translating_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be", "utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    duck_sql = view_catalog.translated(AD_HOC, view_catalog.needed(AD_HOC))
    assert "record_details" in duck_sql
    assert translations.kept("0" * 64) is None


def test_at_most_max_entries_are_kept_the_oldest_going_first(
    cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(translations, "MAX_ENTRIES", 3)
    for number in range(5):
        translations.keep(f"{number:064x}", f"SELECT {number}")
        os.utime(cache_home / f"{number:064x}.sql", (number, number))
    assert sorted(path.stem[-1] for path in cache_home.glob("*.sql")) == ["2", "3", "4"]
    assert not list(cache_home.glob(".*.tmp"))


def test_ad_hoc_sql_run_again_in_a_new_process_loads_no_sqlglot(tmp_path: Path) -> None:
    code = (
        "import sys, pathlib\n"
        "from dmarc_store.query import DuckDBQueryRunner\n"
        f"DuckDBQueryRunner(pathlib.Path(sys.argv[1])).run_sql({AD_HOC!r})\n"
        "print(sorted({name.split('.')[0] for name in sys.modules} & {'sqlglot'}))\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    (tmp_path / "store").mkdir()
    runs = [
        subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / "store")],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
            check=True,
        ).stdout.strip()
        for _ in range(2)
    ]
    assert runs == ["['sqlglot']", "[]"]
