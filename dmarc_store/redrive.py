"""Moving the ingest dead-letter queue's messages back to the ingest queue, once the cause is fixed.

    queues = find_queues(sqs, dead_letter_url, source_url=None)   the two queues, URLs and ARNs
    result = redrive(sqs, queues, RedriveOptions(...))             count, move (or, dry, only count)

Two ways to move them, chosen by `RedriveOptions.method`:

- ``move-task``: SQS's own redrive, StartMessageMoveTask from the dead-letter queue to the ingest queue
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html),
  an asynchronous task at most 500 messages a second, one per queue at a time; its progress is read with
  ListMessageMoveTasks (the most recent tasks of the queue, each with its status and counts:
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListMessageMoveTasksResultEntry.html).
- ``copy``: receive from the dead-letter queue, send each body (and message attributes) to the ingest
  queue, then delete what was sent, ten at a time. A message is deleted only after it was sent, so a
  crash in between leaves it in both queues: the ingest stores each report exactly once, so the second
  copy is a duplicate and harmless. A message whose send fails stays in the dead-letter queue.
- ``auto`` (the default): ``move-task`` where the API answers, else ``copy``. moto (5.2.5) implements
  neither move-task call (NotImplementedError, taken as PermanentStoreError); an endpoint without them,
  or credentials without sqs:ListMessageMoveTasks, refuse the call (PermanentStoreError): each falls
  back to ``copy``, and the result says why. ``move-task`` asked for explicitly raises it instead.

A dry run reads the dead-letter queue's ApproximateNumberOfMessages and any running move task, and
moves, receives and deletes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from dmarc_model.errors import ConfigurationError, UsageError
from dmarc_store.errors import PermanentStoreError

__all__ = [
    "MAX_PER_SECOND",
    "METHODS",
    "MoveTask",
    "Pace",
    "Queues",
    "RedriveOptions",
    "RedriveResult",
    "find_queues",
    "redrive",
]

Method = Literal["auto", "move-task", "copy"]
METHODS: tuple[Method, ...] = ("auto", "move-task", "copy")
MAX_PER_SECOND = 500
"""StartMessageMoveTask's highest MaxNumberOfMessagesPerSecond; the copy is held to the same bound."""
BATCH = 10
"""SQS's most messages per ReceiveMessage, SendMessageBatch and DeleteMessageBatch."""
COPY_VISIBILITY_SECONDS = 300
"""How long a received message stays hidden in the dead-letter queue while it is copied."""
POLL_SECONDS = 5.0
"""Between two ListMessageMoveTasks while waiting for a move task."""
LOST_POLLS = 12
"""Polls in a row without the task among the queue's 10 latest before waiting stops (a minute)."""
ACTIVE = frozenset({"RUNNING", "CANCELLING"})


@dataclass(frozen=True)
class RedriveOptions:
    dry_run: bool = False
    max_per_second: int | None = None
    """Messages moved per second at most (1 to 500); None: as fast as SQS goes."""
    method: Method = "auto"
    wait: bool = True
    """Wait for a move task to end, reporting its progress; False: return once it is started."""

    def __post_init__(self) -> None:
        if self.max_per_second is not None and not 1 <= self.max_per_second <= MAX_PER_SECOND:
            raise UsageError(f"max per second must be 1..{MAX_PER_SECOND}, not {self.max_per_second}")
        if self.method not in METHODS:
            raise UsageError(f"method must be one of {', '.join(METHODS)}, not {self.method}")


