"""Names of quarantined objects (dmarc_store.layout): one name per source key, never a note's, never
past a file name's 255 bytes or an S3 key's 1,024, never outside the quarantine folder; and both
stores keep every copy and every note under those names."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dmarc_store.backends.local import INDEX_NAME, LocalStore, write_atomically
from dmarc_store.layout import (
    KEY_MAX_BYTES,
    NAME_MAX_BYTES,
    QUARANTINE_PREFIX,
    quarantine_key,
    quarantine_note_key,
)

REASON = "not-a-report"
FOLDER = f"{QUARANTINE_PREFIX}{REASON}/"

# Keys built from the characters that matter: separators, dots, the escape character, the suffix
# of the old note, odd characters, long runs.
_KEY_PIECES = st.sampled_from(
    ["/", ".", "..", "%", "%2F", "%-", "%note.json", ".json", "\\", "\n", "a", "é", "x" * 300]
)
KEYS = st.lists(st.one_of(_KEY_PIECES, st.text(max_size=4)), max_size=12).map("".join)


def _name(key: str) -> str:
    return quarantine_key(REASON, key).removeprefix(FOLDER)


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize(
    ("source_key", "name"),
    [
        ("uploads/report.xml", "uploads/report.xml"),
        ("incoming/0123abcd", "incoming/0123abcd"),
        ("box.mbox#3", "box.mbox#3"),
        ("/tmp/in/a.xml", "%2Ftmp/in/a.xml"),
        ("../../x", "%2E./%2E./x"),
        ("a//b/", "a%2F%2Fb%2F"),
        ("a/./b", "a/%2E/b"),
        (".hidden", "%2Ehidden"),
        ("a\\b", "a%5Cb"),
        ("line\nbreak", "line%0Abreak"),
        ("100%.xml", "100%25.xml"),
    ],
)
def test_a_source_key_names_its_copy_readably_and_escapes_what_is_odd(source_key: str, name: str) -> None:
    assert quarantine_key(REASON, source_key) == FOLDER + name
    assert unquote(name) == source_key


@given(KEYS)
@settings(max_examples=300, deadline=None)
def test_every_name_stays_in_its_folder_and_fits_a_file_system_and_s3(source_key: str) -> None:
    copy = quarantine_key(REASON, source_key)
    note = quarantine_note_key(copy)
    name = copy.removeprefix(FOLDER)
    assert copy.startswith(FOLDER)
    assert _size(note) <= KEY_MAX_BYTES
    for part in note.removeprefix(FOLDER).split("/"):
        assert part not in ("", ".", "..")
        assert not part.startswith(".")
        assert _size(part) <= NAME_MAX_BYTES
    if "%-" not in name:
        assert unquote(name, errors="surrogatepass") == source_key


@given(KEYS, KEYS)
@settings(max_examples=500, deadline=None)
def test_two_keys_never_share_a_name_and_a_copy_is_never_a_note(first: str, second: str) -> None:
    names = {quarantine_key(REASON, first), quarantine_key(REASON, second)}
    notes = {quarantine_note_key(key) for key in names}
    assert len(names) == (1 if first == second else 2)
    assert not names & notes


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("a", "a.json"),  # the old note of `a` was the copy of `a.json`
        ("a", "a%note.json"),
        ("x/../y", "y"),
        ("/x", "x"),
        ("a\\b", "a/b"),
        ("a//b", "a/b"),
        ("x" * 300, "x" * 301),  # both shortened
        ("x" * 300, "x" * 211 + "%-" + "0" * 32),
    ],
)
def test_keys_that_the_old_naming_merged_get_names_of_their_own(first: str, second: str) -> None:
    names = {quarantine_key(REASON, first), quarantine_key(REASON, second)}
    assert len(names | {quarantine_note_key(key) for key in names}) == 4


def test_a_folder_of_one_name_is_never_a_note_or_a_shortened_name() -> None:
    long_name = "x" * 300
    note_of_a = quarantine_note_key(quarantine_key(REASON, "a"))
    under_it = quarantine_key(REASON, "a%note.json/b")
    assert not under_it.startswith(note_of_a + "/")
    under_long = quarantine_key(REASON, f"{long_name}/b")
    assert not under_long.startswith(quarantine_key(REASON, long_name) + "/")


def test_local_store_keeps_both_copies_and_both_notes_of_a_and_a_json(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    keys = {
        source: store.quarantine(
            reason=REASON, source_key=source, data=source.encode(), sidecar={"source": source}
        )
        for source in ("in/a", "in/a.json", "in/a.json.json")
    }
    for source, key in keys.items():
        assert (store.root / key).read_bytes() == source.encode()
        assert json.loads((store.root / quarantine_note_key(key)).read_text()) == {"source": source}


@pytest.mark.parametrize(
    "source_key", ["../../x", "/../../x", "..", "a/../../../x", "\\..\\..\\x", "x/..", "."]
)
def test_no_source_key_puts_a_file_outside_the_quarantine_folder(tmp_path: Path, source_key: str) -> None:
    root = tmp_path / "deep" / "store"
    store = LocalStore(root)
    key = store.quarantine(reason=REASON, source_key=source_key, data=b"bytes", sidecar={})
    folder = (root / FOLDER).resolve()
    for path in (root / key, root / quarantine_note_key(key)):
        assert path.resolve().is_relative_to(folder)
        assert path.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep"]
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["store"]


@pytest.mark.parametrize("length", [245, 250, 255])
def test_local_store_quarantines_a_file_name_of_legal_length(tmp_path: Path, length: int) -> None:
    store = LocalStore(tmp_path / "store")
    source = tmp_path / ("r" * (length - 4) + ".xml")
    source.write_bytes(b"not a report")
    key = store.quarantine(reason=REASON, source_key=str(source), data=b"not a report", sidecar={"n": 1})
    assert (store.root / key).read_bytes() == b"not a report"
    assert json.loads((store.root / quarantine_note_key(key)).read_text()) == {"n": 1}


def test_write_atomically_takes_a_final_name_of_255_bytes_and_leaves_no_temporary_file(
    tmp_path: Path,
) -> None:
    target = tmp_path / ("é" * 127 + "x")
    assert len(os.fsencode(target.name)) == 255
    write_atomically(target, b"data")
    write_atomically(target, b"again")
    assert target.read_bytes() == b"again"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_write_atomically_removes_its_temporary_file_when_the_rename_fails(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "inside").write_bytes(b"keeps the folder non-empty")
    with pytest.raises(OSError):
        write_atomically(tmp_path / "folder", b"data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


def test_the_cli_knows_the_store_index_by_the_stores_own_name() -> None:
    from dmarc_cli.sources import STORE_INDEX_NAME

    assert STORE_INDEX_NAME == INDEX_NAME


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    "source_key",
    [
        "uploads/" + "k" * 992,  # 1,000 bytes, the note's key would be 1,034 at full length
        "uploads/" + "/".join(["d" * 9] * 99),
        "uploads/a",
        "uploads/a.json",
        "uploads/odd\n\\name",
    ],
)
def test_s3_quarantine_of_any_source_key_keeps_the_copy_and_the_note(source_key: str) -> None:
    from dmarc_store.connect import aws_store
    from dmarc_store.settings import get_settings
    from tests import aws_support as aws_kit

    store = aws_store(get_settings())
    for source in (source_key, f"{source_key}.json"):
        key = store.quarantine(
            reason=REASON, source_key=source, data=source.encode(), sidecar={"source": source}
        )
        assert _size(quarantine_note_key(key)) <= KEY_MAX_BYTES
        assert aws_kit.get_object(key) == source.encode()
        assert json.loads(aws_kit.get_object(quarantine_note_key(key))) == {"source": source}
    assert len(aws_kit.list_keys(FOLDER)) == 4
