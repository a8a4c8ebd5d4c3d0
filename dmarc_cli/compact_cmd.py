"""`dmarc compact`: merge closed days' small Parquet files, as the daily Lambda does."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from dmarc_cli.common import EXIT_FAILED, EXIT_OK, handle_errors, settings_for, store_options
from dmarc_cli.output import echo_json_line, safe_terminal
from dmarc_store.backends.objects import LocalObjects, Objects
from dmarc_store.compact import FAILED, LOOKBACK_DAYS, compact_closed_days
from dmarc_store.retention import first_kept_day


@click.command("compact")
@store_options
@click.option(
    "--after-days", type=click.IntRange(min=0), default=None, help="Days after which a day is closed."
)
@click.option(
    "--lookback-days",
    type=click.IntRange(min=1),
    default=LOOKBACK_DAYS,
    show_default=True,
    help="How many closed days back to look (raise it once after a backfill of old reports).",
)
@handle_errors
def command(store_dir: Path | None, use_aws: bool, after_days: int | None, lookback_days: int) -> None:
    """Merge each closed day's per-report Parquet files into one file per table and day.

    Safe to run at any time, again, and beside another compaction (the daily Lambda): readers never
    see a row twice through the views or lose one, and a day already compacted is left alone. Prints
    one JSON object per day compacted; a file this version cannot merge (written by a newer version)
    is left in place and named under "set_aside". A day another compaction is merging right now, or
    one that fails, is named on stderr and the run goes on. With --aws it works on the bucket named by
    DMARC_BUCKET, as the daily Lambda does.

    \b
    Exit codes: 0 done, 1 some day failed (the others are done), 2 usage error,
    3 --aws without DMARC_BUCKET.

    \b
    Example:
      dmarc compact --store ./dmarc-data --after-days 2
      dmarc compact --lookback-days 3650        # once, after backfilling years of reports
    """
    settings = settings_for(store_dir)
    objects: Objects
    if use_aws:
        from dmarc_store.connect import s3_objects

        objects = s3_objects(settings)
    else:
        objects = LocalObjects(settings.store)
    days = settings.compact_after_days if after_days is None else after_days
    today = datetime.now(UTC).date()
    first_kept = first_kept_day(settings.retention_days, today)  # expired days are the prune's
    run = compact_closed_days(objects, today, days, lookback_days, first_kept=first_kept)
    for compaction in run.compacted:
        echo_json_line(compaction.as_dict())
    for skipped in run.skipped:
        what = "failed" if skipped.reason == FAILED else "skipped (another compaction has it)"
        click.echo(safe_terminal(f"dmarc: {skipped.table} {skipped.dt} {what}: {skipped.detail}"), err=True)
    sys.exit(EXIT_FAILED if run.failed else EXIT_OK)
