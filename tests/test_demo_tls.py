"""The demo's SMTP TLS reports (dmarc_cli/demo_tls.py): mails a reporter would send, stored once each,
telling the story the demo prints (example.com ready for MTA-STS enforce, example.org not)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import athena_queries
from dmarc_cli.demo_tls import EXPIRED_DAYS, REPORTERS, write_tls_reports
from dmarc_store.backends.local import LocalStore
from dmarc_store.ingest.service import IngestService
from dmarc_store.query import DuckDBQueryRunner


def test_the_demo_tls_mails_are_stored_once_and_tell_their_story(tmp_path: Path) -> None:
    today = datetime.now(UTC).date()
    (tmp_path / "mails").mkdir()
    paths = write_tls_reports(tmp_path / "mails", today)
    assert len(paths) == 14 * 2 * len(REPORTERS)
    service = IngestService(LocalStore(tmp_path / "store"))
    results = [service.ingest(str(path), path.read_bytes()) for path in paths]
    assert [(result.new_tls, result.quarantined) for result in results] == [(1, [])] * len(paths)
    again = write_tls_reports(tmp_path / "mails", today)
    assert sum(service.ingest(str(path), path.read_bytes()).duplicate for path in again) == len(paths)
    runner = DuckDBQueryRunner(tmp_path / "store")
    try:
        rows = runner.run_saved(athena_queries.saved_query("mta_sts_readiness"), {"days": 30}).to_pylist()
    finally:
        runner.close()
    by_domain = {row["policy_domain"]: row for row in rows}
    assert by_domain["example.com"]["readiness"] == "ready"
    assert by_domain["example.org"]["readiness"] == "not ready"
    assert by_domain["example.org"]["failed_sessions"] == EXPIRED_DAYS * (180 + 60)