@dataclass(frozen=True)
class Pace:
    """The clock and the sleep of a redrive (tests pass their own, to run without waiting)."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def hold(self, started: float, done: int, per_second: int | None) -> None:
        """Sleep until `done` messages since `started` are within `per_second`."""
        if per_second:
            ahead = started + done / per_second - self.clock()
            if ahead > 0:
                self.sleep(ahead)


@dataclass(frozen=True)
class Queues:
    dead_letter_url: str
    dead_letter_arn: str
    source_url: str
    source_arn: str


@dataclass(frozen=True)
class MoveTask:
    """One StartMessageMoveTask task, as ListMessageMoveTasks reports it."""

    handle: str
    status: str
    moved: int = 0
    to_move: int | None = None
    failure_reason: str | None = None

    @classmethod
    def from_api(cls, entry: dict[str, Any]) -> MoveTask:
        return cls(
            handle=str(entry.get("TaskHandle", "")),
            status=str(entry.get("Status", "")),
            moved=int(entry.get("ApproximateNumberOfMessagesMoved", 0) or 0),
            to_move=entry.get("ApproximateNumberOfMessagesToMove"),
            failure_reason=entry.get("FailureReason"),
        )

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@dataclass
class RedriveResult:
    """What a redrive did (or, dry, would do)."""

    method: Literal["move-task", "copy"]
    dry_run: bool
    waiting: int
    """The dead-letter queue's ApproximateNumberOfMessages when the redrive began."""
    moved: int = 0
    failed: int = 0
    """Messages the copy could not send: they stay in the dead-letter queue."""
    not_deleted: int = 0
    """Messages sent but not deleted from the dead-letter queue: redriven again next time (harmless)."""
    task: MoveTask | None = None
    already_running: bool = False
    """A move task of the dead-letter queue was running already: reported, none started."""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        if self.task is not None and self.task.status in {"FAILED", "CANCELLED"}:
            return False
        return self.failed == 0

    def summary(self) -> dict[str, Any]:
        task = self.task
        return {
            "method": self.method,
            "dry_run": self.dry_run,
            "waiting": self.waiting,
            "moved": self.moved,
            "failed": self.failed,
            "not_deleted": self.not_deleted,
            "task": None if task is None else {**task.__dict__},
            "already_running": self.already_running,
            "notes": list(self.notes),
        }


def find_queues(sqs: Any, dead_letter_url: str | None, source_url: str | None = None) -> Queues:
    """The dead-letter queue and the queue to move its messages to: `source_url`, else the one queue
    whose RedrivePolicy names the dead-letter queue (ListDeadLetterSourceQueues)."""
    if not dead_letter_url:
        raise ConfigurationError(
            "the redrive needs DMARC_DEAD_LETTER_QUEUE_URL (the stack's output DeadLetterQueueUrl)"
        )
    sqs = _door(sqs)
    if not source_url:
        sources = sqs.list_dead_letter_source_queues(QueueUrl=dead_letter_url).get("queueUrls", [])
        if len(sources) != 1:
            found = ", ".join(sources) or "none"
            raise ConfigurationError(
                f"set DMARC_INGEST_QUEUE_URL: the queues that dead-letter into {dead_letter_url} are {found}"
            )
        source_url = str(sources[0])
    return Queues(dead_letter_url, _arn(sqs, dead_letter_url), source_url, _arn(sqs, source_url))


def _door(sqs: Any) -> Any:
    """The client behind the one door to AWS (its errors ours); imported late: boto3 is heavy."""
    from dmarc_store.aws_clients import translating

    return translating(sqs, "sqs")


