"""`dmarc report`: one self-contained HTML page of charts and tables about the stored reports."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dmarc_cli.common import (
    check_output_folder,
    handle_errors,
    open_runner,
    query_failure,
    replacing,
    store_options,
)

if TYPE_CHECKING:
    from dmarc_report import ReportData, ReportOptions


class Days(click.ParamType):  # type: ignore[type-arg]
    """A number of days (1 or more), or 'all'."""

    name = "N|all"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | None:
        if value is None or isinstance(value, int):
            return value
        text = str(value).strip().lower()
        if text == "all":
            return None
        try:
            days = int(text)
        except ValueError:
            self.fail(f"{value!r} is neither a number of days nor 'all'", param, ctx)
        if days < 1:
            self.fail(f"{days} is not 1 or more", param, ctx)
        return days


@click.command("report")
@click.option(
    "--html",
    "html_path",
    required=True,
    metavar="FILE",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Write the report to FILE, one self-contained HTML file (- for stdout).",
)
@click.option(
    "--days",
    type=Days(),
    default="30",
    show_default=True,
    help="Report on the last N days (UTC, by the day a report's period begins), or 'all'.",
)
@click.option(
    "--domain",
    metavar="DOMAIN",
    help="Only this policy domain; a LIKE pattern, so %.example.com takes every subdomain.",
)
@store_options
@handle_errors
def command(
    html_path: Path, days: int | None, domain: str | None, store_dir: Path | None, use_aws: bool
) -> None:
    """Write an HTML report with charts of the stored DMARC reports.

    One file, no external script, style or font: it opens offline, prints well, and can be mailed.
    It shows daily volume and DMARC pass rate per domain, volume by source and result, the failing
    sources, the reporters, per domain what would fail at p=quarantine or p=reject and which
    sources to fix first, and the policy plan (the next record, its gates, the senders that block
    it; the stability gate reads the incidents `dmarc alerts` saved). When the store holds SMTP TLS
    reports (RFC 8460) of the period, an SMTP TLS section shows per policy domain its successful and
    failed sessions, the success rate per day, the failures by result type and receiving MX, its
    reporters and whether MTA-STS can move from mode: testing to mode: enforce (the saved query
    mta_sts_readiness). Every chart has a table of its key numbers beside it. The numbers are those
    of the saved queries (dmarc query --list), run on the local store or, with --aws, on Athena.

    With --aws the queries run on Athena in the stack's Glue database and workgroup
    (DMARC_GLUE_DATABASE, DMARC_ATHENA_WORKGROUP; AWS credentials as usual).

    \b
    Exit codes:
      0  written (also when no report falls in the period: the page says so)
      1  a query failed, or FILE could not be written
      2  usage error (bad option or value)
      3  configuration error (no store at --store, AWS not configured)

    \b
    Examples:
      dmarc report --html report.html
      dmarc report --html example.html --days 90 --domain example.com
      dmarc report --html backfill.html --days all --store /srv/dmarc
      dmarc report --html - --aws > report.html
    """
    from dmarc_cli.output import safe_terminal
    from dmarc_report import ReportOptions, render_html

    check_output_folder(html_path)
    data = _load(ReportOptions(days=days, domain=domain), store_dir, use_aws)
    page = render_html(data)
    to_stdout = str(html_path) == "-"
    if to_stdout:
        sys.stdout.write(page)
        sys.stdout.flush()
    else:
        with replacing(html_path) as output:
            output.write(page)
    click.echo(safe_terminal(_summary(data, "stdout" if to_stdout else str(html_path))), err=to_stdout)


def _load(options: ReportOptions, store_dir: Path | None, use_aws: bool) -> ReportData:
    """The page's data from the local store or Athena, with the incidents `dmarc alerts` saved."""
    from dmarc_cli.alerts_cmd import incident_state
    from dmarc_cli.common import settings_for
    from dmarc_report import load_report_data
    from dmarc_store.query import QueryError
    from dmarc_store.thresholds import plan_thresholds

    runner, where = open_runner(store_dir, use_aws)
    thresholds = plan_thresholds()
    incidents = incident_state(settings_for(store_dir), use_aws).load().incidents
    try:
        return load_report_data(runner, options, where=where, incidents=incidents, plan_thresholds=thresholds)
    except QueryError as error:
        query_failure(error)


def _summary(data: ReportData, target: str) -> str:
    from dmarc_report.text import count, plural

    tls = "" if data.tls is None else f"; SMTP TLS for {plural(len(data.tls.domains), 'domain')}"
    if data.empty:
        hint = " (try --days all)" if data.stored else " (ingest reports first: dmarc ingest PATH)"
        return f"report written to {target}: no reports in this period{hint}{tls}"
    overview = data.overview
    return (
        f"report written to {target}: {plural(len(data.domains), 'domain')}, "
        f"{plural(overview.reports, 'report')}, {count(overview.messages)} messages, "
        f"{(overview.pass_rate or 0):.1%} pass DMARC{tls}"
    )
