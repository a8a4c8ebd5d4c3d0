"""The ingest service on the local store: what is kept aside is kept, with its reason."""

from __future__ import annotations

import json
from pathlib import Path

from dmarc_store.backends.local import LocalStore
from dmarc_store.ingest.service import IngestService
from dmarc_store.layout import quarantine_note_key
from tests.helpers import CORPUS


def test_records_that_fail_validation_are_kept_in_quarantine_with_their_reason(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    source = CORPUS / "tpc__test_empty.xml"
    result = IngestService(store).ingest(str(source), source.read_bytes())
    assert result.new == 1
    (key,) = result.quarantine_keys
    assert key.startswith("quarantine/record-error/")
    sidecar = json.loads((store.root / quarantine_note_key(key)).read_text())
    (report,) = sidecar["pieces"]
    (record,) = report["records"]
    assert "source_ip" in record["reason"]
    assert "<source_ip/>" in record["xml"]
    assert (store.root / key).read_bytes() == source.read_bytes()
