"""What a failed deploy kept: the stack's data resources that a rollback skipped deleting, found by the
stack's own events, and deleted only when empty (never data).

CloudFormation records a resource its DeletionPolicy kept as a `DELETE_SKIPPED` event. The bucket and
the secret are deleted by the rollback of the deploy that created them (RetainExceptOnCreate), the table
is not: its deletion protection would make the rollback fail, so it keeps Retain, and a generated name
(deploy/resources.yml). Each deploy that failed after creating the table leaves one empty table; a bucket
is left only by a stack deployed before RetainExceptOnCreate, and then its fixed name stops the next
deploy with "already exists".
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithTables.Basics.html#WorkingWithTables.Basics.DeletionProtection

    leftovers(cloudformation, stack)                         what rollbacks kept and the stack no longer has
    clean(leftover, dynamodb=..., s3=..., dry_run=...)       delete it if empty; say what was done
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dmarc_store.errors import PermanentStoreError

__all__ = ["KEPT_BY_ROLLBACK", "Leftover", "clean", "leftovers"]

KEPT_BY_ROLLBACK = {"DataTable": "AWS::DynamoDB::Table", "DataBucket": "AWS::S3::Bucket"}
"""The stack's resources a rollback may keep (DeletionPolicy Retain), by logical id."""


@dataclass(frozen=True)
class Leftover:
    logical_id: str
    resource_type: str
    physical_id: str
    """The table's or the bucket's name."""


def _pages(call: Any, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    token: str | None = None
    while True:
        page = call(**kwargs, **({"NextToken": token} if token else {}))
        yield from page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return


def leftovers(cloudformation: Any, stack: str) -> list[Leftover]:
    """Table and bucket that a rollback of `stack` kept (DELETE_SKIPPED) and that are not the stack's now."""
    current = {
        item["LogicalResourceId"]: item.get("PhysicalResourceId")
        for item in _pages(cloudformation.list_stack_resources, "StackResourceSummaries", StackName=stack)
    }
    found: dict[str, Leftover] = {}
    for event in _pages(cloudformation.describe_stack_events, "StackEvents", StackName=stack):
        logical, physical = event.get("LogicalResourceId", ""), event.get("PhysicalResourceId")
        if event.get("ResourceStatus") != "DELETE_SKIPPED" or logical not in KEPT_BY_ROLLBACK or not physical:
            continue
        if physical != current.get(logical):
            found[physical] = Leftover(logical, KEPT_BY_ROLLBACK[logical], physical)
    return sorted(found.values(), key=lambda item: (item.logical_id, item.physical_id))


def clean(leftover: Leftover, *, dynamodb: Any, s3: Any, dry_run: bool = False) -> str:
    """Delete one leftover if it holds nothing; return what happened, in words."""
    name = leftover.physical_id
    try:
        empty = (
            _table_is_empty(dynamodb, name)
            if leftover.logical_id == "DataTable"
            else _bucket_is_empty(s3, name)
        )
    except PermanentStoreError as error:
        return f"{name}: left as it is, it could not be read ({error})"
    if not empty:
        return f"{name}: kept, it holds data (delete it yourself if it should go)"
    if dry_run:
        return f"{name}: would delete the empty {leftover.resource_type}"
    if leftover.logical_id == "DataTable":
        dynamodb.update_table(TableName=name, DeletionProtectionEnabled=False)
        dynamodb.delete_table(TableName=name)
    else:
        s3.delete_bucket(Bucket=name)
    return f"{name}: deleted the empty {leftover.resource_type}"


def _table_is_empty(dynamodb: Any, name: str) -> bool:
    page = dynamodb.scan(TableName=name, Limit=1, Select="COUNT")
    return int(page.get("Count", 0)) == 0 and "LastEvaluatedKey" not in page


def _bucket_is_empty(s3: Any, name: str) -> bool:
    page = s3.list_object_versions(Bucket=name, MaxKeys=1)
    return not page.get("Versions") and not page.get("DeleteMarkers")
