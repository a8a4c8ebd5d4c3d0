"""dmarc_model/dns.py and `dmarc dns`: the records a domain owner publishes."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from dmarc_cli.main import cli
from dmarc_model.dns import (
    DnsRecord,
    DnsRecordError,
    authorisation_record,
    dmarc_record,
    mx_record,
    needs_authorisation,
    records_to_publish,
)
from dmarc_model.ses_regions import receiving_regions

RUA = "dmarc@reports.example.com"


def test_a_domain_without_a_policy_gets_a_monitoring_record_with_our_rua() -> None:
    record = dmarc_record("Example.COM.", RUA)
    assert (record.name, record.type) == ("_dmarc.example.com", "TXT")
    assert record.value == "v=DMARC1; p=none; rua=mailto:dmarc@reports.example.com"


def test_an_existing_policy_keeps_every_tag_and_gains_our_rua() -> None:
    existing = (
        "v=DMARC1; p=reject; sp=quarantine; pct=50; adkim=s; "
        "rua=mailto:old@example.org!10m; ruf=mailto:f@x.org"
    )
    record = dmarc_record("example.org", RUA, existing)
    assert record.value == (
        "v=DMARC1; p=reject; sp=quarantine; pct=50; adkim=s; "
        "rua=mailto:old@example.org!10m,mailto:dmarc@reports.example.com; ruf=mailto:f@x.org"
    )


def test_our_rua_is_not_added_twice() -> None:
    existing = '"v=DMARC1; p=quarantine; rua=mailto:DMARC@reports.example.com!5m"'
    assert dmarc_record("example.org", RUA, existing).value == (
        "v=DMARC1; p=quarantine; rua=mailto:DMARC@reports.example.com!5m"
    )


@pytest.mark.parametrize("policy", ["none", "QUARANTINE", "reject"])
def test_a_bare_policy_makes_a_record_with_it(policy: str) -> None:
    assert dmarc_record("example.com", f"mailto:{RUA}", policy).value.startswith(
        f"v=DMARC1; p={policy.lower()}; rua="
    )


@pytest.mark.parametrize(
    ("domain", "rua", "policy"),
    [
        ("not a domain", RUA, None),
        ("example.com", "no-at-sign", None),
        ("example.com", RUA, "p=reject"),  # v=DMARC1 must come first
        ("example.com", RUA, "v=DMARC1; rua=mailto:x@example.com"),  # no p=
        ("example.com", RUA, "v=DMARC1; p"),
    ],
)
def test_bad_input_is_refused_with_a_reason(domain: str, rua: str, policy: str | None) -> None:
    with pytest.raises(DnsRecordError):
        dmarc_record(domain, rua, policy)


def test_the_receiving_domain_gets_an_mx_to_ses_inbound_of_the_region() -> None:
    record = mx_record("reports.example.com", "eu-west-1")
    assert record.zone_line() == "reports.example.com. 3600 IN MX 10 inbound-smtp.eu-west-1.amazonaws.com."
    with pytest.raises(DnsRecordError):
        mx_record("reports.example.com", "moon-1")


@pytest.mark.parametrize("region", receiving_regions())
def test_every_region_with_ses_receiving_gets_its_inbound_smtp_mx(region: str) -> None:
    assert mx_record("reports.example.com", region).value == f"10 inbound-smtp.{region}.amazonaws.com."


@pytest.mark.parametrize("region", ["eu-south-1", "us-west-1", "ap-northeast-2", "sa-east-1"])
def test_no_mx_is_made_to_a_region_where_ses_receives_no_email(region: str) -> None:
    with pytest.raises(DnsRecordError) as refused:
        mx_record("reports.example.com", region)
    assert f"Amazon SES does not receive email in {region}" in str(refused.value)
    assert ", ".join(receiving_regions()) in str(refused.value)


def test_cli_refuses_a_region_without_ses_receiving_as_a_usage_error_naming_the_supported_ones() -> None:
    result = CliRunner().invoke(cli, ["dns", "example.com", "--rua", RUA, "--region", "eu-south-1"])
    assert result.exit_code == 2
    assert "inbound-smtp" not in result.output
    assert "Amazon SES does not receive email in eu-south-1: use one of us-east-1, " in result.output
    unset = CliRunner(env={"AWS_REGION": "us-west-1"}).invoke(cli, ["dns", "example.com", "--rua", RUA])
    assert unset.exit_code == 2  # the region from the environment is checked the same way
    assert "does not receive email in us-west-1" in unset.output


@pytest.mark.parametrize(
    ("domain", "receiving", "needed"),
    [
        ("example.com", "reports.example.com", False),
        ("example.com", "example.com", False),
        ("example.org", "reports.example.com", True),
        ("mail.example.com", "reports.example.com", True),  # conservative: extra record, no harm
        ("ample.com", "reports.example.com", True),
    ],
)
def test_external_destinations_need_an_authorisation_record(
    domain: str, receiving: str, needed: bool
) -> None:
    assert needs_authorisation(domain, receiving) is needed
    record = authorisation_record(domain, receiving)
    if needed:
        assert record == DnsRecord(
            f"{domain}._report._dmarc.{receiving}", "TXT", "v=DMARC1", record.purpose if record else ""
        )
    else:
        assert record is None


def test_all_three_records_for_an_external_domain() -> None:
    records = records_to_publish("example.org", RUA, "us-east-1")
    assert [record.zone_line() for record in records] == [
        '_dmarc.example.org. 3600 IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@reports.example.com"',
        "reports.example.com. 3600 IN MX 10 inbound-smtp.us-east-1.amazonaws.com.",
        'example.org._report._dmarc.reports.example.com. 3600 IN TXT "v=DMARC1"',
    ]


@given(st.text(alphabet='abc"\\; =', min_size=0, max_size=700))
def test_long_or_quoted_txt_values_split_into_strings_that_join_back(value: str) -> None:
    line = DnsRecord("_dmarc.example.com", "TXT", value, "").zone_line()
    data = line.split(" IN TXT ", 1)[1]
    quoted = re.findall(r'"((?:[^"\\]|\\.)*)"', data)
    assert " ".join(f'"{string}"' for string in quoted) == data
    strings = [re.sub(r"\\(.)", r"\1", string) for string in quoted]
    assert "".join(strings) == value
    assert all(len(string) <= 255 for string in strings)


def test_cli_prints_the_records_in_zone_file_syntax() -> None:
    result = CliRunner().invoke(
        cli,
        ["dns", "example.org", "--rua", RUA, "--policy", "v=DMARC1; p=quarantine", "--region", "eu-west-1"],
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if not line.startswith(";")]
    assert lines == [
        '_dmarc.example.org. 3600 IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@reports.example.com"',
        "reports.example.com. 3600 IN MX 10 inbound-smtp.eu-west-1.amazonaws.com.",
        'example.org._report._dmarc.reports.example.com. 3600 IN TXT "v=DMARC1"',
    ]


def test_cli_json_and_region_from_the_environment() -> None:
    result = CliRunner(env={"AWS_REGION": "ap-southeast-2"}).invoke(
        cli, ["dns", "example.com", "--rua", RUA, "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [row["type"] for row in rows] == ["TXT", "MX"]  # no authorisation: same domain
    assert rows[1]["value"] == "10 inbound-smtp.ap-southeast-2.amazonaws.com."


def test_cli_bad_input_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["dns", "example.com", "--rua", "nobody"])
    assert result.exit_code == 2
    assert "not an e-mail address" in result.output


def test_cli_lists_the_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "dns" in result.output


def test_dns_leaves_ruf_out_unless_asked_and_says_why() -> None:
    plain = CliRunner().invoke(cli, ["dns", "example.com", "--rua", RUA])
    assert plain.exit_code == 0, plain.output
    assert "ruf=" not in plain.output.split("no ruf= tag")[0]
    assert "; no ruf= tag: failure reports (RUF) carry personal data" in plain.output
    asked = CliRunner().invoke(cli, ["dns", "example.com", "--rua", RUA, "--ruf", "ruf@other.example.net"])
    assert asked.exit_code == 0, asked.output
    assert "rua=mailto:dmarc@reports.example.com; ruf=mailto:ruf@other.example.net" in asked.output
    assert "example.com._report._dmarc.other.example.net." in asked.output  # its authorisation too
    assert "no ruf= tag" not in asked.output
    kept = dmarc_record("example.org", RUA, "v=DMARC1; p=none; ruf=mailto:f@x.org", ruf=RUA)
    assert "; ruf=mailto:f@x.org,mailto:dmarc@reports.example.com;" in kept.value
