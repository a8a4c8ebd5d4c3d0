"""`dmarc prune`: delete the reports whose retention has passed, as the daily compact Lambda does."""

from __future__ import annotations

from pathlib import Path

import click

from dmarc_cli.common import EXIT_USAGE, fail, handle_errors, settings_for, store_options
from dmarc_cli.output import echo_json_line, terminal_console, terminal_line
from dmarc_store.prune import PruneResult, prune_local, prune_parquet
from dmarc_store.retention import utc_today
from dmarc_store.settings import Settings


@click.command("prune")
@store_options
@click.option("--dry-run", is_flag=True, help="Say what would be deleted, and delete nothing.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per partition, then a summary object.")
@handle_errors
def command(store_dir: Path | None, use_aws: bool, dry_run: bool, as_json: bool) -> None:
    """Delete every report dated more than DMARC_RETENTION_DAYS days ago.

    A report's date is the UTC day its period begins (its dt partition). With a retention of N days,
    the reports of day D are kept N days, D included; from day D + N on, the whole dt=D partition of
    both Parquet tables is deleted and, in a local store, the reports' index entries and the
    quarantine files older than N days. With --aws it works on the bucket named by DMARC_BUCKET, as
    the daily compact Lambda does; DynamoDB deletes the same reports' items itself (TTL), and lookups
    skip them until it has.
    DMARC_RETENTION_DAYS=0 (the default) keeps everything: nothing is deleted.

    \b
    Exit codes: 0 done (also when nothing was due), 1 a deletion failed, 2 usage error,
    3 configuration error (no store at --store, --aws without DMARC_BUCKET, a bad setting).

    \b
    Examples:
      DMARC_RETENTION_DAYS=400 dmarc prune --dry-run
      DMARC_RETENTION_DAYS=400 dmarc prune --store /srv/dmarc --json
    """
    if store_dir is not None and use_aws:
        fail("--store and --aws exclude each other", EXIT_USAGE)
    settings = settings_for(store_dir)
    result = _prune(settings, use_aws, dry_run)
    if as_json:
        for partition in result.partitions:
            echo_json_line({**partition.__dict__, "dry_run": dry_run})
        echo_json_line(result.summary())
    else:
        _print(result, settings.retention_days)


def _prune(settings: Settings, use_aws: bool, dry_run: bool) -> PruneResult:
    today = utc_today()
    if use_aws:
        from dmarc_store.connect import s3_objects

        return prune_parquet(s3_objects(settings), settings.retention_days, today, dry_run=dry_run)
    return prune_local(settings.store, settings.retention_days, today, dry_run=dry_run)


def _print(result: PruneResult, retention_days: int) -> None:
    console = terminal_console()
    if result.first_kept is None:
        console.print(terminal_line("retention is off (DMARC_RETENTION_DAYS=0): nothing is ever deleted"))
        return
    verb = "would delete" if result.dry_run else "deleted"
    for partition in result.partitions:
        console.print(terminal_line((verb, "yellow"), " ", partition.prefix, f" ({partition.files} files)"))
    console.print(
        terminal_line(
            f"retention {retention_days} days: reports dated from {result.first_kept} on are kept; ",
            f"{verb} {len(result.partitions)} partitions ({result.files} files), ",
            f"{result.index_rows} index entries, {result.quarantine_files} quarantine files",
        )
    )
