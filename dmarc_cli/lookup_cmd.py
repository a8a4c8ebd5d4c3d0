"""`dmarc lookup IP`: every record of one source IP, as JSON lines."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from dmarc_cli.common import EXIT_OK, handle_errors, settings_for, store_options
from dmarc_cli.output import echo_json_line
from dmarc_store.lookup import lookup_dynamodb, lookup_local, normalise_ip
from dmarc_store.settings import Settings


@click.command("lookup")
@click.argument("ip")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="First report day (UTC), e.g. 2025-01-01.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Last report day (UTC), inclusive.")
@store_options
@handle_errors
def command(
    ip: str, since: datetime | None, until: datetime | None, store_dir: Path | None, use_aws: bool
) -> None:
    """Print every record reported for source IP, one JSON object per line.

    Each line has the report (key, reporter, report id, policy domain, begin, end) and the record
    (message_count, disposition, policy_dkim, policy_spf, reasons, identifiers, dkim_results,
    spf_results). IPv6 addresses are matched in canonical form, whatever form you type.

    \b
    Exit codes: 0 ok (also when nothing matched), 2 not an IP address or a bad date,
    3 --aws without DMARC_TABLE.

    \b
    Examples:
      dmarc lookup 192.0.2.10
      dmarc lookup 2001:DB8::1 --since 2025-01-01 --until 2025-01-31 --aws
    """
    normalise_ip(ip)
    first = since.date() if since else None
    last = until.date() if until else None
    settings = settings_for(store_dir)
    for row in _rows(settings, ip, first, last, use_aws):
        echo_json_line(row)
    sys.exit(EXIT_OK)


def _rows(
    settings: Settings, ip: str, since: date | None, until: date | None, use_aws: bool
) -> Iterator[dict[str, Any]]:
    if not use_aws:
        return lookup_local(settings.store, ip, since, until)
    from dmarc_store.connect import dynamodb

    client, table = dynamodb(settings)
    return lookup_dynamodb(client, table, ip, since, until)
