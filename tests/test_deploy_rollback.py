"""A deploy that fails can be run again: what the failed stack operation created is gone after its rollback,
or, where it is kept, its name is one CloudFormation generates, so the next deploy never stops at
"already exists". And what a deploy that worked created is kept, on removal and on replacement.

    DeletionPolicy RetainExceptOnCreate: kept like Retain, deleted when the operation that created it
    rolls back; UpdateReplacePolicy has no such value (Retain).
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html

The receipt rule's TLS policy is a param here too (requireTls): Require bounces mail sent without TLS.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.test_deploy_support import REPO, Packaged, packaged

__all__ = ["packaged"]  # the session fixture, imported to be used here

NAME_PROPERTIES = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SES::ReceiptRuleSet": "RuleSetName",
    "AWS::Glue::Database": "DatabaseInput",
    "AWS::Athena::WorkGroup": "Name",
}
"""The property that fixes each type's physical name (absent: CloudFormation generates one)."""


def resolve(raw: dict[str, str]) -> dict[str, Any]:
    """deploy/config.js resolveParams, through node."""
    script = (
        "const c = require('./deploy/config.js');"
        "const at = {stage: 'dev', region: 'us-east-1', service: 'dmarc'};"
        f"const r = c.resolveParams({json.dumps(raw)}, at);"
        "console.log(JSON.stringify(r));"
    )
    done = subprocess.run(["node", "-e", script], cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode:
        raise ValueError(done.stderr)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("name", ["DataBucket", "RufHashKeySecret"])
def test_the_data_is_kept_except_by_the_rollback_of_the_deploy_that_created_it(
    packaged: Packaged, name: str
) -> None:
    resource = packaged.resources[name]
    assert resource["DeletionPolicy"] == "RetainExceptOnCreate"
    assert resource["UpdateReplacePolicy"] == "Retain"


def test_the_table_is_kept_and_protected_and_its_name_is_generated(packaged: Packaged) -> None:
    """RetainExceptOnCreate would send DeleteTable to a protected table on rollback, which DynamoDB refuses
    (UPDATE_ROLLBACK_FAILED): the table keeps Retain, and a generated name, so that a table kept by a failed
    deploy never collides with the next one's (`make clean-failed-deploy` removes it)."""
    table = packaged.resources["DataTable"]
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert "TableName" not in table["Properties"]


def test_nothing_kept_by_a_rollback_has_a_fixed_name(packaged: Packaged) -> None:
    """Whatever survives the rollback of the operation that created it (DeletionPolicy Retain or Snapshot)
    must not hold a name the next deploy would ask for again."""
    for name, resource in packaged.resources.items():
        if resource.get("DeletionPolicy") in ("Retain", "Snapshot"):
            fixed = NAME_PROPERTIES.get(resource["Type"])
            assert fixed is None or fixed not in resource.get("Properties", {}), name


def test_with_delete_the_data_goes_with_the_stack_and_is_unprotected() -> None:
    config = resolve({"dataDeletionPolicy": "Delete"})
    assert config["dataDeletionPolicy"] == config["dataDeletionPolicyExceptOnCreate"] == "Delete"
    assert config["deletionProtection"] is False
    default = resolve({})
    assert (default["dataDeletionPolicy"], default["dataDeletionPolicyExceptOnCreate"]) == (
        "Retain",
        "RetainExceptOnCreate",
    )
    assert default["deletionProtection"] is True


def test_the_receipt_rule_requires_tls_unless_told_otherwise(packaged: Packaged) -> None:
    assert packaged.resources["ReceiptRule"]["Properties"]["Rule"]["TlsPolicy"] == "Require"
    assert resolve({})["tlsPolicy"] == "Require"
    assert resolve({"requireTls": "false"})["tlsPolicy"] == "Optional"
    assert resolve({"requireTls": " TRUE "})["tlsPolicy"] == "Require"
    with pytest.raises(ValueError, match='param "requireTls" = "maybe": true or false'):
        resolve({"requireTls": "maybe"})


def test_the_stack_names_the_rule_set_it_made_for_dmarc_ses(packaged: Packaged) -> None:
    outputs = packaged.template["Outputs"]
    own = outputs["OwnReceiptRuleSetName"]
    assert own["Condition"] == "CreateRuleSet"  # absent when the rule goes into an existing set
    assert own["Value"] == {"Ref": "ReceiptRuleSet"}
    assert outputs["ReceiptRuleSetName"]["Value"] == "dmarc-dev-receipts"


# ------------------------------------------------------------------ make clean-failed-deploy


class StackHistory:
    """CloudFormation's answers about a stack whose first deploys failed (moto records no DELETE_SKIPPED)."""

    def __init__(self, events: list[dict[str, str]], resources: dict[str, str]) -> None:
        self.events = events
        self.resources = resources

    def list_stack_resources(self, StackName: str, NextToken: str | None = None) -> dict[str, Any]:
        summaries = [{"LogicalResourceId": k, "PhysicalResourceId": v} for k, v in self.resources.items()]
        return {"StackResourceSummaries": summaries}

    def describe_stack_events(self, StackName: str, NextToken: str | None = None) -> dict[str, Any]:
        half = len(self.events) // 2  # two pages, as CloudFormation pages them
        if NextToken is None:
            return {"StackEvents": self.events[:half], "NextToken": "page-2"}
        return {"StackEvents": self.events[half:]}


def skipped(logical: str, physical: str) -> dict[str, str]:
    return {"LogicalResourceId": logical, "PhysicalResourceId": physical, "ResourceStatus": "DELETE_SKIPPED"}


def test_a_failed_deploy_s_empty_table_and_bucket_are_deleted_and_data_is_never(aws: None) -> None:
    import boto3

    from dmarc_store.aws_clients import AwsClients
    from dmarc_store.leftovers import clean, leftovers
    from tests.aws_support import create_table

    clients = AwsClients(session=boto3.session.Session(region_name="us-east-1"))
    dynamodb, s3 = clients.client("dynamodb"), clients.client("s3")
    for table in ("dmarc-dev-DataTable-FIRST", "dmarc-dev-DataTable-FULL", "dmarc-dev-DataTable-NOW"):
        create_table(dynamodb, table)
        dynamodb.update_table(TableName=table, DeletionProtectionEnabled=True)
    dynamodb.put_item(TableName="dmarc-dev-DataTable-FULL", Item={"PK": {"S": "r"}, "SK": {"S": "r"}})
    s3.create_bucket(Bucket="dmarc-dev-123456789012-us-east-1")
    history = StackHistory(
        [
            {
                "LogicalResourceId": "DataTable",
                "ResourceStatus": "CREATE_COMPLETE",
                "PhysicalResourceId": "x",
            },
            skipped("DataTable", "dmarc-dev-DataTable-FIRST"),
            skipped("DataTable", "dmarc-dev-DataTable-FULL"),
            skipped("DataBucket", "dmarc-dev-123456789012-us-east-1"),
            skipped("DataTable", "dmarc-dev-DataTable-NOW"),  # kept once, then the stack's table again
            skipped("IngestQueue", "https://sqs/queue"),  # not data: not ours to delete
        ],
        {"DataTable": "dmarc-dev-DataTable-NOW"},
    )
    found = leftovers(history, "dmarc-dev")
    assert [item.physical_id for item in found] == [
        "dmarc-dev-123456789012-us-east-1",
        "dmarc-dev-DataTable-FIRST",
        "dmarc-dev-DataTable-FULL",
    ]
    said = [clean(item, dynamodb=dynamodb, s3=s3, dry_run=True) for item in found]
    assert [line.split(": ", 1)[1].split(" ")[0] for line in said] == ["would", "would", "kept,"]
    said = [clean(item, dynamodb=dynamodb, s3=s3) for item in found]
    assert ["deleted" in said[0], "deleted" in said[1], "holds data" in said[2]] == [True, True, True]
    assert sorted(dynamodb.list_tables()["TableNames"]) == [
        "dmarc-dev-DataTable-FULL",
        "dmarc-dev-DataTable-NOW",
        "dmarc-reports-test",
    ]
    assert "dmarc-dev-123456789012-us-east-1" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    gone = clean(found[1], dynamodb=dynamodb, s3=s3)
    assert "could not be read" in gone
