"""`dmarc rdns`: look up the reverse DNS names of the stored source addresses, once, into a cache."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import click

from dmarc_cli.common import EXIT_OK, handle_errors, progress_bar, settings_for
from dmarc_cli.output import echo_json_line, terminal_console, terminal_text
from dmarc_model.errors import ConfigurationError
from dmarc_store import rdns


@click.command("rdns")
@click.option(
    "--store",
    "store_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Local store folder (default: $DMARC_STORE, else ./dmarc-data).",
)
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Only addresses of reports from this day on (YYYY-MM-DD); default: every stored address.",
)
@click.option("--concurrency", type=click.IntRange(1, 64), default=16, show_default=True)
@click.option("--timeout", type=click.FloatRange(0.1, 30.0), default=2.0, show_default=True, help="Seconds.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the count of each status.")
@handle_errors
def command(
    store_dir: Path | None, since: datetime | None, concurrency: int, timeout: float, as_json: bool
) -> None:
    """Look up the reverse DNS name of every stored source address not looked up yet.

    Optional, and never part of ingest: names help name senders (a forward-confirmed name such as
    a8-1.smtp-out.amazonses.com is a signal), and run after `dmarc ingest` they are used by the next
    ingest and by `dmarc classify`. Each answer is cached in the store (rdns.sqlite) with its status:
    ok (forward-confirmed, the only names used), unconfirmed, nxdomain, servfail or timeout; servfail
    and timeout are asked again after a day, the others never. Uses the machine's resolver.

    \b
    Exit codes: 0 done (whatever the answers), 2 usage error, 3 no store.

    \b
    Examples:
      dmarc rdns && dmarc classify
      dmarc rdns --since 2026-11-01 --concurrency 32 --timeout 1
    """
    settings = settings_for(store_dir)
    if not settings.store.is_dir():
        raise ConfigurationError(f"no store at {settings.store}")
    cache = rdns.RdnsCache(settings.store / rdns.CACHE_NAME)
    wanted = cache.wanted(_stored_addresses(settings.store, since), time.time())
    counts: Counter[str] = Counter()
    for chunk in _looked_up(wanted, concurrency, timeout, quiet=as_json):
        cache.store(chunk, time.time())  # after each chunk: an interrupted run keeps what it found
        counts.update(answer.status for _, answer in chunk)
    if as_json:
        echo_json_line({"looked_up": len(wanted), **{status: counts[status] for status in rdns.STATUSES}})
    else:
        summary = ", ".join(f"{counts[status]} {status}" for status in rdns.STATUSES)
        terminal_console().print(terminal_text(f"Looked up {len(wanted)} addresses: {summary}."))
        if counts[rdns.OK]:
            terminal_console().print(terminal_text("Run `dmarc classify` to name senders with them."))
    sys.exit(EXIT_OK)


def _stored_addresses(store: Path, since: datetime | None) -> list[str]:
    from dmarc_store.query import DuckDBQueryRunner

    if not any((store / "parquet" / "records").glob("*/*.parquet")):
        return []
    runner = DuckDBQueryRunner(store)
    try:
        sql = "SELECT DISTINCT source_ip FROM records WHERE dt >= ? ORDER BY source_ip"
        low = since.date().isoformat() if since else "0000-00-00"
        return [row["source_ip"] for row in runner.run_sql(sql, (low,)).to_pylist()]
    finally:
        runner.close()


def _looked_up(
    wanted: list[str], concurrency: int, timeout: float, *, quiet: bool
) -> Iterator[list[tuple[str, rdns.RdnsAnswer]]]:
    progress = progress_bar("looking up", quiet=quiet)
    resolver = rdns.default_resolver()
    with progress:
        task = progress.add_task("rdns", total=len(wanted), detail="")
        step = max(1, concurrency) * 8
        for start in range(0, len(wanted), step):
            part = wanted[start : start + step]
            yield list(rdns.look_up_all(part, resolver, concurrency=concurrency, timeout=timeout))
            progress.update(task, advance=len(part))
