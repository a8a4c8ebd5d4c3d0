"""A message whose report ran short of time goes round again at once, not after the visibility timeout.

A report too big for one invocation (`WriteDeferred`: a million records against DynamoDB's write
rate) has its progress recorded on its claim and the claim released. Its SQS message is failed like
any other, so it is redelivered and, past maxReceiveCount, dead-lettered; but rather than wait out the
queue's visibility timeout (six times the function's), it is made visible again now, and the next
invocation resumes the claim and writes only the items not yet written.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from dmarc_store.deadline import Deadline
from dmarc_store.errors import StoreError

__all__ = ["lambda_deadline", "queue_url", "redeliver_now"]


def lambda_deadline(context: Any) -> Deadline:
    """The invocation's deadline, from the Lambda context's remaining time."""
    return Deadline(lambda: context.get_remaining_time_in_millis() / 1000)


def queue_url(queue_arn: str) -> str:
    """The URL of the queue an ARN names (arn:aws:sqs:<region>:<account>:<name>)."""
    _, partition, _, region, account, name = queue_arn.split(":", 5)
    domain = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return f"https://sqs.{region}.{domain}/{account}/{name}"


@cache
def _sqs() -> Any:
    from dmarc_store.aws_clients import AwsClients

    return AwsClients().client("sqs")


def redeliver_now(queue_arn: str, receipt_handle: str, sqs: Any = None) -> bool:
    """Make a received message visible again at once (it stays failed: SQS counts the receive).

    False if SQS refused: the message then waits out its visibility timeout, later but not lost."""
    try:
        (sqs or _sqs()).change_message_visibility(
            QueueUrl=queue_url(queue_arn), ReceiptHandle=receipt_handle, VisibilityTimeout=0
        )
    except StoreError:
        return False
    return True
