"""`dmarc compact`: merge closed days' small Parquet files, as the daily Lambda does."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from dmarc_cli.common import handle_errors, settings_for, store_options
from dmarc_cli.output import echo_json_line
from dmarc_store.backends.objects import LocalObjects, Objects
from dmarc_store.compact import LOOKBACK_DAYS, compact_closed_days


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

    Safe to run at any time and again: readers never see a row twice through the views or lose one,
    and a day already compacted is left alone. Prints one JSON object per day compacted. With --aws it
    works on the bucket named by DMARC_BUCKET, as the daily Lambda does.

    \b
    Exit codes: 0 done, 1 failed, 2 usage error, 3 --aws without DMARC_BUCKET.

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
    for compaction in compact_closed_days(objects, datetime.now(UTC).date(), days, lookback_days):
        echo_json_line(compaction.__dict__)
