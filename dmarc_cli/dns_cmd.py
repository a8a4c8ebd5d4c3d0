"""`dmarc dns`: print the DNS records to publish so that a domain's reports reach the stack.

DMARC (dmarc_model.dns) always; SMTP TLS reporting and MTA-STS (dmarc_model.dns_tls) when asked.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from dmarc_cli.common import check_output_folder, handle_errors, replacing
from dmarc_cli.output import safe_terminal
from dmarc_model.dns import RUF_LEFT_OUT, DnsRecord, DnsRecordError, records_to_publish
from dmarc_model.dns_tls import (
    DEFAULT_MAX_AGE,
    MAX_AGE_LIMIT,
    MODES,
    MtaStsPolicy,
    hosting_note,
    mta_sts_record,
    tlsrpt_records,
)


@dataclass(frozen=True)
class DnsRequest:
    """The options of `dmarc dns`, as click parses them (one typed object, not twelve parameters)."""

    domain: str
    rua: str
    policy: str | None
    region: str
    ruf: str | None
    tlsrpt: bool
    tls_rua: str | None
    mta_sts_mode: str | None
    mx_hosts: tuple[str, ...]
    max_age: int | None
    mta_sts_file: Path | None
    as_json: bool


TLSRPT_HINT = (
    "no _smtp._tls record: add --tlsrpt to receive SMTP TLS reports, which tell when the MTA-STS"
    " policy can go from testing to enforce (saved query mta_sts_readiness)"
)


@click.command("dns")
@click.argument("domain")
@click.option("--rua", "rua", required=True, metavar="ADDRESS", help="The stack's receiving address.")
@click.option(
    "--policy",
    metavar="RECORD|POLICY",
    help="The _dmarc record published now (its tags are kept, the address is added to rua), "
    "or just none, quarantine or reject. Default: p=none.",
)
@click.option(
    "--region",
    default=lambda: os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    show_default="$AWS_REGION, else us-east-1",
    help="Region of the stack (SES receives the mail there): one where SES receives email, such as "
    "us-east-1, eu-west-1 (dmarc_model/data/ses-receiving-regions.json); any other is a usage error.",
)
@click.option(
    "--ruf",
    "ruf",
    metavar="ADDRESS",
    help="Also ask for failure reports (RUF), at ADDRESS. Default: no ruf= tag (they carry personal data).",
)
@click.option(
    "--tlsrpt", is_flag=True, help="Also print the _smtp._tls record: SMTP TLS reports (RFC 8460) to --rua."
)
@click.option(
    "--tls-rua",
    metavar="ADDRESS",
    help="Send the TLS reports to ADDRESS instead (implies --tlsrpt); its domain's MX is printed too, "
    "unless it is --rua's domain.",
)
@click.option(
    "--mta-sts",
    "mta_sts_mode",
    type=click.Choice(MODES, case_sensitive=False),
    help="Also print the _mta-sts record and the MTA-STS policy file (RFC 8461), in this mode.",
)
@click.option(
    "--mx",
    "mx_hosts",
    multiple=True,
    metavar="HOST",
    help="An MX host of DOMAIN, for the policy; repeat for each (*.example.com matches one label). "
    "At least one unless --mta-sts none.",
)
@click.option(
    "--max-age",
    type=int,
    metavar="SECONDS",
    help=f"How long senders may cache the policy, 0 to {MAX_AGE_LIMIT}. Default: {DEFAULT_MAX_AGE} (a week).",
)
@click.option(
    "--mta-sts-file",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the policy file to FILE (CRLF line ends) instead of printing it.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="A JSON list of {name, type, value, purpose}; the MTA-STS policy file last, "
    "as type FILE named by its URL.",
)
@handle_errors
def command(**options: Any) -> None:
    """Print the DNS records that send DOMAIN's reports to the stack (DMARC; TLS, MTA-STS if asked).

    \b
    Three DMARC records, in zone-file syntax:
      _dmarc.DOMAIN                      TXT  your policy, with rua=mailto:ADDRESS added
      the address's domain               MX   Amazon SES inbound in --region
      DOMAIN._report._dmarc.<that domain> TXT "v=DMARC1"  (only when the address is outside DOMAIN)
    Nothing is looked up or changed: publish them at your DNS host (the stack creates the last two
    itself when deployed with a hostedZoneId). Keep your current policy with --policy.

    \b
    No ruf= tag is added unless --ruf ADDRESS is given, and a comment line says why: failure reports
    carry personal data (the failing message's recipient, sender, subject, often its body). The stack
    keeps only their structured fields and keyed hashes, the raw mail a few days.

    \b
    With --tlsrpt (or --tls-rua ADDRESS), SMTP TLS reporting (RFC 8460) as well:
      _smtp._tls.DOMAIN  TXT  "v=TLSRPTv1; rua=mailto:ADDRESS"   (--rua's address unless --tls-rua)
      and the MX of --tls-rua's domain, when it is not --rua's. No _report record: RFC 8460 has none.
    With --mta-sts MODE (testing, enforce or none) and --mx HOST for each MX host of DOMAIN, MTA-STS
    (RFC 8461) as well:
      _mta-sts.DOMAIN    TXT  "v=STSv1; id=ID"
      the policy file to serve at https://mta-sts.DOMAIN/.well-known/mta-sts.txt (version, mode,
      one mx line per host, max_age), printed, or written to --mta-sts-file FILE.
    ID is the first 20 hex digits of the SHA-256 of the policy file: the same policy gives the same
    ID, any change a new one, which makes senders fetch the file again. The stack does not host the
    file: mta-sts.DOMAIN needs HTTPS with a valid certificate for that name. Start with testing.

    \b
    Exit codes: 0 records printed (and FILE written); 1 FILE could not be written; 2 usage error (bad
    domain, address, policy, mode, MX host or max-age; a region where SES receives no email; --mx,
    --max-age or --mta-sts-file without --mta-sts; --mta-sts testing or enforce without --mx).

    \b
    Examples:
      dmarc dns example.com --rua dmarc@reports.example.com
      dmarc dns example.org --rua dmarc@reports.example.com --policy "v=DMARC1; p=quarantine; pct=50"
      dmarc dns example.com --rua dmarc@reports.example.com --ruf dmarc@reports.example.com
      dmarc dns example.com --rua dmarc@reports.example.com --tlsrpt
      dmarc dns example.com --rua dmarc@reports.example.com --tls-rua tls@reports.example.net
      dmarc dns example.com --rua dmarc@reports.example.com --tlsrpt --mta-sts testing \\
        --mx mx1.example.com --mx "*.mail.example.com" --mta-sts-file mta-sts.txt
    """
    request = DnsRequest(**options)
    dmarc, tls, sts = _records(request)
    if sts is not None and request.mta_sts_file is not None:
        _write_policy(sts, request.mta_sts_file)
    if request.as_json:
        click.echo(json.dumps(_json_rows([*dmarc, *tls], sts), indent=2))
        return
    _echo_records(dmarc)
    if request.ruf is None and "ruf=" not in dmarc[0].value:
        click.echo(safe_terminal(f"; {RUF_LEFT_OUT}"))
    _echo_records(tls)
    if sts is not None:
        _echo_mta_sts(sts, request.mta_sts_file, tls_reported=bool(tls))


def _records(request: DnsRequest) -> tuple[list[DnsRecord], list[DnsRecord], MtaStsPolicy | None]:
    """The DMARC records, the TLS reporting ones (maybe none) and the MTA-STS policy (maybe None)."""
    sts_options = request.mx_hosts or request.max_age is not None or request.mta_sts_file is not None
    if request.mta_sts_mode is None and sts_options:
        raise click.UsageError("--mx, --max-age and --mta-sts-file need --mta-sts MODE")
    try:
        dmarc = records_to_publish(request.domain, request.rua, request.region, request.policy, request.ruf)
        tls: list[DnsRecord] = []
        if request.tlsrpt or request.tls_rua is not None:
            address = request.rua if request.tls_rua is None else request.tls_rua
            mx_printed = [record.name for record in dmarc if record.type == "MX"]
            tls = tlsrpt_records(request.domain, address, request.region, mx_printed)
        if request.mta_sts_mode is None:
            return dmarc, tls, None
        max_age = DEFAULT_MAX_AGE if request.max_age is None else request.max_age
        return dmarc, tls, MtaStsPolicy(request.domain, request.mta_sts_mode, request.mx_hosts, max_age)
    except DnsRecordError as error:
        raise click.UsageError(str(error)) from error


def _echo_records(records: list[DnsRecord]) -> None:
    for record in records:
        click.echo(safe_terminal(f"; {record.purpose}"))
        click.echo(safe_terminal(record.zone_line()))


def _echo_mta_sts(policy: MtaStsPolicy, written_to: Path | None, *, tls_reported: bool) -> None:
    """The `_mta-sts` record, then the policy file (or where it was written) and what hosting it takes."""
    _echo_records([mta_sts_record(policy)])
    click.echo(safe_terminal(f"; {hosting_note(policy)}"))
    if written_to is not None:
        click.echo(safe_terminal(f"; the policy file is written to {written_to}"))
    else:
        click.echo(safe_terminal(f"; ---- begin {policy.url} ----"))
        for line in policy.text.splitlines():
            click.echo(safe_terminal(line))
        click.echo(safe_terminal("; ---- end ----"))
    if not tls_reported:
        click.echo(safe_terminal(f"; {TLSRPT_HINT}"))


def _json_rows(records: list[DnsRecord], policy: MtaStsPolicy | None) -> list[dict[str, str]]:
    """One {name, type, value, purpose} per record; with a policy, its record and then the file, as
    type FILE, named by its URL, its text (CRLF line ends) as value."""
    rows = [
        {"name": record.name, "type": record.type, "value": record.value, "purpose": record.purpose}
        for record in (records if policy is None else [*records, mta_sts_record(policy)])
    ]
    if policy is not None:
        rows.append(
            {"name": policy.url, "type": "FILE", "value": policy.text, "purpose": hosting_note(policy)}
        )
    return rows


def _write_policy(policy: MtaStsPolicy, path: Path) -> None:
    """The policy file at `path`, its CRLF line ends kept, replacing any file there in one step."""
    check_output_folder(path)
    with replacing(path) as output:
        output.write(policy.text)
