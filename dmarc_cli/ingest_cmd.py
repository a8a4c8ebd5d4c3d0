"""`dmarc ingest`: store every report in files, folders and mailboxes, exactly once."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from dmarc_cli.common import EXIT_FAILED, EXIT_OK, handle_errors, settings_for, store_options
from dmarc_cli.sources import Source, iter_sources
from dmarc_store.connect import aws_store, ingest_service, local_store
from dmarc_store.ingest.batch import BatchSummary, ingest_sources
from dmarc_store.ingest.service import IngestResult, IngestService


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@store_options
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object per input, then a summary object."
)
@handle_errors
def command(paths: tuple[Path, ...], store_dir: Path | None, use_aws: bool, as_json: bool) -> None:
    """Store every DMARC aggregate report found in PATHS, exactly once.

    PATHS may be report files (.xml, .gz, .zip), emails (.eml), mbox files, Maildir folders or any
    folder (read recursively). Running it again on the same input adds nothing: a report already
    stored counts as a duplicate. Input that holds no report is copied to the store's quarantine
    folder with a JSON note of the reason.

    \b
    The summary counts files read and reports new, duplicate, conflicting (same report id, other
    content: the first one stays) and quarantined, by reason. With --json the last line is one
    object: {"files", "new", "duplicate", "conflict", "quarantined", "quarantine_reasons", ...}.

    \b
    Exit codes: 0 all read (quarantined input is not a failure), 1 some input could not be read or
    stored, 2 usage error, 3 configuration error (e.g. --aws without DMARC_BUCKET/DMARC_TABLE).

    \b
    Examples:
      dmarc ingest ~/Mail/dmarc/                 # a Maildir or a folder of attachments
      dmarc ingest --store /srv/dmarc reports.mbox
      DMARC_BUCKET=b DMARC_TABLE=t dmarc ingest --aws old-reports/
    """
    settings = settings_for(store_dir)
    store = aws_store(settings) if use_aws else local_store(settings)
    service = ingest_service(store, settings)
    sources = list(iter_sources(paths))
    if as_json:
        summary = ingest_sources(service, sources, on_result=_print_json_line)
        click.echo(json.dumps(summary.as_json()))
    else:
        summary = _ingest_with_progress(service, sources)
        print_summary(summary, where="AWS" if use_aws else str(settings.store))
    sys.exit(EXIT_FAILED if summary.failed else EXIT_OK)


def _print_json_line(source: Source, result: IngestResult | None) -> None:
    if result is not None:
        click.echo(json.dumps(result.as_json(), default=str))


def _ingest_with_progress(service: IngestService, sources: list[Source]) -> BatchSummary:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn("ingesting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[name]}"),
        transient=True,
        disable=not sys.stderr.isatty(),
        console=Console(stderr=True),
    )
    with progress:
        task = progress.add_task("ingest", total=len(sources), name="")

        def advance(source: Source, result: IngestResult | None) -> None:
            progress.update(task, advance=1, name=Path(source.key).name[:40])

        return ingest_sources(service, sources, on_result=advance)


def print_summary(summary: BatchSummary, where: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Ingested into {where}", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("files read", f"{summary.files:,}")
    table.add_row("reports new", f"{summary.new:,}")
    table.add_row("reports duplicate", f"{summary.duplicate:,}")
    table.add_row("reports conflicting", f"{summary.conflict:,}")
    table.add_row("records stored", f"{summary.records:,}")
    for reason, count in sorted(summary.quarantined.items()):
        table.add_row(f"quarantined: {reason}", f"{count:,}")
    for failure in summary.failed:
        table.add_row(f"[red]failed[/red] {failure['source']}", failure["error"])
    Console().print(table)