def _arn(sqs: Any, queue_url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    return str(attributes["QueueArn"])


def _waiting(sqs: Any, queue_url: str) -> int:
    names = ["ApproximateNumberOfMessages"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return int(attributes.get("ApproximateNumberOfMessages", 0))


def redrive(
    sqs: Any,
    queues: Queues,
    options: RedriveOptions = RedriveOptions(),
    *,
    pace: Pace = Pace(),
    progress: Callable[[MoveTask], None] | None = None,
) -> RedriveResult:
    """Move the dead-letter queue's messages back to the source queue (see the module docstring).

    `progress` is called with each state of a move task while waiting for it."""
    sqs = _door(sqs)
    waiting = _waiting(sqs, queues.dead_letter_url)
    latest: MoveTask | None = None
    notes: list[str] = []
    method: Literal["move-task", "copy"] = "copy" if options.method == "copy" else "move-task"
    if method == "move-task":
        try:
            latest = _latest_task(sqs, queues.dead_letter_arn)
        except PermanentStoreError as error:
            if options.method == "move-task":
                raise
            method = "copy"
            notes.append(f"SQS move tasks are not available here ({error}): copying")
    result = RedriveResult(method=method, dry_run=options.dry_run, waiting=waiting, notes=notes)
    if latest is not None and latest.active:
        result.task, result.already_running = latest, True
        notes.append(f"a move task of this queue is running already ({latest.handle}): none started")
        if options.dry_run:
            return result
    elif options.dry_run or (waiting == 0 and method == "move-task"):
        return result
    elif method == "move-task":
        result.task = _start_task(sqs, queues, options, waiting)
    else:
        _copy(sqs, queues, options, pace, result)
        return result
    if options.wait and result.task is not None and result.task.active:
        result.task = _wait(sqs, queues.dead_letter_arn, result.task, pace, progress)
    result.moved = result.task.moved if result.task is not None else 0
    return result


def _latest_task(sqs: Any, dead_letter_arn: str) -> MoveTask | None:
    """The queue's most recent move task; PermanentStoreError where the endpoint has no move tasks."""
    try:
        answer = sqs.list_message_move_tasks(SourceArn=dead_letter_arn, MaxResults=1)
    except NotImplementedError as error:  # moto's answer to an action it does not implement
        raise PermanentStoreError(f"AWS sqs.list_message_move_tasks: {error}") from error
    tasks = answer.get("Results", [])
    return MoveTask.from_api(tasks[0]) if tasks else None


def _start_task(sqs: Any, queues: Queues, options: RedriveOptions, waiting: int) -> MoveTask:
    request: dict[str, Any] = {"SourceArn": queues.dead_letter_arn, "DestinationArn": queues.source_arn}
    if options.max_per_second:
        request["MaxNumberOfMessagesPerSecond"] = options.max_per_second
    handle = str(sqs.start_message_move_task(**request)["TaskHandle"])
    return MoveTask(handle=handle, status="RUNNING", to_move=waiting)


def _wait(
    sqs: Any,
    dead_letter_arn: str,
    task: MoveTask,
    pace: Pace,
    progress: Callable[[MoveTask], None] | None,
) -> MoveTask:
    """Poll ListMessageMoveTasks until the task (found by its handle) is no longer active, or until it
    has not been listed for LOST_POLLS polls in a row (it is then returned as last seen, still active)."""
    unlisted = 0
    while task.active and unlisted < LOST_POLLS:
        pace.sleep(POLL_SECONDS)
        entries = sqs.list_message_move_tasks(SourceArn=dead_letter_arn, MaxResults=10).get("Results", [])
        mine = [MoveTask.from_api(entry) for entry in entries if entry.get("TaskHandle") == task.handle]
        task, unlisted = (mine[0], 0) if mine else (task, unlisted + 1)
        if progress is not None:
            progress(task)
    return task


def _copy(sqs: Any, queues: Queues, options: RedriveOptions, pace: Pace, result: RedriveResult) -> None:
    """Receive, send, delete, a batch at a time, until the dead-letter queue has nothing new to give.

    A message seen before (its send failed, and it became visible again) is not sent twice in one run;
    a batch of nothing new ends the run, so it ends even when sends keep failing."""
    batch = min(BATCH, options.max_per_second or BATCH)
    seen: set[str] = set()
    started = pace.clock()
    while True:
        messages = sqs.receive_message(
            QueueUrl=queues.dead_letter_url,
            MaxNumberOfMessages=batch,
            WaitTimeSeconds=1,  # long polling asks every SQS server: an empty answer means empty
            VisibilityTimeout=COPY_VISIBILITY_SECONDS,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        fresh = [message for message in messages if message["MessageId"] not in seen]
        if not fresh:
            return
        seen.update(message["MessageId"] for message in fresh)
        sent = _send(sqs, queues.source_url, fresh)
        result.moved += len(sent)
        result.failed += len(fresh) - len(sent)
        result.not_deleted += _delete(sqs, queues.dead_letter_url, sent)
        pace.hold(started, result.moved + result.failed, options.max_per_second)


def _send(sqs: Any, queue_url: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages SendMessageBatch accepted."""
    entries = []
    for index, message in enumerate(messages):
        entry: dict[str, Any] = {"Id": str(index), "MessageBody": message["Body"]}
        if message.get("MessageAttributes"):
            entry["MessageAttributes"] = message["MessageAttributes"]
        entries.append(entry)
    answer = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    return [messages[int(sent["Id"])] for sent in answer.get("Successful", [])]


def _delete(sqs: Any, queue_url: str, messages: list[dict[str, Any]]) -> int:
    """Delete what was sent; the number of messages that could not be deleted."""
    if not messages:
        return 0
    entries = [{"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(messages)]
    answer = sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
    return len(answer.get("Failed", []))
