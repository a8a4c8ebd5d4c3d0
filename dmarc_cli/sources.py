"""Input objects from local paths: files as given, folders walked recursively, mbox files split into
their messages, Maildir folders read message by message (their tmp/ skipped: mail still arriving)."""

from __future__ import annotations

import functools
import mailbox
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SKIPPED_NAMES = frozenset({".DS_Store", "Thumbs.db", "index.sqlite"})
_MBOX_SEPARATOR = b"From "


@dataclass(frozen=True)
class Source:
    """One input object: its key (a path; `path#n` for the n-th message of an mbox) and where it is."""

    key: str
    path: Path
    mbox_index: int | None = None

    def read(self) -> bytes:
        if self.mbox_index is None:
            return self.path.read_bytes()
        box = _open_mbox(self.path, self.path.stat().st_mtime_ns)
        return box.get_bytes(list(box.keys())[self.mbox_index])


def iter_sources(paths: tuple[Path, ...] | list[Path]) -> Iterator[Source]:
    """Every input object under the given paths, in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from _folder(path)
        else:
            yield from _file(path)


def _folder(folder: Path) -> Iterator[Source]:
    for child in sorted(folder.rglob("*")):
        relative = child.relative_to(folder)
        if not child.is_file() or child.name in SKIPPED_NAMES or _hidden(relative) or _maildir_tmp(child):
            continue
        yield from _file(child)


def _file(path: Path) -> Iterator[Source]:
    key = path_key(path)
    if is_mbox(path):
        for index in range(len(_mbox_keys(path))):
            yield Source(f"{key}#{index}", path, index)
    else:
        yield Source(key, path)


def path_key(path: Path) -> str:
    """A path as text that is valid UTF-8, for keys and output: a name's byte that is not UTF-8 (read
    by Python as a lone surrogate, which no store or UTF-8 output takes) is written ``\\xff``."""
    text = str(path)
    if text.isascii():
        return text
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def is_mbox(path: Path) -> bool:
    """An mbox file starts with a 'From ' line and holds more than one message."""
    try:
        with path.open("rb") as stream:
            head = stream.read(5)
            if head != _MBOX_SEPARATOR:
                return False
            return any(line.startswith(_MBOX_SEPARATOR) for line in stream)
    except OSError:
        return False


def _mbox_keys(path: Path) -> list[str]:
    return list(_open_mbox(path, path.stat().st_mtime_ns).keys())


@functools.lru_cache(maxsize=2)
def _open_mbox(path: Path, mtime_ns: int) -> mailbox.mbox:
    """One scan of an mbox for all its messages; the mtime in the key makes a changed file read anew."""
    return mailbox.mbox(path, create=False)


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _maildir_tmp(path: Path) -> bool:
    parent = path.parent
    return parent.name == "tmp" and (parent.parent / "cur").is_dir() and (parent.parent / "new").is_dir()
