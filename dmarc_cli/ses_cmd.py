"""`dmarc ses activate | deactivate`: the stack's SES receipt rule set on and off (dmarc_store.ses_rules)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from dmarc_cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, fail, handle_errors
from dmarc_cli.output import safe_terminal

_STACK = click.option(
    "--stack",
    default="dmarc-dev",
    show_default=True,
    help="The stack's CloudFormation name: <service>-<stage>, as `serverless deploy --stage` made it.",
)
_AWS = click.option(
    "--aws", "use_aws", is_flag=True, help="Required: the command changes SES in your AWS account."
)
_DRY_RUN = click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")


@click.group("ses")
def command() -> None:
    """Turn the stack's SES receipt rule set on (after the first deploy) and off (before teardown).

    SES evaluates one receipt rule set per region, the active one, and CloudFormation cannot make a
    set active. `activate` makes the stack's own set active only when no other set is: activating
    would turn every rule of another set off, so then it changes nothing, prints the rule to add to
    the active set (or the existingRuleSet param to redeploy with) and exits 1. `deactivate` turns
    the stack's set off only when it is the active one, never a set of yours; an active set cannot
    be deleted, so run it before `serverless remove`. The stack's region is the one AWS_DEFAULT_REGION
    (or the profile) names, as for every --aws command.

    \b
    Exit codes: 0 done (or nothing to do), 1 another set is active (activate), 2 usage error,
    3 AWS not configured.

    \b
    Examples:
      AWS_DEFAULT_REGION=eu-west-1 dmarc ses activate --aws --stack dmarc-prod --dry-run
      AWS_DEFAULT_REGION=eu-west-1 dmarc ses deactivate --aws --stack dmarc-prod
    """


@command.command("activate")
@_AWS
@_STACK
@_DRY_RUN
@handle_errors
def activate_command(use_aws: bool, stack: str, dry_run: bool) -> None:
    """Make the stack's receipt rule set the active one, if no other set is active."""
    from dmarc_store.ses_rules import activate

    _run(activate, use_aws, stack, dry_run)


@command.command("deactivate")
@_AWS
@_STACK
@_DRY_RUN
@handle_errors
def deactivate_command(use_aws: bool, stack: str, dry_run: bool) -> None:
    """Turn the stack's receipt rule set off, if it is the active one (before `serverless remove`)."""
    from dmarc_store.ses_rules import deactivate

    _run(deactivate, use_aws, stack, dry_run)


def _run(step: Callable[..., Any], use_aws: bool, stack: str, dry_run: bool) -> None:
    if not use_aws:
        fail("this command changes SES in your AWS account: add --aws", EXIT_USAGE)
    from dmarc_store.aws_clients import AwsClients
    from dmarc_store.ses_rules import stack_rule_sets

    clients = AwsClients()  # the region of the stack: AWS_DEFAULT_REGION or the profile's
    sets = stack_rule_sets(clients.client("cloudformation"), stack)
    outcome = step(clients.client("ses"), sets, dry_run=dry_run)
    click.echo(safe_terminal(outcome.message))
    for line in outcome.advice:
        click.echo(safe_terminal(line), err=True)
    sys.exit(EXIT_OK if outcome.ok else EXIT_FAILED)
