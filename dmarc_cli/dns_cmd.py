"""`dmarc dns`: print the DNS records to publish so that a domain's reports reach the stack."""

from __future__ import annotations

import json
import os

import click

from dmarc_cli.output import safe_terminal
from dmarc_model.dns import RUF_LEFT_OUT, DnsRecordError, records_to_publish


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
    help="Region of the stack (SES receives the mail there).",
)
@click.option(
    "--ruf",
    "ruf",
    metavar="ADDRESS",
    help="Also ask for failure reports (RUF), at ADDRESS. Default: no ruf= tag (they carry personal data).",
)
@click.option("--json", "as_json", is_flag=True, help="A JSON list of {name, type, value, purpose}.")
def command(domain: str, rua: str, policy: str | None, region: str, ruf: str | None, as_json: bool) -> None:
    """Print the DNS records that send DOMAIN's aggregate reports to the stack.

    \b
    Three records, in zone-file syntax:
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
    Exit codes: 0 records printed; 2 usage error (bad domain, address, region or policy).

    \b
    Examples:
      dmarc dns example.com --rua dmarc@reports.example.com
      dmarc dns example.org --rua dmarc@reports.example.com --policy "v=DMARC1; p=quarantine; pct=50"
      dmarc dns example.com --rua dmarc@reports.example.com --ruf dmarc@reports.example.com
    """
    try:
        records = records_to_publish(domain, rua, region, policy, ruf)
    except DnsRecordError as error:
        raise click.UsageError(str(error)) from error
    if as_json:
        rows = [
            {"name": record.name, "type": record.type, "value": record.value, "purpose": record.purpose}
            for record in records
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    for record in records:
        click.echo(safe_terminal(f"; {record.purpose}"))
        click.echo(safe_terminal(record.zone_line()))
    if ruf is None and "ruf=" not in records[0].value:
        click.echo(safe_terminal(f"; {RUF_LEFT_OUT}"))
