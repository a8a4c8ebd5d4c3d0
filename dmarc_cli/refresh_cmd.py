"""`dmarc refresh`: refresh the reference data senders are named with, and publish it into the store."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from dmarc_cli.common import EXIT_FAILED, EXIT_OK, handle_errors, settings_for, store_options
from dmarc_cli.output import echo_json_line, terminal_console, terminal_text
from dmarc_model.errors import ConfigurationError
from dmarc_model.senders.reference import PACKAGE_RULES, load_reference
from dmarc_store.backends.objects import LocalObjects, Objects
from dmarc_store.reference import sources
from dmarc_store.reference.refresh import RefreshResult, refresh_reference


@click.command("refresh")
@store_options
@click.option("--netblocks-only", is_flag=True, help="Walk the netblocks; leave the ASN table as it is.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: what changed and what failed.")
@handle_errors
def command(store_dir: Path | None, use_aws: bool, netblocks_only: bool, as_json: bool) -> None:
    """Refresh the reference data senders are named with, and publish it into the store.

    Two parts, each published under reference/ with a version, then named by reference/current.json:
    the providers' netblocks (the ip4/ip6 ranges behind each service's documented SPF include, by
    DNS TXT lookups) and the IP-to-network table (the newest @ip-location-db/asn on the npm registry,
    checked against its sha512 and compiled as `make asn` does). A service whose lookups fail keeps
    its previous ranges; a registry that fails keeps the published table. Ingest and `dmarc classify`
    then use it; run `dmarc classify` to name past mail with it. On AWS the refresh function does
    this weekly; `--aws` does it from here into the bucket. Needs DNS and HTTPS; ingest never does.

    \b
    Exit codes: 0 refreshed (or nothing changed), 1 some part could not be refreshed (what was
    published stays), 2 usage error, 3 no store, or --aws without DMARC_BUCKET.

    \b
    Examples:
      dmarc refresh && dmarc classify
      dmarc refresh --netblocks-only --json
    """
    settings = settings_for(store_dir)
    objects: Objects
    if use_aws:
        from dmarc_store.connect import s3_objects

        objects = s3_objects(settings)
    elif not settings.store.is_dir():
        raise ConfigurationError(f"no store at {settings.store}")
    else:
        objects = LocalObjects(settings.store)
    reference = load_reference(settings.sender_rules or PACKAGE_RULES)
    fetch = None if netblocks_only else sources.HttpFetch()
    result = refresh_reference(
        objects, reference, lookup=sources.DnsTxt(), fetch=fetch, now=datetime.now(UTC)
    )
    _print(result, as_json)
    sys.exit(EXIT_FAILED if result.failures or result.asn_error else EXIT_OK)


def _print(result: RefreshResult, as_json: bool) -> None:
    if as_json:
        echo_json_line(result.as_dict())
        return
    console = terminal_console()
    published = result.published
    state = "new snapshot" if result.netblocks_changed else "unchanged"
    console.print(
        terminal_text(f"Netblocks: {result.ranges} ranges of {result.services} services ({state}).")
    )
    for service, failures in sorted(result.failures.items()):
        names = ", ".join(f"{name} {status}" for name, status in failures)
        console.print(terminal_text(f"  {service}: not refreshed ({names}); its previous ranges kept"))
    if result.asn_error:
        console.print(terminal_text(f"Network table: not refreshed ({result.asn_error})."))
    elif published.asn_version:
        state = "new" if result.asn_changed else "unchanged"
        console.print(terminal_text(f"Network table: @ip-location-db/asn {published.asn_version} ({state})."))
    if result.netblocks_changed or result.asn_changed:
        console.print(terminal_text("Run `dmarc classify` to name past mail with it."))
