"""Lookups by source IP, from the DynamoDB index (moto) and from the local store, with the same rows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import boto3
import pytest

from dmarc_store.backends.local import LocalStore
from dmarc_store.ingest.service import IngestService
from dmarc_store.lookup import LOOKUP_FIELDS, lookup_dynamodb, lookup_local
from tests import aws_support as kit
from tests import hostile

JAN_1 = 1735689600
DAY = 86400


def _report(begin: int, ip: str, count: int, report_id: str) -> bytes:
    xml = hostile.xml_with_entities("Reporter", "")
    return (
        xml.replace(b"192.0.2.1", ip.encode())
        .replace(b"<count>1</count>", f"<count>{count}</count>".encode())
        .replace(b"1700000000", str(begin).encode())
        .replace(b"1700086399", str(begin + DAY - 1).encode())
        .replace(b"<report_id>1</report_id>", f"<report_id>{report_id}</report_id>".encode())
    )


def _ingest_three(service: IngestService) -> None:
    service.ingest("a.xml", _report(JAN_1, "2001:db8::1", 5, "a"))
    service.ingest("b.xml", _report(JAN_1 + 10 * DAY, "2001:DB8:0:0::1", 7, "b"))
    service.ingest("c.xml", _report(JAN_1, "192.0.2.99", 11, "c"))


@pytest.mark.usefixtures("aws")
def test_dynamodb_lookup_uses_the_index_and_filters_by_date() -> None:
    from dmarc_store.connect import aws_store
    from dmarc_store.settings import get_settings

    _ingest_three(IngestService(aws_store(get_settings())))
    dynamodb = boto3.client("dynamodb", region_name=kit.REGION)
    rows = list(lookup_dynamodb(dynamodb, kit.TABLE, "2001:0db8::0001"))
    assert sorted(row["message_count"] for row in rows) == [5, 7]
    assert set(rows[0]) == set(LOOKUP_FIELDS)
    january_first = list(
        lookup_dynamodb(dynamodb, kit.TABLE, "2001:db8::1", date(2025, 1, 1), date(2025, 1, 2))
    )
    assert [row["report_id"] for row in january_first] == ["a"]


def test_local_lookup_gives_the_same_rows(tmp_path: Path) -> None:
    root = tmp_path / "store"
    _ingest_three(IngestService(LocalStore(root)))
    rows = list(lookup_local(root, "2001:db8::1"))
    assert [(row["report_id"], row["message_count"]) for row in rows] == [("a", 5), ("b", 7)]
    assert set(rows[0]) == set(LOOKUP_FIELDS)
    assert rows[0]["begin"] == "2025-01-01T00:00:00Z"
    assert list(lookup_local(root, "2001:db8::1", since=date(2025, 1, 5))) == rows[1:]


def test_a_bad_ip_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"not an IP address: '300\.1\.1\.1'"):
        list(lookup_local(tmp_path, "300.1.1.1"))
