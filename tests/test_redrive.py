"""`dmarc redrive --aws` and dmarc_store.redrive, on moto's SQS: the dead-letter queue's messages go
back to the ingest queue, a dry run moves nothing, an empty queue is no error.

moto 5.2.5 implements neither StartMessageMoveTask nor ListMessageMoveTasks (NotImplementedError), so
on moto the default method falls back to the copy (receive, send, delete), which these tests exercise;
the move task's own answers are parsed by MoveTask, tested on the documented response shape."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from dmarc_cli.main import cli
from dmarc_model.errors import ConfigurationError, UsageError
from dmarc_store.errors import PermanentStoreError
from dmarc_store.redrive import MoveTask, Pace, Queues, RedriveOptions, RedriveResult, find_queues, redrive
from dmarc_store.settings import get_settings
from tests.aws_support import REGION

S3_EVENT = json.dumps({"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": "incoming/a"}}}]})


@pytest.fixture
def queues(aws: None, monkeypatch: pytest.MonkeyPatch) -> Queues:
    """The stack's two queues (deploy/resources.yml): the ingest queue dead-letters into the DLQ."""
    sqs = boto3.client("sqs", region_name=REGION)
    dead = sqs.create_queue(QueueName="dmarc-test-ingest-dlq")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 5})
    sqs.create_queue(QueueName="dmarc-test-ingest", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    monkeypatch.setenv("DMARC_DEAD_LETTER_QUEUE_URL", dead)
    get_settings.cache_clear()
    return find_queues(sqs, dead)


def sqs() -> Any:
    return boto3.client("sqs", region_name=REGION)


def dead_letter(queues: Queues, *bodies: str) -> None:
    for body in bodies:
        sqs().send_message(QueueUrl=queues.dead_letter_url, MessageBody=body)


def drain(queue_url: str) -> list[dict[str, Any]]:
    """Every message of a queue (received, so hidden afterwards)."""
    found: list[dict[str, Any]] = []
    while (
        batch := sqs()
        .receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        .get("Messages", [])
    ):
        found += batch
    return found


def counts(queue_url: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs().get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return int(attributes[names[0]]), int(attributes[names[1]])


class FakeTime:
    """A clock that moves only when slept on: pacing without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def pace(self) -> Pace:
        return Pace(clock=lambda: self.now, sleep=self.sleep)


def test_the_source_queue_is_the_one_whose_redrive_policy_names_the_dead_letter_queue(queues: Queues) -> None:
    assert queues.source_url.endswith("/dmarc-test-ingest")
    assert queues.source_arn.endswith(":dmarc-test-ingest")
    assert queues.dead_letter_arn.endswith(":dmarc-test-ingest-dlq")


def test_messages_in_the_dead_letter_queue_move_back_to_the_source_queue(queues: Queues) -> None:
    bodies = [S3_EVENT, *(f"message {n}" for n in range(14))]
    dead_letter(queues, *bodies)
    sqs().send_message(
        QueueUrl=queues.dead_letter_url,
        MessageBody="with attributes",
        MessageAttributes={"origin": {"DataType": "String", "StringValue": "s3"}},
    )
    result = redrive(sqs(), queues)
    assert result.method == "copy"  # moto has no move tasks: the default falls back
    assert any("not available" in note for note in result.notes)
    assert (result.waiting, result.moved, result.failed, result.not_deleted) == (16, 16, 0, 0)
    assert result.ok
    assert counts(queues.dead_letter_url) == (0, 0)  # deleted, not only hidden
    moved = drain(queues.source_url)
    assert sorted(message["Body"] for message in moved) == sorted([*bodies, "with attributes"])
    (with_attributes,) = (message for message in moved if message["Body"] == "with attributes")
    assert with_attributes["MessageAttributes"]["origin"]["StringValue"] == "s3"


def test_a_dry_run_counts_and_moves_receives_or_deletes_nothing(queues: Queues) -> None:
    dead_letter(queues, "one", "two", "three")
    result = redrive(sqs(), queues, RedriveOptions(dry_run=True))
    assert (result.dry_run, result.waiting, result.moved) == (True, 3, 0)
    assert counts(queues.dead_letter_url) == (3, 0)  # not even received: nothing in flight
    assert counts(queues.source_url) == (0, 0)


def test_an_empty_dead_letter_queue_is_nothing_to_do(queues: Queues) -> None:
    result = redrive(sqs(), queues, RedriveOptions(method="copy"))
    assert (result.method, result.waiting, result.moved, result.failed) == ("copy", 0, 0, 0)
    assert result.ok
    assert result.notes == []


def test_the_copy_keeps_to_max_per_second(queues: Queues) -> None:
    dead_letter(queues, *(f"m{n}" for n in range(12)))
    clock = FakeTime()
    result = redrive(sqs(), queues, RedriveOptions(max_per_second=4, method="copy"), pace=clock.pace())
    assert result.moved == 12
    assert clock.now == pytest.approx(3.0)  # 12 messages at 4 a second, 4 a batch
    assert counts(queues.source_url)[0] == 12


def test_asking_for_the_move_task_where_there_is_none_fails_rather_than_copying(queues: Queues) -> None:
    dead_letter(queues, "one")
    with pytest.raises(PermanentStoreError, match="list_message_move_tasks"):
        redrive(sqs(), queues, RedriveOptions(method="move-task"))
    assert run("--aws", "--method", "move-task").exit_code == 1  # one line, no traceback
    assert counts(queues.dead_letter_url) == (1, 0)


def test_bad_options_are_usage_errors() -> None:
    with pytest.raises(UsageError):
        RedriveOptions(max_per_second=501)
    with pytest.raises(UsageError):
        RedriveOptions(max_per_second=0)


def test_without_the_dead_letter_queue_url_or_with_two_sources_the_queues_are_a_configuration_error(
    queues: Queues,
) -> None:
    with pytest.raises(ConfigurationError, match="DMARC_DEAD_LETTER_QUEUE_URL"):
        find_queues(sqs(), None)
    policy = json.dumps({"deadLetterTargetArn": queues.dead_letter_arn, "maxReceiveCount": 5})
    sqs().create_queue(QueueName="another", Attributes={"RedrivePolicy": policy})
    with pytest.raises(ConfigurationError, match="DMARC_INGEST_QUEUE_URL"):
        find_queues(sqs(), queues.dead_letter_url)
    assert find_queues(sqs(), queues.dead_letter_url, queues.source_url) == queues


def test_a_move_task_is_read_from_the_documented_list_message_move_tasks_entry() -> None:
    entry = {
        "TaskHandle": "eyJ0YXNr",
        "Status": "FAILED",
        "SourceArn": "arn:aws:sqs:us-east-1:123456789012:dlq",
        "ApproximateNumberOfMessagesMoved": 7,
        "ApproximateNumberOfMessagesToMove": 9,
        "FailureReason": "AccessDenied",
        "StartedTimestamp": 1700000000000,
    }
    task = MoveTask.from_api(entry)
    assert (task.handle, task.status, task.moved, task.to_move, task.failure_reason) == (
        "eyJ0YXNr",
        "FAILED",
        7,
        9,
        "AccessDenied",
    )
    assert not task.active
    assert MoveTask("h", "RUNNING").active
    assert not RedriveResult("move-task", False, 9, task=task).ok


# ------------------------------------------------------------------------------------------------ the CLI


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["redrive", *args])


def test_the_command_moves_the_messages_and_exits_0(queues: Queues) -> None:
    dead_letter(queues, "one", "two")
    result = run("--aws")
    assert result.exit_code == 0, result.output
    assert "moved 2 messages (copy)" in result.output
    assert counts(queues.source_url)[0] == 2


def test_the_command_s_dry_run_and_json(queues: Queues) -> None:
    dead_letter(queues, "one")
    result = run("--aws", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would move 1 messages" in result.output
    as_json = run("--aws", "--dry-run", "--json", "--max-per-second", "5")
    summary = json.loads(as_json.output)
    assert (summary["dry_run"], summary["waiting"], summary["moved"]) == (True, 1, 0)
    assert counts(queues.dead_letter_url) == (1, 0)


def test_the_command_on_an_empty_queue_says_so_and_exits_0(queues: Queues) -> None:
    result = run("--aws", "--method", "copy")
    assert result.exit_code == 0, result.output
    assert "nothing to redrive" in result.output


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ((), 2),  # no --aws: there is no local queue
        (("--aws", "--max-per-second", "0"), 2),
        (("--aws", "--method", "teleport"), 2),
    ],
)
def test_the_command_s_usage_errors_exit_2(queues: Queues, args: tuple[str, ...], code: int) -> None:
    assert run(*args).exit_code == code


def test_without_the_queue_setting_the_command_exits_3(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DMARC_DEAD_LETTER_QUEUE_URL", raising=False)
    get_settings.cache_clear()
    result = run("--aws")
    assert result.exit_code == 3
    assert "DMARC_DEAD_LETTER_QUEUE_URL" in result.output


def test_the_help_names_the_exit_codes_and_the_settings() -> None:
    text = run("--help").output
    for words in ("Exit codes", "DMARC_DEAD_LETTER_QUEUE_URL", "DMARC_INGEST_QUEUE_URL", "--dry-run"):
        assert words in text
