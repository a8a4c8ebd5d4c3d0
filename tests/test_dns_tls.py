"""dmarc_model/dns_tls.py and `dmarc dns --tlsrpt / --mta-sts`: SMTP TLS reporting and MTA-STS.

The policy file is read back by a parser of RFC 8461 section 3.2's grammar, written here and not in
the product: what we print must be what a sender would accept.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from dmarc_cli.main import cli
from dmarc_model.dns import DnsRecordError
from dmarc_model.dns_tls import (
    DEFAULT_MAX_AGE,
    MAX_AGE_LIMIT,
    MtaStsPolicy,
    mta_sts_record,
    tlsrpt_record,
    tlsrpt_records,
)

RUA = "dmarc@reports.example.com"
POLICY_URL = "https://mta-sts.example.com/.well-known/mta-sts.txt"

# --- RFC 8461 section 3.2, the policy file; RFC 5321 section 4.1.2, Domain --------------------------

_LET_DIG = "[A-Za-z0-9]"
_SUB_DOMAIN = rf"{_LET_DIG}(?:[A-Za-z0-9-]*{_LET_DIG})?"
_DOMAIN = rf"{_SUB_DOMAIN}(?:\.{_SUB_DOMAIN})*"
_VALUES = {
    "version": re.compile(r"STSv1"),
    "mode": re.compile(r"testing|enforce|none"),
    "mx": re.compile(rf"(?:\*\.)?{_DOMAIN}"),
    "max_age": re.compile(r"[0-9]{1,10}"),
}
_FIELD = re.compile(r"([A-Za-z0-9][A-Za-z0-9_.-]{0,31}):[ \t]*(.*?)[ \t]*")
_TERM = re.compile(r"\r?\n")


def parse_policy(text: str) -> dict[str, list[str]]:
    """The fields of an MTA-STS policy, by name, after checking it against the RFC 8461 grammar:
    `field ":" *WSP value`, lines ended by LF or CRLF, version, mode and max_age once each, mx at
    least once unless the mode is none, max_age at most 31557600."""
    fields: dict[str, list[str]] = {}
    lines = _TERM.split(text)
    if lines[-1] == "":
        lines.pop()  # the last sts-policy-term is optional
    for line in lines:
        match = _FIELD.fullmatch(line)
        assert match, f"not a policy field: {line!r}"
        name, value = match.groups()
        pattern = _VALUES.get(name)
        assert pattern is None or pattern.fullmatch(value), f"bad {name}: {value!r}"
        fields.setdefault(name, []).append(value)
    for name in ("version", "mode", "max_age"):
        assert len(fields.get(name, [])) == 1, f"{name} must appear once"
    assert fields["mode"] == ["none"] or fields.get("mx"), "mx is required unless mode is none"
    assert int(fields["max_age"][0]) <= MAX_AGE_LIMIT
    return fields


def test_the_grammar_parser_refuses_what_rfc_8461_refuses() -> None:
    good = "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 86400\n"
    assert parse_policy(good)["mx"] == ["mail.example.com"]
    for bad in (
        "version: STSv1\nmode: enforce\nmax_age: 86400\n",  # no mx
        "version: STSv2\nmode: none\nmax_age: 86400\n",
        "version: STSv1\nmode: none\nmax_age: 12345678901\n",
        "version: STSv1\nmode: enforce\nmx: mail.*.example.com\nmax_age: 1\n",
        "version: STSv1\nversion: STSv1\nmode: none\nmax_age: 1\n",
        "version STSv1\nmode: none\nmax_age: 1\n",
    ):
        with pytest.raises(AssertionError):
            parse_policy(bad)


# --- TLS reporting (RFC 8460) -------------------------------------------------------------------------

_TLSRPT = re.compile(r"v=TLSRPTv1(?:[ \t]*;[ \t]*rua=mailto:[^,;\s]+@[^,;\s]+)+[ \t]*;?")


def test_the_tlsrpt_record_sends_tls_reports_to_the_address() -> None:
    record = tlsrpt_record("Example.COM.", "mailto:DMARC@Reports.Example.com")
    assert record.zone_line() == (
        '_smtp._tls.example.com. 3600 IN TXT "v=TLSRPTv1; rua=mailto:dmarc@reports.example.com"'
    )
    assert _TLSRPT.fullmatch(record.value)


def test_tls_reports_to_the_rua_domain_need_no_second_mx() -> None:
    records = tlsrpt_records("example.com", RUA, "eu-west-1", ["reports.example.com"])
    assert [record.type for record in records] == ["TXT"]


def test_tls_reports_to_another_domain_get_its_mx_too() -> None:
    records = tlsrpt_records("example.com", "tls@tls.example.net", "eu-west-1", ["reports.example.com"])
    assert [record.zone_line() for record in records] == [
        '_smtp._tls.example.com. 3600 IN TXT "v=TLSRPTv1; rua=mailto:tls@tls.example.net"',
        "tls.example.net. 3600 IN MX 10 inbound-smtp.eu-west-1.amazonaws.com.",
    ]


def test_the_tls_reports_mx_too_is_refused_in_a_region_where_ses_receives_no_email() -> None:
    with pytest.raises(DnsRecordError, match="Amazon SES does not receive email in eu-south-1"):
        tlsrpt_records("example.com", "tls@tls.example.net", "eu-south-1", ["reports.example.com"])


@pytest.mark.parametrize(("domain", "address"), [("not a domain", RUA), ("example.com", "no-at-sign")])
def test_a_bad_tlsrpt_input_is_refused(domain: str, address: str) -> None:
    with pytest.raises(DnsRecordError):
        tlsrpt_record(domain, address)


def test_a_long_tlsrpt_record_splits_into_strings_that_join_back() -> None:
    long_domain = ".".join(["a" * 63, "b" * 63, "c" * 63, "example"])
    record = tlsrpt_record("example.com", f"{'r' * 64}@{long_domain}")
    assert len(record.value) > 255
    data = record.zone_line().split(" IN TXT ", 1)[1]
    strings = re.findall(r'"([^"]*)"', data)
    assert len(strings) == 2
    assert all(len(string) <= 255 for string in strings)
    assert "".join(strings) == record.value


# --- MTA-STS (RFC 8461) -------------------------------------------------------------------------------

_STS_RECORD = re.compile(r"v=STSv1(?:[ \t]*;[ \t]*id=[A-Za-z0-9]{1,32})[ \t]*;?")


def test_the_policy_file_is_exactly_the_fields_with_crlf_line_ends() -> None:
    policy = MtaStsPolicy(
        "Example.com.", "ENFORCE", ("MX1.example.com.", "*.mail.example.com", "mx1.example.com")
    )
    assert policy.text == (
        "version: STSv1\r\nmode: enforce\r\n"
        "mx: mx1.example.com\r\nmx: *.mail.example.com\r\nmax_age: 604800\r\n"
    )
    assert policy.url == POLICY_URL
    assert parse_policy(policy.text)["mx"] == ["mx1.example.com", "*.mail.example.com"]


def test_the_mta_sts_record_carries_the_id_of_the_policy_text() -> None:
    policy = MtaStsPolicy("example.com", "testing", ("mx1.example.com",))
    record = mta_sts_record(policy)
    expected_id = hashlib.sha256(policy.text.encode()).hexdigest()[:20]
    assert record.zone_line() == f'_mta-sts.example.com. 3600 IN TXT "v=STSv1; id={expected_id}"'
    assert _STS_RECORD.fullmatch(record.value)


def test_the_same_policy_gets_the_same_id_however_it_is_written() -> None:
    first = MtaStsPolicy("example.com", "testing", ("mx1.example.com",), 86400)
    again = MtaStsPolicy("EXAMPLE.com.", "Testing", ("MX1.example.com.", "mx1.example.com"), 86400)
    assert again.policy_id == first.policy_id
    assert mta_sts_record(again) == mta_sts_record(first)


@pytest.mark.parametrize(
    "changed",
    [
        MtaStsPolicy("example.com", "enforce", ("mx1.example.com",), 86400),
        MtaStsPolicy("example.com", "testing", ("mx2.example.com",), 86400),
        MtaStsPolicy("example.com", "testing", ("mx1.example.com", "mx2.example.com"), 86400),
        MtaStsPolicy("example.com", "testing", ("mx1.example.com",), 86401),
    ],
)
def test_any_change_of_the_policy_changes_the_id(changed: MtaStsPolicy) -> None:
    assert changed.policy_id != MtaStsPolicy("example.com", "testing", ("mx1.example.com",), 86400).policy_id


def test_mode_none_needs_no_mx_and_max_age_may_be_at_either_bound() -> None:
    assert MtaStsPolicy("example.com", "none").text == "version: STSv1\r\nmode: none\r\nmax_age: 604800\r\n"
    assert MtaStsPolicy("example.com", "none", (), 0).max_age == 0
    assert MtaStsPolicy("example.com", "none", (), MAX_AGE_LIMIT).max_age == MAX_AGE_LIMIT
    assert DEFAULT_MAX_AGE == 7 * 24 * 3600


@pytest.mark.parametrize(
    ("domain", "mode", "mx", "max_age", "reason"),
    [
        ("example.com", "strict", ("mx.example.com",), 86400, "not an MTA-STS mode"),
        ("example.com", "testing", (), 86400, "at least one MX host"),
        ("example.com", "enforce", (), 86400, "at least one MX host"),
        ("example.com", "testing", ("mx.example.com",), -1, "max_age must be 0 to 31557600"),
        ("example.com", "testing", ("mx.example.com",), MAX_AGE_LIMIT + 1, "max_age must be 0 to"),
        ("example.com", "testing", ("mx.example.com",), True, "whole number"),
        ("example.com", "testing", ("mail..example.com",), 86400, "not a valid MX host"),
        ("example.com", "testing", ("-mx.example.com",), 86400, "not a valid MX host"),
        ("example.com", "testing", ("192.0.2.1",), 86400, "not a valid MX host"),
        ("example.com", "testing", ("mail.*.example.com",), 86400, "not a valid MX host"),
        ("example.com", "testing", ("*.com",), 86400, "not a valid MX host pattern"),
        ("example.com", "testing", ("*",), 86400, "not a valid MX host"),
        ("not a domain", "testing", ("mx.example.com",), 86400, "not a domain"),
        (".".join(["a" * 63] * 3 + ["b" * 61]), "none", (), 86400, "longer than 253"),
    ],
)
def test_a_bad_policy_input_is_refused_with_a_reason(
    domain: str, mode: str, mx: tuple[str, ...], max_age: int, reason: str
) -> None:
    with pytest.raises(DnsRecordError, match=re.escape(reason)):
        MtaStsPolicy(domain, mode, mx, max_age)


_HOSTS = st.lists(
    st.from_regex(r"(\*\.)?[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?\.example\.(com|net)", fullmatch=True),
    min_size=1,
    max_size=5,
)


@given(st.sampled_from(["testing", "enforce", "none"]), _HOSTS, st.integers(0, MAX_AGE_LIMIT))
def test_every_policy_parses_back_by_the_rfc_grammar(mode: str, hosts: list[str], max_age: int) -> None:
    policy = MtaStsPolicy("example.com", mode, tuple(hosts), max_age)
    fields = parse_policy(policy.text)
    assert fields == {
        "version": ["STSv1"],
        "mode": [mode],
        "mx": list(dict.fromkeys(hosts)),
        "max_age": [str(max_age)],
    }
    assert re.fullmatch(r"[0-9a-f]{20}", policy.policy_id)


# --- the command ----------------------------------------------------------------------------------------


def dns(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["dns", "example.com", "--rua", RUA, "--region", "eu-west-1", *args])
    return result.exit_code, result.stdout, result.output


def test_cli_prints_tlsrpt_and_mta_sts_records_and_the_policy_file() -> None:
    code, stdout, _ = dns(
        "--tlsrpt", "--mta-sts", "testing", "--mx", "mx1.example.com", "--mx", "*.mx.example.com"
    )
    assert code == 0, stdout
    policy = MtaStsPolicy("example.com", "testing", ("mx1.example.com", "*.mx.example.com"))
    assert [line for line in stdout.splitlines() if not line.startswith(";")] == [
        '_dmarc.example.com. 3600 IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@reports.example.com"',
        "reports.example.com. 3600 IN MX 10 inbound-smtp.eu-west-1.amazonaws.com.",
        '_smtp._tls.example.com. 3600 IN TXT "v=TLSRPTv1; rua=mailto:dmarc@reports.example.com"',
        f'_mta-sts.example.com. 3600 IN TXT "v=STSv1; id={policy.policy_id}"',
        "version: STSv1",
        "mode: testing",
        "mx: mx1.example.com",
        "mx: *.mx.example.com",
        "max_age: 604800",
    ]
    assert f"; ---- begin {POLICY_URL} ----" in stdout
    assert "HTTPS with a valid certificate for mta-sts.example.com" in stdout
    assert "this stack does not host it" in stdout
    assert "add --tlsrpt" not in stdout


def test_cli_without_tls_options_prints_only_the_dmarc_records() -> None:
    code, stdout, _ = dns()
    assert code == 0
    assert "_smtp._tls" not in stdout
    assert "_mta-sts" not in stdout


def test_cli_tls_rua_at_another_domain_adds_its_mx_and_no_report_record() -> None:
    code, stdout, _ = dns("--tls-rua", "tls@tls.example.net")
    assert code == 0, stdout
    lines = [line for line in stdout.splitlines() if not line.startswith(";")]
    assert lines[2:] == [
        '_smtp._tls.example.com. 3600 IN TXT "v=TLSRPTv1; rua=mailto:tls@tls.example.net"',
        "tls.example.net. 3600 IN MX 10 inbound-smtp.eu-west-1.amazonaws.com.",
    ]
    assert "_report" not in stdout


def test_cli_mta_sts_without_tlsrpt_suggests_it() -> None:
    code, stdout, _ = dns("--mta-sts", "none")
    assert code == 0, stdout
    assert "; no _smtp._tls record: add --tlsrpt" in stdout
    assert "mode: none" in stdout


def test_cli_json_keeps_the_dmarc_entries_and_adds_the_new_ones() -> None:
    _, plain, _ = dns("--json")
    code, stdout, _ = dns(
        "--json", "--tls-rua", "tls@tls.example.net", "--mta-sts", "ENFORCE", "--mx", "mx.example.com"
    )
    assert code == 0, stdout
    rows = json.loads(stdout)
    assert rows[:2] == json.loads(plain)
    policy = MtaStsPolicy("example.com", "enforce", ("mx.example.com",))
    assert [(row["name"], row["type"]) for row in rows[2:]] == [
        ("_smtp._tls.example.com", "TXT"),
        ("tls.example.net", "MX"),
        ("_mta-sts.example.com", "TXT"),
        (POLICY_URL, "FILE"),
    ]
    assert rows[4]["value"] == f"v=STSv1; id={policy.policy_id}"
    assert rows[5]["value"] == policy.text
    assert all(set(row) == {"name", "type", "value", "purpose"} for row in rows)


def test_cli_writes_the_policy_file_with_crlf_and_its_hash_is_the_id(tmp_path: Path) -> None:
    path = tmp_path / "mta-sts.txt"
    code, stdout, _ = dns(
        "--mta-sts", "testing", "--mx", "mx.example.com", "--max-age", "86400", "--mta-sts-file", str(path)
    )
    assert code == 0, stdout
    written = path.read_bytes()
    assert written == b"version: STSv1\r\nmode: testing\r\nmx: mx.example.com\r\nmax_age: 86400\r\n"
    assert f'"v=STSv1; id={hashlib.sha256(written).hexdigest()[:20]}"' in stdout
    assert f"; the policy file is written to {path}" in stdout
    assert "version: STSv1" not in stdout
    parse_policy(written.decode())


def test_cli_cannot_write_the_policy_file_in_a_missing_folder(tmp_path: Path) -> None:
    code, _, output = dns("--mta-sts", "none", "--mta-sts-file", str(tmp_path / "no" / "mta-sts.txt"))
    assert code == 1
    assert "there is no folder" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mx", "mx.example.com"], "need --mta-sts MODE"),
        (["--max-age", "86400"], "need --mta-sts MODE"),
        (["--mta-sts-file", "mta-sts.txt"], "need --mta-sts MODE"),
        (["--mta-sts", "enforce"], "at least one MX host"),
        (["--mta-sts", "testing", "--mx", "mx..example.com"], "not a valid MX host"),
        (["--mta-sts", "none", "--max-age", "31557601"], "max_age must be 0 to 31557600"),
        (["--mta-sts", "none", "--max-age", "a week"], "is not a valid integer"),
        (["--mta-sts", "strict"], "'strict' is not one of"),
        (["--tls-rua", "nobody"], "not an e-mail address"),
    ],
)
def test_cli_bad_tls_options_are_usage_errors(args: list[str], message: str) -> None:
    code, stdout, output = dns(*args)
    assert code == 2
    assert message in output
    assert stdout == ""


def test_cli_help_explains_the_new_records() -> None:
    result = CliRunner().invoke(cli, ["dns", "--help"])
    assert result.exit_code == 0
    for text in ("_smtp._tls.DOMAIN", "_mta-sts.DOMAIN", "/.well-known/mta-sts.txt", "SHA-256", "--tlsrpt"):
        assert text in result.output
    assert "1 FILE could not be written" in result.output
