"""`dmarc classify`: name every stored record's sender again, after the rules or the reference data change."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import click

from dmarc_cli.common import EXIT_FAILED, EXIT_OK, handle_errors, progress_bar, settings_for, store_options
from dmarc_cli.output import echo_json_line, safe_terminal, terminal_console, terminal_text
from dmarc_model.senders.classify import Classifier
from dmarc_store.backends.objects import LocalObjects, Objects
from dmarc_store.classify import Reclassified, reclassify_day, stored_days
from dmarc_store.compact import Skipped
from dmarc_store.senders import local_classifier


@click.command("classify")
@store_options
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Only the days from this one on (YYYY-MM-DD, the report's begin date); default: every day.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per day, then none of the table.")
@handle_errors
def command(store_dir: Path | None, use_aws: bool, since: datetime | None, as_json: bool) -> None:
    """Name the sender of every stored record again, with the rules and data installed now.

    Run it after upgrading (new sender rules, a newer network table) or after changing your own
    declarations (DMARC_SENDERS_FILE): the verdicts of past reports are rewritten, a day at a time,
    without re-ingesting and without touching the records. Safe beside ingest and compaction: the views
    show each record's newest verdict, and the older ones are merged away. With --aws it works on the
    bucket named by DMARC_BUCKET.

    \b
    Exit codes: 0 done, 1 some day could not be merged (its new verdicts still stand), 2 usage error,
    3 configuration error (rules or senders file unreadable, --aws without DMARC_BUCKET).

    \b
    Examples:
      dmarc classify
      dmarc classify --since 2026-11-01 --json
      DMARC_SENDERS_FILE=senders.toml dmarc classify
    """
    settings = settings_for(store_dir)
    objects: Objects
    classifier: Classifier
    if use_aws:
        from dmarc_store.connect import aws_classifier, s3_objects

        objects, classifier = s3_objects(settings), aws_classifier(settings)
    else:
        objects, classifier = LocalObjects(settings.store), local_classifier(settings)
    days = stored_days(objects, since.date() if since else None)
    now = datetime.now(UTC)
    results = list(_run(objects, classifier, days, now, as_json))
    skipped = [r for r in results if isinstance(r.compaction, Skipped)]
    for result in skipped:
        detail = result.compaction.detail if isinstance(result.compaction, Skipped) else ""
        click.echo(safe_terminal(f"dmarc: record_senders {result.dt} not merged: {detail}"), err=True)
    if not as_json:
        _print_summary(results, classifier.version)
    sys.exit(EXIT_FAILED if skipped else EXIT_OK)


def _run(
    objects: Objects, classifier: Classifier, days: list[date], now: datetime, as_json: bool
) -> list[Reclassified]:
    progress = progress_bar("classifying", quiet=as_json)
    done = []
    with progress:
        task = progress.add_task("classify", total=len(days), detail="")
        for day in days:
            result = reclassify_day(objects, classifier, day, now)
            done.append(result)
            if as_json:
                echo_json_line(result.as_dict())
            progress.update(task, advance=1, detail=day.isoformat())
    return done


def _print_summary(results: list[Reclassified], version: str) -> None:
    from rich.table import Table

    senders: Counter[str] = Counter()
    for result in results:
        senders.update(result.senders)
    records = sum(result.records for result in results)
    title = f"Classified {records} records of {len(results)} days ({version})"
    table = Table(title=terminal_text(title))
    table.add_column(terminal_text("sender"))
    table.add_column(terminal_text("records"), justify="right")
    shown = senders.most_common(20)
    for sender, count in shown:
        table.add_row(terminal_text(sender), str(count))
    if len(senders) > len(shown):
        rest = sum(senders.values()) - sum(count for _, count in shown)
        table.add_row(terminal_text(f"... {len(senders) - len(shown)} more senders"), str(rest))
    terminal_console().print(table)
