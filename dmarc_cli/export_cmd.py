"""`dmarc export`: the stored records or reports as CSV for a spreadsheet."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dmarc_cli.common import (
    check_output_folder,
    handle_errors,
    open_runner,
    query_failure,
    replacing,
    store_options,
)


@click.command("export")
@click.option(
    "--csv",
    "csv_path",
    required=True,
    metavar="FILE",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Write CSV to FILE (- for stdout).",
)
@click.option(
    "--table",
    type=click.Choice(["records", "reports"]),
    default="records",
    show_default=True,
    help="records: one row per record with its report's fields; reports: one row per report.",
)
@click.option(
    "--raw",
    is_flag=True,
    help="Leave text exactly as reported, formulas and controls too (for data pipelines, not spreadsheets).",
)
@store_options
@handle_errors
def command(csv_path: Path, table: str, raw: bool, store_dir: Path | None, use_aws: bool) -> None:
    """Export the stored records (or reports) as CSV, ready for a spreadsheet.

    Records come one per line with their report's fields: reporter, report id, period and published
    policy, then the source IP, message count, disposition, DKIM/SPF verdicts, DMARC result and
    failure category. Reports come one per line with their totals. Duplicates left by compaction are
    dropped (the views record_details and report_details).

    The CSV follows RFC 4180 (UTF-8, CRLF line ends, quotes where needed). Lists (reasons, DKIM
    and SPF results) are JSON. Text that a spreadsheet would run as a formula (starting with =, +,
    -, @, a tab or a carriage return, also after spaces) gets a leading single quote, and control
    characters, escape sequences and bidi controls are shown escaped (\\x1b, \\u202e; tabs and line
    breaks stay): report fields come from strangers. --raw leaves text exactly as reported, for a
    program rather than a spreadsheet.
    With --aws the query runs on Athena (DMARC_GLUE_DATABASE, DMARC_ATHENA_WORKGROUP).

    \b
    Exit codes:
      0  written
      1  the query failed, or FILE could not be written
      2  usage error (bad option or value)
      3  configuration error (no store at --store, AWS not configured)

    \b
    Examples:
      dmarc export --csv records.csv
      dmarc export --csv reports.csv --table reports --store /srv/dmarc
      dmarc export --csv - | head
      dmarc export --csv records.csv --raw      # text exactly as reported, for a program
      dmarc export --csv records.csv --aws
    """
    from dmarc_cli.export import Table, write_csv
    from dmarc_cli.output import safe_terminal
    from dmarc_store.query import QueryError

    chosen: Table = "reports" if table == "reports" else "records"
    check_output_folder(csv_path)
    runner, _ = open_runner(store_dir, use_aws)
    to_stdout = str(csv_path) == "-"
    try:
        if to_stdout:
            rows = write_csv(runner, chosen, sys.stdout, raw=raw)
            sys.stdout.flush()
        else:
            with replacing(csv_path) as output:
                rows = write_csv(runner, chosen, output, raw=raw)
    except QueryError as error:
        query_failure(error)
    noun = "record" if table == "records" else "report"
    target = "stdout" if to_stdout else str(csv_path)
    message = f"exported {rows:,} {noun}{'' if rows == 1 else 's'} to {target}"
    click.echo(safe_terminal(message), err=to_stdout)
