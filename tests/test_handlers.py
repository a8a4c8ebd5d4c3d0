"""The lookup and compaction Lambdas on moto: thin entry points over the services."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from dmarc_model.errors import UsageError
from dmarc_store.layout import TABLES
from tests import aws_support as kit
from tests.helpers import make_report

pytestmark = pytest.mark.usefixtures("aws")


def _ingest(tmp_path: Path, seeds: range, begin: int = 1735689600) -> int:
    from dmarc_store.connect import aws_store, ingest_service
    from dmarc_store.settings import get_settings

    service = ingest_service(aws_store(get_settings()), get_settings())
    total = 0
    for seed in seeds:
        out = tmp_path / f"r{seed}.xml"
        total += make_report(out, 20, seed, "--begin", str(begin))["message_total"]
        service.ingest(f"uploads/r{seed}.xml", out.read_bytes())
    return total


def test_lookup_handler_returns_every_record_of_the_ip(tmp_path: Path, lambda_context: object) -> None:
    from handlers import lookup

    _ingest(tmp_path, range(3))
    some_ip = kit.record_items()[0]["source_ip"]
    expected = sum(int(item["message_count"]) for item in kit.record_items() if item["source_ip"] == some_ip)
    lookup.dynamodb.cache_clear()
    response = lookup.handler({"ip": some_ip, "since": "2025-01-01", "until": "2025-01-01"}, lambda_context)  # type: ignore[arg-type]
    assert sum(record["message_count"] for record in response["records"]) == expected
    assert lookup.handler({"ip": "nope"}, lambda_context)["error"].startswith("bad request")  # type: ignore[arg-type]


def test_compact_handler_merges_closed_days_only(tmp_path: Path, lambda_context: object) -> None:
    from handlers import compact

    today = datetime.now(UTC).date()
    closed, still_open = today - timedelta(days=5), today
    _ingest(tmp_path, range(3), begin=int(datetime.combine(closed, time(), UTC).timestamp()))
    _ingest(tmp_path, range(3, 5), begin=int(datetime.combine(still_open, time(), UTC).timestamp()))
    response = compact.handler({}, lambda_context)  # type: ignore[arg-type]
    assert {(c["table"], c["dt"], c["merged"]) for c in response["compacted"]} == {
        (table, closed.isoformat(), 3) for table in TABLES
    }
    assert len(kit.list_keys(f"parquet/records/dt={closed.isoformat()}/")) == 1
    assert len(kit.list_keys(f"parquet/records/dt={still_open.isoformat()}/")) == 2


def test_classify_handler_rewrites_each_day_s_verdicts_into_one_file(
    tmp_path: Path, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers import classify

    monkeypatch.setattr(lambda_context, "get_remaining_time_in_millis", lambda: 800_000)
    day = datetime(2025, 1, 1, tzinfo=UTC)
    _ingest(tmp_path, range(3), begin=int(day.timestamp()))
    before = kit.list_keys("parquet/record_senders/dt=2025-01-01/")
    assert len(before) == 3
    response = classify.handler({"since": "2025-01-01"}, lambda_context)  # type: ignore[arg-type]
    assert response["next"] is None
    [done] = response["done"]
    assert (done["dt"], done["records"]) == ("2025-01-01", 60)
    (only,) = kit.list_keys("parquet/record_senders/dt=2025-01-01/")
    assert only not in before
    assert len(kit.list_keys("parquet/records/dt=2025-01-01/")) == 3  # the records are untouched


def test_classify_handler_stops_before_its_deadline_and_names_the_day_to_go_on_from(
    tmp_path: Path, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers import classify

    _ingest(tmp_path, range(2), begin=int(datetime(2025, 1, 1, tzinfo=UTC).timestamp()))
    _ingest(tmp_path, range(2, 4), begin=int(datetime(2025, 1, 2, tzinfo=UTC).timestamp()))
    monkeypatch.setattr(lambda_context, "get_remaining_time_in_millis", lambda: 10_000)
    response = classify.handler({}, lambda_context)
    assert (response["done"], response["next"]) == ([], "2025-01-01")
    with pytest.raises(UsageError, match="YYYY-MM-DD"):
        classify.handler({"since": "yesterday"}, lambda_context)
