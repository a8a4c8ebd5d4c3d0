"""Entry point of the `dmarc` command.

Commands load lazily (`dmarc parse` must not pay for pyarrow or boto3). Each command lives in its own
module and exposes a click command named `command`; register it in `COMMANDS`.

Exit codes, for every command:
    0  success
    1  the work ran but some input was refused or some item failed (details in the output)
    2  usage error (bad option, missing argument, bad value)
    3  configuration or environment error (missing setting, unreachable store)
"""

from __future__ import annotations

import importlib
import sys

import click

COMMANDS: dict[str, str] = {
    "parse": "dmarc_cli.parse_cmd",
    "ingest": "dmarc_cli.ingest_cmd",
    "lookup": "dmarc_cli.lookup_cmd",
    "compact": "dmarc_cli.compact_cmd",
    "classify": "dmarc_cli.classify_cmd",
    "rdns": "dmarc_cli.rdns_cmd",
    "refresh": "dmarc_cli.refresh_cmd",
    "query": "dmarc_cli.query_cmd",
    "dns": "dmarc_cli.dns_cmd",
    "report": "dmarc_cli.report_cmd",
    "export": "dmarc_cli.export_cmd",
    "prune": "dmarc_cli.prune_cmd",
    "alerts": "dmarc_cli.alerts_cmd",
    "digest": "dmarc_cli.digest_cmd",
    "plan": "dmarc_cli.plan_cmd",
    "ses": "dmarc_cli.ses_cmd",
    "redrive": "dmarc_cli.redrive_cmd",
}
"""Command name -> module holding `command`."""


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = COMMANDS.get(cmd_name)
        if module_name is None:
            return None
        command = importlib.import_module(module_name).command
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dmarc-rua-pipeline")
def cli() -> None:
    """Turn DMARC aggregate (RUA) reports into data you can act on.

    Reads report files, archives and mailboxes, stores every report exactly once (locally in
    ./dmarc-data, or in your AWS stack with --aws) and answers questions about them with SQL.

    \b
    Exit codes: 0 ok, 1 some input refused or failed, 2 usage error, 3 configuration error.

    \b
    Example:
      dmarc parse --json report.xml.gz
    """


def main() -> None:
    """Console-script entry point: never a traceback, always a meaningful exit code."""
    try:
        cli.main(prog_name="dmarc", standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
