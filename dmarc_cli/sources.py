"""Input objects from local paths: files as given, folders walked recursively, mbox files split into
their messages, Maildir folders read message by message (their tmp/ skipped: mail still arriving).

A store is never input: a folder that is the active store (`dmarc ingest .` with the store inside) or
that looks like one (it holds a store index) is skipped, with what is under it, and listed."""

from __future__ import annotations

import functools
import mailbox
import os
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SKIPPED_NAMES = frozenset({".DS_Store", "Thumbs.db"})
STORE_INDEX_NAME = "index.sqlite"
"""What marks a folder as a local store: `dmarc_store.backends.local.INDEX_NAME` (a test holds them
equal; imported by name here, not from there, so that `dmarc parse` does not load the store)."""
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


@dataclass
class SourceWalk:
    """Every input object under `paths`, in a stable order, when iterated. Folders met on the way
    that are a store (one of `store_roots`, or any holding a store index) are skipped and listed in
    `skipped_stores`; a file named on its own is read wherever it is."""

    paths: Sequence[Path]
    store_roots: Collection[Path] = ()
    skipped_stores: list[Path] = field(default_factory=list)

    def __iter__(self) -> Iterator[Source]:
        roots = {root.resolve() for root in self.store_roots}
        for path in self.paths:
            if path.is_dir():
                yield from self._folder(path, roots)
            else:
                yield from _file(path)

    def _folder(self, folder: Path, roots: set[Path]) -> Iterator[Source]:
        found: list[Path] = []
        for top, folders, names in os.walk(folder):
            here = Path(top)
            if STORE_INDEX_NAME in names or here.resolve() in roots:
                self.skipped_stores.append(here)
                folders.clear()
                continue
            folders[:] = [name for name in folders if not name.startswith(".")]
            found += [here / name for name in names if not name.startswith(".") and name not in SKIPPED_NAMES]
        for path in sorted(found):
            if path.is_file() and not _maildir_tmp(path):
                yield from _file(path)


def iter_sources(paths: Sequence[Path], store_roots: Collection[Path] = ()) -> Iterator[Source]:
    """Every input object under the given paths, in a stable order, store folders skipped."""
    return iter(SourceWalk(paths, store_roots))


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


def _maildir_tmp(path: Path) -> bool:
    parent = path.parent
    return parent.name == "tmp" and (parent.parent / "cur").is_dir() and (parent.parent / "new").is_dir()
