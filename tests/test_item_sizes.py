"""Sizes are checked before any write: nothing is stranded half-stored by DynamoDB's limits.

A record item over 400 KB (thousands of auth results) or a META over it (thousands of warnings) is
stored with its bulky attributes in Parquet only, named in `parquet_only`; a policy domain longer than
a domain name can be (and than DynamoDB's keys hold) refuses the report before anything is written.
"""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dmarc_store.backends.dynamo_items import ITEM_LIMIT, PARQUET_ONLY, fit_item, item_size
from dmarc_store.backends.local import LocalStore
from dmarc_store.ingest.service import IngestService
from tests import aws_support as kit


def report(domain: str = "example.com", dkim: int = 1, distinct_unknown: int = 0) -> bytes:
    signatures = "".join(
        f"<dkim><domain>signer-{n}.example.net</domain><selector>selector-{n:05d}</selector>"
        f"<result>pass</result><human_result>{'h' * 60}</human_result></dkim>"
        for n in range(dkim)
    )
    records = [
        "<record><row><source_ip>192.0.2.1</source_ip><count>2</count><policy_evaluated>"
        "<disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>"
        f"<identifiers><header_from>{domain}</header_from></identifiers>"
        f"<auth_results>{signatures}<spf><domain>{domain}</domain><result>pass</result></spf>"
        "</auth_results></record>"
    ]
    records += [
        f"<record><row><source_ip>192.0.2.2</source_ip><count>1</count><policy_evaluated>"
        f"<disposition>none</disposition><dkim>odd-value-{n:06d}-{'x' * 40}</dkim><spf>pass</spf>"
        "</policy_evaluated></row><identifiers><header_from>example.com</header_from></identifiers>"
        "</record>"
        for n in range(distinct_unknown)
    ]
    return (
        "<feedback><report_metadata><org_name>Sizes</org_name><email>r@example.net</email>"
        "<report_id>size-1</report_id><date_range><begin>1735689600</begin><end>1735775999</end>"
        f"</date_range></report_metadata><policy_published><domain>{domain}</domain><p>none</p>"
        f"</policy_published>{''.join(records)}</feedback>"
    ).encode()


def _parquet_rows(table: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for key in kit.list_keys(f"parquet/{table}/"):
        rows += pq.read_table(io.BytesIO(kit.get_object(key))).to_pylist()
    return rows


def test_fitting_leaves_out_the_bulky_attributes_first_and_names_them() -> None:
    item = {"PK": "REPORT#k", "SK": "REC#000000", "dkim_results": ["x" * 1000] * 500, "header_from": "a"}
    fitted = fit_item(dict(item), ("dkim_results", "header_from"))
    assert item_size(fitted) <= ITEM_LIMIT
    assert fitted[PARQUET_ONLY] == ["dkim_results"]
    assert fitted["header_from"] == "a"
    small = {"PK": "REPORT#k", "SK": "META", "warnings": ["w"]}
    assert fit_item(dict(small), ("warnings",)) == small


@pytest.mark.usefixtures("aws")
def test_a_record_with_thousands_of_auth_results_is_stored_whole_in_parquet(tmp_path: Path) -> None:
    from dmarc_store.connect import aws_store
    from dmarc_store.settings import get_settings

    result = IngestService(aws_store(get_settings())).ingest("uploads/big.xml", report(dkim=4000))
    assert result.new == 1
    (item,) = [item for item in kit.record_items() if item["source_ip"] == "192.0.2.1"]
    assert "dkim_results" in item[PARQUET_ONLY]
    assert "dkim_results" not in item
    (row,) = [row for row in _parquet_rows("records") if row["source_ip"] == "192.0.2.1"]
    assert len(row["dkim_results"]) == 4000  # type: ignore[arg-type]
    metas = [item for item in kit.scan_all() if item["SK"] == "META"]
    assert [meta["status"] for meta in metas] == ["COMPLETE"]


@pytest.mark.usefixtures("aws")
def test_a_report_with_thousands_of_warnings_completes_with_them_in_parquet_only() -> None:
    from dmarc_store.connect import aws_store
    from dmarc_store.settings import get_settings

    result = IngestService(aws_store(get_settings())).ingest(
        "uploads/noisy.xml", report(distinct_unknown=6000)
    )
    assert result.new == 1
    (meta,) = [item for item in kit.scan_all() if item["SK"] == "META"]
    assert meta["status"] == "COMPLETE"
    (row,) = _parquet_rows("reports")
    assert len(row["warnings"]) == 6000  # type: ignore[arg-type]  # 612 kB of them: too many for META
    assert "warnings" in meta[PARQUET_ONLY]
    assert "warnings" not in meta
    assert int(meta["record_count"]) == 6001


@pytest.mark.parametrize("backend", ["local", "aws"])
def test_a_policy_domain_longer_than_dns_allows_is_refused_before_any_write(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    domain = ("a" * 60 + ".") * 5 + "example"
    if backend == "local":
        service = IngestService(LocalStore(tmp_path / "store"))
    else:
        request.getfixturevalue("aws")
        from dmarc_store.connect import aws_store
        from dmarc_store.settings import get_settings

        service = IngestService(aws_store(get_settings()))
    result = service.ingest("uploads/long.xml", report(domain=domain))
    assert result.new == 0
    assert [piece.reason for piece in result.quarantined] == ["schema-violation"]
    assert "RFC 1035" in result.quarantined[0].detail
    if backend == "aws":
        assert [item for item in kit.scan_all() if item["SK"] == "META"] == []
        assert kit.list_keys("parquet/") == []
    else:
        assert not (tmp_path / "store" / "parquet").exists()


def test_the_item_limit_is_within_dynamodbs() -> None:
    assert ITEM_LIMIT <= 400 * 1024
