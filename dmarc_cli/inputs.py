"""Turning command-line PATH arguments into input files: files as given, folders walked recursively."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

SKIPPED_NAMES = frozenset({".DS_Store", "Thumbs.db"})


def expand_paths(paths: tuple[Path, ...]) -> Iterator[Path]:
    """Every file under the given paths, in a stable order (folders sorted, hidden files skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if (
                    child.is_file()
                    and not _hidden(child.relative_to(path))
                    and child.name not in SKIPPED_NAMES
                ):
                    yield child
        else:
            yield path


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)
