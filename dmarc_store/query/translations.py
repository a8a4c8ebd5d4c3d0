"""Ad hoc SQL's DuckDB translation, kept between runs in the user's cache folder, like Python's bytecode.

The views and saved queries are translated ahead (``compiled_views.json``); SQL a user types, or a script
sends, is translated by sqlglot, which costs a tenth of a second or more before DuckDB starts. The second
run of the same statement reads the translation back instead:

    $XDG_CACHE_HOME/dmarc/translations/<key>.sql        (~/.cache/dmarc/... when XDG_CACHE_HOME is unset)

``key`` is ``view_catalog``'s query key: the SHA-256 of the SQL, the DDL of the tables it reads, the keys
of the views it reads and the translation code's fingerprint, so an edited view, a new column or an
upgrade never reads a stale entry. Best effort both ways: a folder that cannot be read or written only
means translating again. At most ``MAX_ENTRIES`` are kept; the oldest go first.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["MAX_ENTRIES", "cache_folder", "keep", "kept"]

MAX_ENTRIES = 1000
SUFFIX = ".sql"


def cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dmarc" / "translations"


def kept(key: str) -> str | None:
    """The translation kept under ``key``, or None."""
    try:
        text = (cache_folder() / f"{key}{SUFFIX}").read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


def keep(key: str, duck_sql: str) -> None:
    """Keep ``duck_sql`` under ``key`` (written whole or not at all), dropping the oldest past MAX_ENTRIES."""
    folder = cache_folder()
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(duck_sql)
            os.replace(temporary, folder / f"{key}{SUFFIX}")
        except OSError:
            Path(temporary).unlink(missing_ok=True)
            raise
        _prune(folder)


def _prune(folder: Path) -> None:
    entries = [entry for entry in os.scandir(folder) if entry.name.endswith(SUFFIX)]
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda entry: entry.stat().st_mtime)
    for entry in entries[: len(entries) - MAX_ENTRIES]:
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
