"""`dmarc redrive --aws`: move the ingest dead-letter queue's messages back to the ingest queue."""

from __future__ import annotations

import sys

import click

from dmarc_cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, fail, handle_errors, settings_for
from dmarc_cli.output import echo_json_line, safe_terminal
from dmarc_store.redrive import MAX_PER_SECOND, METHODS, MoveTask, RedriveOptions, RedriveResult


@click.command("redrive")
@click.option(
    "--aws",
    "use_aws",
    is_flag=True,
    help="The deployed stack's queues (DMARC_DEAD_LETTER_QUEUE_URL; required: there is no local queue).",
)
@click.option("--dry-run", is_flag=True, help="Count the messages and say what would be done; move nothing.")
@click.option(
    "--max-per-second",
    type=click.IntRange(1, MAX_PER_SECOND),
    default=None,
    help=f"Move at most N messages a second (1 to {MAX_PER_SECOND}); default: as fast as SQS goes.",
)
@click.option(
    "--method",
    type=click.Choice(METHODS),
    default="auto",
    show_default=True,
    help="move-task: SQS's StartMessageMoveTask; copy: receive, send, delete; auto: move-task if available.",
)
@click.option(
    "--wait/--no-wait", default=True, help="Wait for a move task to finish, showing its progress (default)."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object: what was moved, and how.")
@handle_errors
def command(
    use_aws: bool, dry_run: bool, max_per_second: int | None, method: str, wait: bool, as_json: bool
) -> None:
    """Move the messages of the ingest dead-letter queue back to the ingest queue.

    A message lands in the dead-letter queue after 5 failed receives (DeadLetterQueueAlarm). Fix the
    cause first (README, Deploy, Runbook), then redrive: the ingest stores each report exactly once, so
    a message that was partly stored, or is redriven twice, only adds duplicates that are skipped.

    The queues: DMARC_DEAD_LETTER_QUEUE_URL (the stack's output DeadLetterQueueUrl) and
    DMARC_INGEST_QUEUE_URL (IngestQueueUrl; by default the one queue whose redrive policy names the
    dead-letter queue). With --method auto it uses SQS's own redrive (StartMessageMoveTask, progress
    by ListMessageMoveTasks) where the endpoint has it, else it copies: receive, send to the ingest
    queue, delete, ten at a time.

    \b
    Exit codes: 0 moved (or nothing to move, a dry run, a move task already running), 1 some messages
    could not be moved or the move task failed, 2 usage error (no --aws, a bad value),
    3 configuration error (no DMARC_DEAD_LETTER_QUEUE_URL, no AWS credentials or region).

    \b
    Examples:
      dmarc redrive --aws --dry-run
      dmarc redrive --aws --max-per-second 10
    """
    if not use_aws:
        fail("redrive works on the deployed stack's queues: add --aws", EXIT_USAGE)
    from dmarc_store.aws_clients import AwsClients
    from dmarc_store.redrive import find_queues, redrive

    settings = settings_for(None)
    options = RedriveOptions(dry_run, max_per_second, method, wait)  # type: ignore[arg-type]
    sqs = AwsClients().client("sqs")
    queues = find_queues(sqs, settings.dead_letter_queue_url, settings.ingest_queue_url)
    if not as_json:
        click.echo(f"from {queues.dead_letter_url}\n  to {queues.source_url}")
    result = redrive(sqs, queues, options, progress=None if as_json else _progress)
    if as_json:
        echo_json_line(result.summary())
    else:
        _print(result)
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED)


def _progress(task: MoveTask) -> None:
    click.echo(f"  {task.status.lower()}: {task.moved} of {task.to_move or '?'} moved", err=True)


def _print(result: RedriveResult) -> None:
    for note in result.notes:
        click.echo(f"note: {safe_terminal(note)}")
    task = result.task
    if result.dry_run:
        verb = "would move" if not result.already_running else "is moving"
        click.echo(f"dry run: {verb} {result.waiting} messages ({result.method}); nothing was moved")
    elif task is not None and result.already_running:
        click.echo(f"move task {task.handle} {task.status.lower()}: {task.moved} of {task.to_move} moved")
    elif task is not None:
        reason = f" ({safe_terminal(task.failure_reason)})" if task.failure_reason else ""
        click.echo(f"move task {task.handle} {task.status.lower()}{reason}: {task.moved} messages moved")
    elif result.moved == result.failed == 0:
        click.echo("nothing to redrive: the dead-letter queue is empty")
    else:
        click.echo(
            f"moved {result.moved} messages ({result.method}), {result.failed} could not be sent"
            f" (they stay in the dead-letter queue), {result.not_deleted} sent but not deleted"
        )
