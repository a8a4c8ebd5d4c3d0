"""The reference data refresh: SPF walks into a netblock snapshot, the newest ASN table from a registry,
both published with a version under reference/ (locally and on S3 through moto), and read back by the
classifier; every failure keeps what was published.

DNS and the registry are injected: a dict of TXT records and a fake registry serving a tarball built
here (the real ones are never reached from a test).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dmarc_cli.main import cli
from dmarc_model.errors import ConfigurationError
from dmarc_model.senders.asn import AsnTable
from dmarc_model.senders.classify import Classifier
from dmarc_model.senders.reference import PACKAGE_RULES, load_reference
from dmarc_model.senders.snapshot import NetblockSnapshot, build_snapshot, with_snapshot
from dmarc_model.senders.spf import TxtAnswer, parse_spf, walk_spf
from dmarc_store.backends.objects import LocalObjects, Objects
from dmarc_store.errors import ReferenceSourceError
from dmarc_store.reference import sources
from dmarc_store.reference.published import CURRENT_KEY, published_files, read_published
from dmarc_store.reference.refresh import refresh_reference
from dmarc_store.senders import local_classifier

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 9, 6, 0, tzinfo=UTC)
REFERENCE = load_reference(PACKAGE_RULES)
SENDGRID_BLOCK = "198.51.100.0/24"
SENDGRID_IP = "198.51.100.7"


class Dns:
    """TXT records by name; a name missing is NXDOMAIN, a status string is that failure."""

    def __init__(self, records: Mapping[str, list[str] | str]) -> None:
        self.records = dict(records)
        self.asked: list[str] = []

    def __call__(self, name: str) -> TxtAnswer:
        self.asked.append(name)
        found = self.records.get(name)
        if found is None:
            return TxtAnswer("nxdomain")
        if isinstance(found, str):
            return TxtAnswer(found)
        return TxtAnswer("ok", tuple(found))


def dns_of_services(extra: Mapping[str, list[str] | str] | None = None) -> Dns:
    """Every service's includes answer with an empty SPF record, SendGrid's with a range."""
    records: dict[str, list[str] | str] = {
        name: ["v=spf1 -all"] for service in REFERENCE.services.values() for name in service.spf_includes
    }
    records["sendgrid.net"] = [f"v=spf1 ip4:{SENDGRID_BLOCK} include:_v6.sendgrid.net ~all", "google-site=x"]
    records["_v6.sendgrid.net"] = ["v=spf1 ip6:2001:db8:5::/48 -all"]
    records.update(extra or {})
    return Dns(records)


# --- the SPF walk -------------------------------------------------------------------------------------


def test_a_record_gives_its_ranges_includes_and_redirect() -> None:
    terms = parse_spf(
        "v=spf1 +ip4:192.0.2.1 -ip4:192.0.2.0/24 ~IP6:2001:DB8::/32 include:A.Example. a mx:x"
        " exists:%{i}.x ip4:999.1.1.1 redirect=_spf.Example.net"
    )
    assert terms.ranges == ("192.0.2.1/32", "192.0.2.0/24", "2001:db8::/32")
    assert terms.includes == ("a.example",)
    assert terms.redirect == "_spf.example.net"
    assert terms.skipped == 4  # a, mx, exists, and the range that is no address


def test_the_walk_follows_includes_and_redirects_once_each() -> None:
    dns = Dns(
        {
            "root.example": ["v=spf1 include:a.example include:b.example -all"],
            "a.example": ["v=spf1 ip4:192.0.2.0/25 include:root.example"],  # a loop back to the root
            "b.example": ["v=spf1 redirect=c.example"],
            "c.example": ["v=spf1 ip4:192.0.2.128/25 ip4:192.0.2.0/25"],
        }
    )
    walk = walk_spf(["root.example"], dns)
    assert walk.complete
    assert walk.ranges == ("192.0.2.0/25", "192.0.2.128/25")
    assert dns.asked == ["root.example", "a.example", "b.example", "c.example"]


@pytest.mark.parametrize("status", ["timeout", "servfail"])
def test_a_name_that_does_not_answer_is_a_failure_never_an_empty_record(status: str) -> None:
    walk = walk_spf(
        ["root.example"], Dns({"root.example": ["v=spf1 include:gone.example"], "gone.example": status})
    )
    assert not walk.complete
    assert walk.failures == (("gone.example", status),)


def test_no_such_name_or_two_spf_records_are_answers_without_ranges() -> None:
    dns = Dns({"two.example": ["v=spf1 ip4:192.0.2.1", "v=spf1 ip4:192.0.2.2"], "none.example": ["hello"]})
    walk = walk_spf(["missing.example", "two.example", "none.example"], dns)
    assert walk.complete
    assert walk.ranges == ()


def test_the_walk_stops_at_its_limit_and_says_so() -> None:
    chain = {f"n{i}.example": [f"v=spf1 ip4:10.0.{i}.0/24 include:n{i + 1}.example"] for i in range(100)}
    walk = walk_spf(["n0.example"], Dns(chain), max_lookups=5)
    assert len(walk.names) == 5
    assert walk.failures == (("<limit>", "5"),)


# --- the snapshot -------------------------------------------------------------------------------------


def test_the_snapshot_holds_each_services_ranges_and_the_classifier_uses_them() -> None:
    snapshot = build_snapshot(REFERENCE, dns_of_services(), "2026-12-02")
    assert snapshot.services["sendgrid"].ranges == (SENDGRID_BLOCK, "2001:db8:5::/48")
    assert not snapshot.failures
    reference = with_snapshot(REFERENCE, NetblockSnapshot.from_json(snapshot.to_json()))
    verdict = Classifier(reference, None).classify(_unsigned_record(SENDGRID_IP))
    assert (verdict.sender, verdict.confidence) == ("sendgrid", "medium")
    assert "netblocks" in " ".join(verdict.evidence)
    assert Classifier(REFERENCE, None).classify(_unsigned_record(SENDGRID_IP)).sender != "sendgrid"
    assert "netblocks=2026-12-02" in Classifier(reference, None).version


def test_a_failed_walk_keeps_the_previous_ranges_of_that_service() -> None:
    previous = build_snapshot(REFERENCE, dns_of_services(), "2026-12-02")
    snapshot = build_snapshot(
        REFERENCE, dns_of_services({"_v6.sendgrid.net": "timeout"}), "2026-12-09", previous
    )
    assert snapshot.services["sendgrid"] == previous.services["sendgrid"]
    assert snapshot.failures == {"sendgrid": (("_v6.sendgrid.net", "timeout"),)}
    assert snapshot.services["sendgrid"].as_of == "2026-12-02"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b'{"format": 2, "as_of": "x", "services": {}}',
        b'{"format": 1, "as_of": "x"}',
        b'{"format": 1, "as_of": "x", "services": {"s": {"ranges": ["not-a-range"]}}}',
    ],
)
def test_a_snapshot_that_does_not_read_is_a_configuration_error(body: bytes) -> None:
    with pytest.raises(ConfigurationError, match="netblock snapshot"):
        NetblockSnapshot.from_json(body)


# --- the ASN table from a registry --------------------------------------------------------------------


def _csv(rows: list[tuple[int, int, int, str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def tarball(v4: bytes | None = None, v6: bytes | None = None) -> bytes:
    members = {
        "package/asn-ipv4-num.csv": _csv([(3221225984, 3221226239, 64500, "Example Net")])
        if v4 is None
        else v4,
        "package/asn-ipv6-num.csv": _csv([(2**127, 2**127 + 255, 64501, "Example Six")])
        if v6 is None
        else v6,
        "package/package.json": b"{}",
    }
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


class Registry:
    """The npm registry's two answers: a package's latest metadata and its tarball."""

    def __init__(self, version: str, data: bytes, integrity: str | None = None) -> None:
        digest = base64.b64encode(hashlib.sha512(data).digest()).decode()
        self.tarball_url = f"https://registry.example/asn-{version}.tgz"
        self.metadata = {
            "version": version,
            "dist": {"tarball": self.tarball_url, "integrity": integrity or f"sha512-{digest}"},
        }
        self.data = data
        self.fetched: list[str] = []

    def __call__(self, url: str, max_bytes: int) -> bytes:
        self.fetched.append(url)
        if url.endswith("/latest"):
            return json.dumps(self.metadata).encode()
        assert url == self.tarball_url
        return self.data


def test_the_newest_release_is_checked_and_compiled_like_make_asn() -> None:
    registry = Registry("9.9.1", tarball())
    release = sources.latest_asn_release(registry)
    assert registry.fetched == ["https://registry.npmjs.org/@ip-location-db%2Fasn/latest"]
    table = AsnTable.from_bytes(sources.asn_table_from_tarball(release, registry, "2026-12-02").data)
    assert (table.version, table.build_date, table.source) == ("9.9.1", "2026-12-02", "@ip-location-db/asn")
    network = table.lookup("192.0.2.5")
    assert network is not None
    assert (network.asn, network.org) == (64500, "Example Net")
    assert table.lookup("8000::1") is not None


@pytest.mark.parametrize(
    ("registry", "message"),
    [
        (Registry("1", tarball(), integrity="sha512-AAAA"), "does not match its sha512"),
        (Registry("1", b"not a tarball"), "ReadError"),
        (Registry("1", tarball(v4=b"1,2\n")), "2 fields, expected start,end,asn,org"),
        (Registry("1", tarball(v4=b"9,1,5,x\n")), "bad IPv4 range"),
    ],
)
def test_a_bad_release_is_a_source_error(registry: Registry, message: str) -> None:
    release = sources.latest_asn_release(registry)
    with pytest.raises(ReferenceSourceError, match=message):
        sources.asn_table_from_tarball(release, registry, "2026-12-02")


@pytest.mark.parametrize(
    "body", [b"<html>", b"{}", b'{"version": "1", "dist": {"tarball": "x", "integrity": "sha1-x"}}']
)
def test_registry_metadata_that_is_not_a_release_is_a_source_error(body: bytes) -> None:
    with pytest.raises(ReferenceSourceError):
        sources.latest_asn_release(lambda url, most: body)


def test_http_fetch_refuses_anything_but_https() -> None:
    with pytest.raises(ReferenceSourceError, match="non-HTTPS"):
        sources.HttpFetch()("http://registry.npmjs.org/x", 10)


# --- publishing and reading back -----------------------------------------------------------------------


def refresh(objects: Objects, dns: Dns, registry: Registry | None, now: datetime = NOW) -> Any:
    return refresh_reference(objects, REFERENCE, lookup=dns, fetch=registry, now=now)


def test_a_refresh_publishes_both_parts_and_the_manifest_names_them(tmp_path: Path) -> None:
    objects = LocalObjects(tmp_path)
    result = refresh(objects, dns_of_services(), Registry("9.9.1", tarball()))
    assert (result.netblocks_changed, result.asn_changed, result.asn_error) == (True, True, None)
    published = read_published(objects)
    assert published is not None
    assert published.netblocks == "reference/netblocks/2026-12-02.json"
    assert (published.asn, published.asn_version) == ("reference/asn/9.9.1.bin", "9.9.1")
    assert objects.list("reference/") == [published.asn, CURRENT_KEY, published.netblocks]


def test_a_refresh_that_finds_nothing_new_writes_nothing(tmp_path: Path) -> None:
    objects = LocalObjects(tmp_path)
    refresh(objects, dns_of_services(), Registry("9.9.1", tarball()))
    manifest = objects.get(CURRENT_KEY)
    registry = Registry("9.9.1", tarball())
    result = refresh(objects, dns_of_services(), registry, now=LATER)
    assert (result.netblocks_changed, result.asn_changed) == (False, False)
    assert registry.fetched == ["https://registry.npmjs.org/@ip-location-db%2Fasn/latest"]  # no download
    assert objects.get(CURRENT_KEY) == manifest
    assert len(objects.list("reference/")) == 3


def test_failures_keep_what_was_published_and_say_what_failed(tmp_path: Path) -> None:
    objects = LocalObjects(tmp_path)
    refresh(objects, dns_of_services(), Registry("9.9.1", tarball()))
    before = read_published(objects)
    result = refresh(
        objects,
        dns_of_services({"sendgrid.net": "servfail"}),
        Registry("9.9.2", tarball(), integrity="sha512-AAAA"),
        now=LATER,
    )
    assert result.failures == {"sendgrid": [["sendgrid.net", "servfail"]]}
    assert result.asn_error is not None
    assert "sha512" in result.asn_error
    assert read_published(objects) == before
    snapshot = NetblockSnapshot.from_json(objects.get("reference/netblocks/2026-12-02.json"))
    assert snapshot.services["sendgrid"].ranges[0] == SENDGRID_BLOCK


def test_the_local_store_classifier_reads_what_was_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dmarc_store.settings import Settings

    for name in ("DMARC_SENDER_RULES", "DMARC_ASN_TABLE", "DMARC_SENDERS_FILE"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(store=tmp_path)
    assert local_classifier(settings).classify(_unsigned_record(SENDGRID_IP)).sender != "sendgrid"
    refresh(LocalObjects(tmp_path), dns_of_services(), Registry("9.9.1", tarball()))
    classifier = local_classifier(settings)
    assert classifier.version.endswith("netblocks=2026-12-02;asn=9.9.1")
    assert classifier.classify(_unsigned_record(SENDGRID_IP)).sender == "sendgrid"
    network = classifier.networks.lookup("192.0.2.1") if classifier.networks else None
    assert network is not None
    assert network.asn == 64500


@pytest.mark.parametrize(
    "manifest",
    [
        b"not json",
        b'{"netblocks": "../../etc/passwd", "asn": "parquet/x.bin"}',
        b'{"asn": "reference/asn/gone.bin"}',
    ],
)
def test_a_bad_manifest_leaves_the_package_data(tmp_path: Path, manifest: bytes) -> None:
    objects = LocalObjects(tmp_path)
    objects.put(CURRENT_KEY, manifest)
    files = published_files(objects, tmp_path / "cache")
    assert (files.netblocks, files.asn_table) == (None, None)


def test_a_corrupt_published_table_falls_back_to_the_package_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dmarc_store.settings import Settings

    for name in ("DMARC_SENDER_RULES", "DMARC_ASN_TABLE", "DMARC_SENDERS_FILE"):
        monkeypatch.delenv(name, raising=False)
    objects = LocalObjects(tmp_path)
    refresh(objects, dns_of_services(), Registry("9.9.1", tarball()))
    objects.put("reference/asn/9.9.1.bin", b"DMARCASN broken")
    classifier = local_classifier(Settings(store=tmp_path))
    assert "asn=9.9.1" not in classifier.version


@pytest.mark.usefixtures("aws")
def test_on_aws_ingest_names_senders_with_the_snapshot_in_the_bucket() -> None:
    import boto3

    from dmarc_store.backends.objects import S3Objects
    from dmarc_store.connect import aws_classifier
    from dmarc_store.settings import get_settings
    from tests import aws_support as kit

    objects = S3Objects(boto3.client("s3", region_name=kit.REGION), kit.BUCKET)
    refresh(objects, dns_of_services(), Registry("9.9.1", tarball()))
    assert kit.list_keys("reference/") == [
        "reference/asn/9.9.1.bin",
        CURRENT_KEY,
        "reference/netblocks/2026-12-02.json",
    ]
    classifier = aws_classifier(get_settings())
    assert classifier.version.endswith("netblocks=2026-12-02;asn=9.9.1")
    assert classifier.classify(_unsigned_record(SENDGRID_IP)).sender == "sendgrid"


@pytest.mark.usefixtures("aws")
def test_the_refresh_function_publishes_to_the_bucket(
    monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    from handlers import refresh as handler
    from tests import aws_support as kit

    monkeypatch.setattr(sources, "DnsTxt", lambda: dns_of_services())
    monkeypatch.setattr(sources, "HttpFetch", lambda: Registry("9.9.1", tarball()))
    result = handler.handler({}, lambda_context)
    assert result["netblocks_changed"]
    assert result["asn_changed"]
    assert result["manifest"]["asn_version"] == "9.9.1"
    assert CURRENT_KEY in kit.list_keys("reference/")


# --- the CLI ----------------------------------------------------------------------------------------


@pytest.fixture
def offline_sources(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    chosen: dict[str, Any] = {"dns": dns_of_services(), "registry": Registry("9.9.1", tarball())}
    monkeypatch.setattr(sources, "DnsTxt", lambda: chosen["dns"])
    monkeypatch.setattr(sources, "HttpFetch", lambda: chosen["registry"])
    return chosen


def _cli(*args: str) -> Any:
    from dmarc_store.settings import get_settings

    get_settings.cache_clear()
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_dmarc_refresh_publishes_into_the_store_and_says_what_to_run_next(
    tmp_path: Path, offline_sources: Any
) -> None:
    (tmp_path / "store").mkdir()
    result = _cli("refresh", "--store", str(tmp_path / "store"))
    assert result.exit_code == 0, result.output
    services = sum(1 for service in REFERENCE.services.values() if service.spf_includes)
    assert f"Netblocks: 2 ranges of {services} services (new snapshot)." in result.output
    assert "Network table: @ip-location-db/asn 9.9.1 (new)." in result.output
    assert "Run `dmarc classify`" in result.output
    again = _cli("refresh", "--store", str(tmp_path / "store"), "--json")
    body = json.loads(again.output)
    assert (body["netblocks_changed"], body["asn_changed"], again.exit_code) == (False, False, 0)


def test_dmarc_refresh_exits_1_when_a_part_failed(tmp_path: Path, offline_sources: Any) -> None:
    (tmp_path / "store").mkdir()
    offline_sources["dns"] = dns_of_services({"sendgrid.net": "timeout"})
    result = _cli("refresh", "--store", str(tmp_path / "store"), "--netblocks-only")
    assert result.exit_code == 1
    assert "sendgrid: not refreshed (sendgrid.net timeout); its previous ranges kept" in result.output
    assert offline_sources["registry"].fetched == []


def test_dmarc_refresh_without_a_store_exits_3(tmp_path: Path, offline_sources: Any) -> None:
    result = _cli("refresh", "--store", str(tmp_path / "none"))
    assert result.exit_code == 3


def _unsigned_record(ip: str) -> dict[str, Any]:
    return {
        "source_ip": ip,
        "header_from": "example.com",
        "envelope_from": "example.com",
        "policy_dkim": "fail",
        "policy_spf": "fail",
        "reasons": [],
        "dkim_results": [],
        "spf_results": [{"domain": "example.com", "scope": "mfrom", "result": "fail", "human_result": None}],
    }
