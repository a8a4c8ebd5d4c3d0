"""One retention, by the report's date: what is kept, what is accepted, what Athena shows, what lookups
return (dmarc_store.retention, dmarc_store.lookup). Pruning itself: tests/test_prune.py."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmarc_store.backends.local import LocalStore
from dmarc_store.ingest.service import IngestService
from dmarc_store.lookup import lookup_dynamodb, lookup_local
from dmarc_store.retention import (
    EARLIEST_REPORT_DATE,
    ReportWindow,
    accepted_window,
    expires_at,
    first_kept_day,
    is_expired,
    projection_range,
)
from dmarc_store.settings import Settings
from tests import aws_support as kit
from tests.helpers import REPO

TODAY = date(2026, 6, 30)
IP = "192.0.2.77"


def report_xml(day: date, report_id: str, ip: str = IP, count: int = 3) -> bytes:
    """A one-record report whose period is the UTC day `day`."""
    begin = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    return f"""<?xml version="1.0"?>
<feedback><report_metadata><org_name>Reporter</org_name><email>a@b.c</email>
<report_id>{report_id}</report_id><date_range><begin>{begin}</begin><end>{begin + 86399}</end></date_range>
</report_metadata><policy_published><domain>example.com</domain><p>none</p></policy_published>
<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated><disposition>none</disposition>
<dkim>pass</dkim><spf>pass</spf></policy_evaluated></row><identifiers><header_from>example.com</header_from>
</identifiers><auth_results><spf><domain>example.com</domain><result>pass</result></spf></auth_results></record>
</feedback>""".encode()


def arrived_the_day_after(day: date) -> datetime:
    """The clock of an ingest that ran when such a report arrives (inside the accepted window then)."""
    return datetime(day.year, day.month, day.day, 6, tzinfo=UTC) + timedelta(days=1)


def midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


# ------------------------------------------------------------------------------------- the date rules


def test_a_report_is_kept_for_n_days_counting_its_own_day() -> None:
    assert first_kept_day(30, TODAY) == TODAY - timedelta(days=29)
    assert first_kept_day(0, TODAY) is None
    assert not is_expired(30, TODAY - timedelta(days=29), TODAY)
    assert is_expired(30, "2026-05-31", TODAY)  # 30 days before TODAY
    assert not is_expired(0, "1970-01-01", TODAY)


def test_dynamodb_ttl_is_midnight_utc_of_the_report_date_plus_n_days() -> None:
    assert expires_at(30, "2026-05-31") == midnight(TODAY)
    assert expires_at(30, date(2026, 5, 31)) == midnight(date(2026, 6, 30))
    assert expires_at(0, "2026-05-31") is None


@given(
    day=st.dates(min_value=date(2012, 1, 1), max_value=date(2040, 1, 1)),
    today=st.dates(min_value=date(2012, 1, 1), max_value=date(2040, 1, 1)),
    retention=st.integers(min_value=1, max_value=4000),
)
def test_ttl_prune_and_the_accepted_window_agree_on_every_day(day: date, today: date, retention: int) -> None:
    """Expired by date (prune, local lookups) <=> expired by TTL (DynamoDB, its lookups) on that day;
    and nothing expired is accepted, so an expired report can never be stored again as new."""
    ttl = expires_at(retention, day)
    assert ttl is not None
    assert is_expired(retention, day, today) == (ttl <= midnight(today))
    first, last = ReportWindow(EARLIEST_REPORT_DATE, retention).bounds(today)
    accepted = first <= day <= last
    assert accepted == (not is_expired(retention, day, today) and day <= today)
    if accepted:
        assert ttl > midnight(today)


def test_the_accepted_window_ends_today_and_starts_at_the_later_of_the_earliest_date_and_retention() -> None:
    assert accepted_window(Settings(), TODAY) == (date(1970, 1, 1), TODAY)
    assert accepted_window(Settings(retention_days=30), TODAY) == (TODAY - timedelta(days=29), TODAY)
    late_start = Settings(retention_days=3650, earliest_report_date=date(2025, 1, 1))
    assert accepted_window(late_start, TODAY) == (date(2025, 1, 1), TODAY)


def test_a_report_outside_the_window_is_refused_with_a_reason_that_names_the_setting() -> None:
    window = ReportWindow(EARLIEST_REPORT_DATE, 30)
    assert window.refusal(TODAY, TODAY) is None
    assert window.refusal(TODAY - timedelta(days=29), TODAY) is None
    expired = window.refusal(TODAY - timedelta(days=30), TODAY)
    assert expired is not None
    assert "DMARC_RETENTION_DAYS" in expired
    assert "2026-05-31" in expired
    future = window.refusal(TODAY + timedelta(days=1), TODAY)
    assert future is not None
    assert "after today" in future
    too_old = ReportWindow(date(2012, 1, 1)).refusal("2011-12-31", TODAY)
    assert too_old is not None
    assert "DMARC_EARLIEST_REPORT_DATE" in too_old


def test_the_athena_projection_covers_exactly_the_accepted_days() -> None:
    assert projection_range(Settings()) == "1970-01-01,NOW"
    assert projection_range(Settings(retention_days=400)) == "NOW-399DAYS,NOW"
    assert projection_range(Settings(earliest_report_date=date(2016, 2, 29))) == "2016-02-29,NOW"


def test_the_stack_computes_the_projection_range_the_settings_do() -> None:
    cases = [(0, "2012-01-01"), (7, "2012-01-01"), (400, "2012-01-01"), (0, "2019-03-04")]
    script = (
        "const c = require('./deploy/config.js');"
        f"console.log(JSON.stringify({json.dumps(cases)}.map(([n, d]) => c.projectionRange(n, d))));"
    )
    done = subprocess.run(["node", "-e", script], cwd=REPO, capture_output=True, text=True, check=True)
    expected = [
        projection_range(Settings(retention_days=n, earliest_report_date=date.fromisoformat(d)))
        for n, d in cases
    ]
    assert json.loads(done.stdout) == expected


def test_the_earliest_report_date_is_a_setting_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DMARC_EARLIEST_REPORT_DATE", "2014-05-06")
    assert Settings().earliest_report_date == date(2014, 5, 6)


# ------------------------------------------------------------------------------------------ lookups


def _ingest_local(root: Path, day: date, report_id: str) -> None:
    service = IngestService(LocalStore(root), clock=lambda: arrived_the_day_after(day))
    assert service.ingest(f"{report_id}.xml", report_xml(day, report_id)).new == 1


def test_local_lookup_skips_reports_whose_retention_has_passed_before_they_are_pruned(tmp_path: Path) -> None:
    root = tmp_path / "store"
    _ingest_local(root, TODAY - timedelta(days=30), "expired")
    _ingest_local(root, TODAY - timedelta(days=29), "last-day")
    rows = list(lookup_local(root, IP, retention_days=30, today=TODAY))
    assert [row["report_id"] for row in rows] == ["last-day"]
    since_long_ago = lookup_local(root, IP, since=date(2020, 1, 1), retention_days=30, today=TODAY)
    assert [row["report_id"] for row in since_long_ago] == ["last-day"]
    kept_forever = lookup_local(root, IP, retention_days=0, today=TODAY)
    assert sorted(row["report_id"] for row in kept_forever) == ["expired", "last-day"]


def test_dmarc_lookup_follows_dmarc_retention_days(tmp_path: Path) -> None:
    root = tmp_path / "store"
    today = datetime.now(UTC).date()
    _ingest_local(root, today - timedelta(days=40), "expired")
    _ingest_local(root, today - timedelta(days=5), "recent")
    environment = {"DMARC_RETENTION_DAYS": "30", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [str(REPO / ".venv/bin/dmarc"), "lookup", IP, "--store", str(root)],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
    )
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["report_id"] for line in done.stdout.splitlines()] == ["recent"]


def _ingest_aws(day: date, report_id: str, retention_days: int) -> None:
    from dmarc_store.connect import aws_store

    settings = Settings(bucket=kit.BUCKET, table=kit.TABLE, retention_days=retention_days)
    service = IngestService(aws_store(settings), clock=lambda: arrived_the_day_after(day))
    assert service.ingest(f"{report_id}.xml", report_xml(day, report_id)).new == 1


@pytest.mark.usefixtures("aws")
def test_dynamodb_lookup_skips_items_past_their_ttl_that_dynamodb_has_not_deleted_yet() -> None:
    """moto never deletes expired items, as DynamoDB may not for up to two days."""
    day = TODAY - timedelta(days=60)
    _ingest_aws(day, "old", retention_days=30)
    dynamodb = boto3.client("dynamodb", region_name=kit.REGION)
    ttl = next(item["expires_at"] for item in kit.scan_all() if item["SK"].startswith("REC#"))
    before = datetime.fromtimestamp(int(ttl) - 60, tz=UTC)
    after = datetime.fromtimestamp(int(ttl), tz=UTC)
    # retention_days=0: only the items' own expires_at decides, whatever the setting is now
    assert [
        row["report_id"] for row in lookup_dynamodb(dynamodb, kit.TABLE, IP, retention_days=0, now=before)
    ]
    assert list(lookup_dynamodb(dynamodb, kit.TABLE, IP, retention_days=0, now=after)) == []


@pytest.mark.usefixtures("aws")
def test_dynamodb_lookup_skips_items_stored_without_ttl_once_retention_is_on() -> None:
    """Items written while DMARC_RETENTION_DAYS was 0 have no expires_at: the date decides for them."""
    _ingest_aws(TODAY - timedelta(days=60), "old", retention_days=0)
    _ingest_aws(TODAY - timedelta(days=3), "recent", retention_days=0)
    dynamodb = boto3.client("dynamodb", region_name=kit.REGION)
    now = datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=UTC)
    rows = lookup_dynamodb(dynamodb, kit.TABLE, IP, retention_days=30, now=now)
    assert [row["report_id"] for row in rows] == ["recent"]
    everything = lookup_dynamodb(dynamodb, kit.TABLE, IP, retention_days=0, now=now)
    assert sorted(row["report_id"] for row in everything) == ["old", "recent"]


@pytest.mark.usefixtures("aws")
def test_the_lookup_lambda_follows_dmarc_retention_days(
    monkeypatch: pytest.MonkeyPatch, lambda_context: object
) -> None:
    from dmarc_store.settings import get_settings
    from handlers import lookup

    today = datetime.now(UTC).date()
    _ingest_aws(today - timedelta(days=40), "expired", retention_days=0)
    _ingest_aws(today - timedelta(days=5), "recent", retention_days=0)
    monkeypatch.setenv("DMARC_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    lookup.dynamodb.cache_clear()
    try:
        response = lookup.handler({"ip": IP}, lambda_context)  # type: ignore[arg-type]
    finally:
        lookup.dynamodb.cache_clear()
    assert [record["report_id"] for record in response["records"]] == ["recent"]
