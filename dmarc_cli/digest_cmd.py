"""`dmarc digest`: the weekly digest of a local store, as the HTML email or its plain-text part."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dmarc_cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    check_output_folder,
    fail,
    handle_errors,
    open_runner,
    query_failure,
    replacing,
    settings_for,
)

if TYPE_CHECKING:
    from dmarc_report.digest import Digest


@click.command("digest")
@click.option(
    "--html",
    "html_path",
    metavar="FILE",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Write the digest's HTML part (the email as sent) to FILE (- for stdout).",
)
@click.option("--text", "as_text", is_flag=True, help="Print the digest's plain-text part on stdout.")
@click.option(
    "--days",
    type=click.IntRange(min=1, max=366),
    default=7,
    show_default=True,
    help="The period: the N whole UTC days before today, compared with the N days before them.",
)
@click.option(
    "--domain",
    "domains",
    metavar="DOMAIN",
    multiple=True,
    help="Only this domain (repeat for more; default: $DMARC_DOMAINS, else every domain with reports or"
    " alerts); each gets a section, a loud one when nothing reported on it.",
)
@click.option(
    "--store",
    "store_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Local store folder (default: $DMARC_STORE, else ./dmarc-data).",
)
@handle_errors
def command(
    html_path: Path | None, as_text: bool, days: int, domains: tuple[str, ...], store_dir: Path | None
) -> None:
    """Render the weekly digest of the local store: the email the stack sends every week.

    Per domain: the week's messages and DMARC pass share against the week before, how many reports
    came from how many reporters (a week without any says so loudly: that silence is the alarm), the
    top senders, the open alert incidents and what opened, escalated or resolved this week (from the
    state `dmarc alerts` keeps in the store), and the policy plan: its verdict, the next DMARC record,
    the gates not met, the senders that block it and the cost in forwarded mail. When the store holds
    SMTP TLS reports (RFC 8460) of the two weeks, an SMTP TLS part gives per policy domain the week's
    TLS sessions, the failed ones, the success rate against the week before and the top failure
    types. On AWS the same digest goes out by SES as HTML with this plain-text part, also on a quiet
    week.

    Run `dmarc alerts` first for the incidents to be current. Thresholds of the plan: the
    DMARC_PLAN_* settings. Give exactly one of --html FILE and --text.

    \b
    Exit codes:
      0  rendered (also on a quiet week: the digest says so)
      1  a query failed, or FILE could not be written
      2  usage error (neither or both of --html and --text, bad value)
      3  configuration error (no store at --store)

    \b
    Examples:
      dmarc digest --html digest.html
      dmarc digest --text --store /srv/dmarc
      dmarc digest --html - --days 14 --domain example.com > digest.html
    """
    if (html_path is None) == (not as_text):
        fail("give exactly one of --html FILE and --text", EXIT_USAGE)
    from dmarc_report.digest import build_digest
    from dmarc_store.alerts.state import LocalIncidentState
    from dmarc_store.query import QueryError
    from dmarc_store.thresholds import plan_thresholds

    if html_path is not None:
        check_output_folder(html_path)
    thresholds = plan_thresholds()
    runner, _ = open_runner(store_dir, False)
    settings = settings_for(store_dir)
    state = LocalIncidentState(settings.store)
    try:
        digest = build_digest(
            runner,
            state,
            datetime.now(UTC),
            domains=list(domains) or settings.domain_list or None,
            plan_thresholds=thresholds,
            days=days,
        )
    except QueryError as error:
        query_failure(error)
    _write(digest, html_path)
    sys.exit(EXIT_OK)


def _write(digest: Digest, html_path: Path | None) -> None:
    """The text part on stdout (no --html), or the HTML part to FILE or stdout."""
    from dmarc_cli.output import safe_terminal
    from dmarc_report.digest import digest_subject, render_digest_html, render_digest_text

    if html_path is None:
        sys.stdout.write(render_digest_text(digest))
    elif str(html_path) == "-":
        sys.stdout.write(render_digest_html(digest))
    else:
        with replacing(html_path) as output:
            output.write(render_digest_html(digest))
        click.echo(safe_terminal(f"digest written to {html_path}: {digest_subject(digest)}"))
    sys.stdout.flush()
