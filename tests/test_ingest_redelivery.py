"""A byte-identical redelivery is answered from the local store's memory: the same result as the full
duplicate path, without unpacking; a changed byte, a pruned report or a refused date go the full way."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from dmarc_store.backends.local import LocalStore
from dmarc_store.errors import IngestIncomplete
from dmarc_store.ingest import service as service_module
from dmarc_store.ingest.redelivery import RememberedSource
from dmarc_store.ingest.service import IngestService
from tests.helpers import corpus_files, make_report


class ForgetfulStore(LocalStore):
    """The local store without the memory: every input goes the full way (the reference)."""

    def recall_source(self, source_sha256: str, fingerprint: str) -> RememberedSource | None:
        return None


def _no_unpack(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a remembered input was unpacked again")


@pytest.mark.parametrize("source", corpus_files()[:40], ids=lambda path: path.name)
def test_a_redelivery_gives_what_the_full_duplicate_path_gives(tmp_path: Path, source: Path) -> None:
    data = source.read_bytes()
    remembering = IngestService(LocalStore(tmp_path / "memory"))
    reference = IngestService(ForgetfulStore(tmp_path / "reference"))
    for service in (remembering, reference):
        try:
            service.ingest(str(source), data)
        except Exception:  # an input that fails is never remembered: the same on both sides
            return
    again = remembering.ingest(str(source), data).as_json()
    assert again == reference.ingest(str(source), data).as_json()


def test_a_redelivery_is_not_unpacked_and_says_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = tmp_path / "r.eml"
    make_report(report, 5, 3, "--eml", "--zip")
    store = LocalStore(tmp_path / "store")
    first = IngestService(store).ingest("uploads/r.eml", report.read_bytes())
    assert (first.new, first.duplicate) == (1, 0)
    monkeypatch.setattr(service_module, "unpack", _no_unpack)
    again = IngestService(LocalStore(tmp_path / "store")).ingest("incoming/other", report.read_bytes())
    assert (again.new, again.duplicate, again.records) == (0, 1, 0)
    (stored,) = again.reports
    assert stored.location.startswith("incoming/other > ")
    assert stored.location.removeprefix("incoming/other") == first.reports[0].location.removeprefix(
        "uploads/r.eml"
    )


def test_a_changed_byte_is_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = tmp_path / "r.xml"
    make_report(report, 3, 4)
    service = IngestService(LocalStore(tmp_path / "store"))
    service.ingest("r.xml", report.read_bytes())
    calls: list[str] = []
    real_unpack = service_module.unpack  # type: ignore[attr-defined]

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append("unpack")
        return real_unpack(*args, **kwargs)

    monkeypatch.setattr(service_module, "unpack", counting)
    changed = report.read_bytes() + b"\n"
    again = service.ingest("r.xml", changed)
    assert calls == ["unpack"]
    assert (again.new, again.duplicate) == (0, 1)
    service.ingest("r.xml", report.read_bytes())
    assert calls == ["unpack"]


def test_a_report_gone_from_the_index_is_stored_again(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    make_report(report, 3, 5)
    store = LocalStore(tmp_path / "store")
    IngestService(store).ingest("r.xml", report.read_bytes())
    with store._index() as index:
        index.execute("DELETE FROM reports")
    again = IngestService(store).ingest("r.xml", report.read_bytes())
    assert (again.new, again.duplicate) == (1, 0)


def test_input_with_a_refused_piece_is_not_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStore(tmp_path / "store")
    service = IngestService(store)
    first = service.ingest("note.txt", b"not a report at all")
    assert first.quarantined
    with store._index() as index:
        assert index.execute("SELECT count(*) FROM sources").fetchone() == (0,)
    again = service.ingest("note.txt", b"not a report at all")
    assert [piece.reason for piece in again.quarantined] == [piece.reason for piece in first.quarantined]


def test_threads_sharing_one_store_store_each_report_once(tmp_path: Path) -> None:
    payloads = []
    for seed in range(12):
        path = tmp_path / f"r{seed}.xml"
        make_report(path, 2, 100 + seed)
        payloads.append(path.read_bytes())
    store = LocalStore(tmp_path / "store")
    service = IngestService(store)
    new: list[int] = []

    def work(worker: int) -> None:
        for index, data in enumerate(payloads):
            while True:  # another thread writing the report is transient: retried, as the CLI does
                try:
                    new.append(service.ingest(f"w{worker}/{index}.xml", data).new)
                    break
                except IngestIncomplete as busy:
                    retryable = busy.retryable
                    new.append(busy.result.new)
                    if not retryable:
                        raise
                    time.sleep(0.01)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(new) == len(payloads)
    with store._index() as index:
        assert index.execute("SELECT count(*) FROM reports WHERE status = 'COMPLETE'").fetchone() == (12,)
