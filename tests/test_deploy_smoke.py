"""Smoke deploy of the packaged template into moto's CloudFormation, then one SES-style e-mail through
the bucket, the queue and handlers.ingest.handler into DynamoDB and Parquet.

Deployed the way `serverless deploy` does it: the create-stack template (the deployment bucket), the
code zip uploaded to it, then the full template as a stack update.

moto is a smoke test only (cfn-lint and checkov validate the template):
- moto's CloudFormation skips some resource types; the test creates them with boto3 from their
  template properties (SKIPPED_BY_MOTO), and applies what it drops of the bucket (notifications,
  lifecycle, public access block) and of the table (TTL, point-in-time recovery) (DROPPED_BY_MOTO).
- Outputs that read attributes of resources moto skips are left out (moto refuses them).
- The custom resource that installs the views is left out of the stack: moto would have to run its
  Lambda in Docker. The test calls handlers.athena_setup with moto's Athena instead (runs no SQL).
- moto enforces the bucket policy but sees its in-process requests as plain HTTP: the TLS-only
  statement is checked to be accepted by S3, then left out so that requests can pass.
- moto cannot run the functions either, so its event source mapping is disabled and the test plays
  the Lambda poller: it receives the queue's messages in one batch, calls the handler with the event
  Lambda would build, and deletes the messages the handler did not report as failed.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from dmarc_store.settings import get_settings
from handlers import athena_setup
from tests.helpers import make_report
from tests.test_deploy_support import REGION, STAGE, Packaged, packaged
from tests.test_deploy_template import athena_type

__all__ = ["packaged"]  # the session fixture, imported to be used here
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")

ACCOUNT = "123456789012"
STACK = "dmarc-dev"
SKIPPED_BY_MOTO = {
    "AWS::S3::BucketPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::SES::ReceiptRuleSet",
    "AWS::SES::ReceiptRule",
    "AWS::SES::EmailIdentity",
    "AWS::Glue::Database",
    "AWS::Glue::Table",
    "AWS::Athena::WorkGroup",
    "AWS::Athena::NamedQuery",
    "AWS::CloudWatch::Alarm",
    "AWS::Lambda::EventInvokeConfig",  # the alerts' and the digest's retries of scheduled invocations
    "AWS::SecretsManager::Secret",  # the failure reports' hash key
}
DROPPED_BY_MOTO = {
    "DataBucket": ("NotificationConfiguration", "LifecycleConfiguration", "PublicAccessBlockConfiguration"),
    "DataTable": ("TimeToLiveSpecification", "PointInTimeRecoverySpecification"),
}
LEFT_OUT = {"AthenaViews"}  # Custom::AthenaViews: its Lambda would need Docker in moto


NO_VALUE = object()
"""`Ref: AWS::NoValue`: the property (or list item) is left out."""


class Resolver:
    """Evaluates the template's intrinsic functions against what the moto stack and the test created."""

    def __init__(self, template: dict[str, Any], physical: dict[str, str]) -> None:
        self.template = template
        self.physical = physical
        self.parameters = {
            name: spec.get("Default", "") for name, spec in template.get("Parameters", {}).items()
        }

    def condition(self, name: str) -> bool:
        return bool(self.value(self.template["Conditions"][name]))

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        pseudo = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
            "AWS::StackName": STACK,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return str(self.parameters[name])
        return self.physical[name]

    def get_att(self, name: str, attribute: str) -> str:
        kind, physical = self.template["Resources"][name]["Type"], self.physical[name]
        arns: dict[str, Callable[[], str]] = {
            "AWS::S3::Bucket": lambda: f"arn:aws:s3:::{physical}",
            "AWS::SQS::Queue": lambda: f"arn:aws:sqs:{REGION}:{ACCOUNT}:{physical.rsplit('/', 1)[1]}",
            "AWS::DynamoDB::Table": lambda: f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{physical}",
            "AWS::Logs::LogGroup": lambda: f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{physical}:*",
            "AWS::Lambda::Function": lambda: f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{physical}",
            "AWS::IAM::Role": lambda: f"arn:aws:iam::{ACCOUNT}:role/{physical}",
        }
        if attribute == "QueueName":
            return physical.rsplit("/", 1)[1]
        assert attribute == "Arn", (name, attribute)
        return arns[kind]()

    def sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in variables:
                return str(self.value(variables[token]))
            if "." in token and not token.startswith("AWS::"):
                return self.get_att(*token.split(".", 1))
            return str(self.ref(token))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [value for value in map(self.value, node) if value is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, argument),) = node.items()
            functions: dict[str, Callable[[Any], Any]] = {
                "Ref": self.ref,
                "Fn::GetAtt": lambda a: self.get_att(*(a.split(".", 1) if isinstance(a, str) else a)),
                "Fn::Sub": lambda a: self.sub(a, {}) if isinstance(a, str) else self.sub(a[0], a[1]),
                "Fn::If": lambda a: self.value(a[1] if self.condition(a[0]) else a[2]),
                "Fn::Equals": lambda a: self.value(a[0]) == self.value(a[1]),
                "Fn::Not": lambda a: not self.value(a[0]),
                "Fn::And": lambda a: all(self.value(item) for item in a),
                "Fn::Or": lambda a: any(self.value(item) for item in a),
                "Fn::Join": lambda a: a[0].join(str(x) for x in self.value(a[1])),
                "Condition": self.condition,
            }
            if key in functions:
                return functions[key](argument)
        values = {key: self.value(item) for key, item in node.items()}
        return {key: value for key, value in values.items() if value is not NO_VALUE}


@dataclass(frozen=True)
class Deployed:
    resolver: Resolver
    properties: Callable[[str], dict[str, Any]]
    bucket: str
    table: str
    queue_url: str
    queue_arn: str
    skipped: set[str]


def deploy(packaged: Packaged) -> Deployed:
    cfn, s3 = boto3.client("cloudformation"), boto3.client("s3")
    cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(packaged.create_template))
    deployment_bucket = physical_ids(cfn)["ServerlessDeploymentBucket"]
    template = json.loads(json.dumps(packaged.template))
    code = template["Resources"]["IngestLambdaFunction"]["Properties"]["Code"]
    s3.upload_file(str(packaged.zip_path), deployment_bucket, code["S3Key"])
    for name in LEFT_OUT:
        template["Resources"].pop(name)
    unsupported = {name for name, r in template["Resources"].items() if r["Type"] in SKIPPED_BY_MOTO}
    for name, output in list(template["Outputs"].items()):  # moto cannot read attributes of those
        if any(item in unsupported for item in json.dumps(output.get("Value")).split('"')):
            template["Outputs"].pop(name)
    cfn.update_stack(StackName=STACK, TemplateBody=json.dumps(template))
    (stack,) = cfn.describe_stacks(StackName=STACK)["Stacks"]
    assert stack["StackStatus"] == "UPDATE_COMPLETE", stack.get("StackStatusReason")

    physical = physical_ids(cfn)
    resolver = Resolver(template, physical)
    wanted = {
        name
        for name, resource in template["Resources"].items()
        if "Condition" not in resource or resolver.condition(resource["Condition"])
    }
    skipped = wanted - set(physical)
    assert {template["Resources"][name]["Type"] for name in skipped} <= SKIPPED_BY_MOTO

    def properties(name: str) -> dict[str, Any]:
        resolved: dict[str, Any] = resolver.value(template["Resources"][name].get("Properties", {}))
        return resolved

    queue_url = physical["IngestQueue"]
    return Deployed(
        resolver=resolver,
        properties=properties,
        bucket=physical["DataBucket"],
        table=physical["DataTable"],
        queue_url=queue_url,
        queue_arn=resolver.get_att("IngestQueue", "Arn"),
        skipped=skipped,
    )


def physical_ids(cfn: Any) -> dict[str, str]:
    resources = cfn.describe_stack_resources(StackName=STACK)["StackResources"]
    return {
        r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
        for r in resources
        if r.get("LogicalResourceId")
    }


def _create_secret(name: str, properties: dict[str, Any]) -> str:
    """A secret with a value generated as GenerateSecretString asks; its ARN (what Ref gives)."""
    secrets = boto3.client("secretsmanager")
    generated = properties["GenerateSecretString"]
    value = secrets.get_random_password(
        PasswordLength=generated["PasswordLength"],
        ExcludePunctuation=generated["ExcludePunctuation"],
        IncludeSpace=generated["IncludeSpace"],
    )["RandomPassword"]
    secret = secrets.create_secret(
        Name=f"{STACK}-{name}", Description=properties["Description"], SecretString=value
    )
    return str(secret["ARN"])


def create_what_moto_skips(stack: Deployed) -> None:
    """Create the skipped resources and apply the dropped properties from their template properties."""
    template = stack.resolver.template["Resources"]
    by_type: dict[str, list[str]] = {}
    for name in sorted(stack.skipped):
        by_type.setdefault(template[name]["Type"], []).append(name)
    glue, athena, ses = boto3.client("glue"), boto3.client("athena"), boto3.client("ses")
    s3, sqs, sns, cloudwatch = (
        boto3.client("s3"),
        boto3.client("sqs"),
        boto3.client("sns"),
        boto3.client("cloudwatch"),
    )
    physical = stack.resolver.physical

    for name in by_type.get("AWS::Glue::Database", []):
        database_input = stack.properties(name)["DatabaseInput"]
        glue.create_database(DatabaseInput=database_input)
        physical[name] = database_input["Name"]
    for name in by_type.get("AWS::Athena::WorkGroup", []):
        work_group = stack.properties(name)
        athena.create_work_group(Name=work_group["Name"], Configuration=work_group["WorkGroupConfiguration"])
        physical[name] = work_group["Name"]
    for name in by_type.get("AWS::Glue::Table", []):
        table = stack.properties(name)
        glue.create_table(DatabaseName=table["DatabaseName"], TableInput=table["TableInput"])
    for name in by_type.get("AWS::Athena::NamedQuery", []):
        athena.create_named_query(**stack.properties(name))
    for name in by_type.get("AWS::SES::EmailIdentity", []):
        boto3.client("sesv2").create_email_identity(EmailIdentity=stack.properties(name)["EmailIdentity"])
    for name in by_type.get("AWS::SES::ReceiptRuleSet", []):
        ses.create_receipt_rule_set(RuleSetName=stack.properties(name)["RuleSetName"])
        physical[name] = stack.properties(name)["RuleSetName"]
    for name in by_type.get("AWS::SES::ReceiptRule", []):
        rule = stack.properties(name)
        ses.create_receipt_rule(RuleSetName=rule["RuleSetName"], Rule=rule["Rule"])
    for name in by_type.get("AWS::S3::BucketPolicy", []):
        policy = stack.properties(name)
        s3.put_bucket_policy(Bucket=policy["Bucket"], Policy=json.dumps(policy["PolicyDocument"]))
        assert json.loads(s3.get_bucket_policy(Bucket=policy["Bucket"])["Policy"]) == policy["PolicyDocument"]
        # moto enforces bucket policies but sees its in-process requests as plain HTTP, so the TLS-only
        # statement would refuse them all: keep every other statement.
        document = dict(policy["PolicyDocument"])
        document["Statement"] = [
            statement
            for statement in document["Statement"]
            if "aws:SecureTransport" not in json.dumps(statement)
        ]
        s3.put_bucket_policy(Bucket=policy["Bucket"], Policy=json.dumps(document))
    for name in by_type.get("AWS::SQS::QueuePolicy", []):
        policy = stack.properties(name)
        for queue_url in policy["Queues"]:
            sqs.set_queue_attributes(
                QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy["PolicyDocument"])}
            )
    for name in by_type.get("AWS::SNS::TopicPolicy", []):
        policy = stack.properties(name)
        for topic in policy["Topics"]:
            sns.set_topic_attributes(
                TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(policy["PolicyDocument"])
            )
    for name in by_type.get("AWS::CloudWatch::Alarm", []):
        cloudwatch.put_metric_alarm(AlarmName=name, **stack.properties(name))
    for name in by_type.get("AWS::SecretsManager::Secret", []):
        physical[name] = _create_secret(name, stack.properties(name))

    bucket = stack.properties("DataBucket")
    s3.put_public_access_block(
        Bucket=stack.bucket, PublicAccessBlockConfiguration=bucket["PublicAccessBlockConfiguration"]
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket=stack.bucket,
        LifecycleConfiguration={
            "Rules": [lifecycle_rule(rule) for rule in bucket["LifecycleConfiguration"]["Rules"]]
        },
    )
    s3.put_bucket_notification_configuration(
        Bucket=stack.bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": configuration["Queue"],
                    "Events": [configuration["Event"]],
                    "Filter": {"Key": {"FilterRules": configuration["Filter"]["S3Key"]["Rules"]}},
                }
                for configuration in bucket["NotificationConfiguration"]["QueueConfigurations"]
            ]
        },
    )
    table = stack.properties("DataTable")
    dynamodb = boto3.client("dynamodb")
    dynamodb.update_time_to_live(
        TableName=stack.table, TimeToLiveSpecification=table["TimeToLiveSpecification"]
    )
    dynamodb.update_continuous_backups(
        TableName=stack.table, PointInTimeRecoverySpecification=table["PointInTimeRecoverySpecification"]
    )


def lifecycle_rule(rule: dict[str, Any]) -> Any:
    """CloudFormation's lifecycle rule shape -> the S3 API's."""
    api: dict[str, Any] = {
        "ID": rule["Id"],
        "Status": rule["Status"],
        "Filter": {"Prefix": rule.get("Prefix", "")},
    }
    if "ExpirationInDays" in rule:
        api["Expiration"] = {"Days": rule["ExpirationInDays"]}
    if rule.get("ExpiredObjectDeleteMarker"):
        api["Expiration"] = {"ExpiredObjectDeleteMarker": True}
    if "NoncurrentVersionExpiration" in rule:
        api["NoncurrentVersionExpiration"] = rule["NoncurrentVersionExpiration"]
    if "AbortIncompleteMultipartUpload" in rule:
        api["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
    return api


@dataclass(frozen=True)
class LambdaContext:
    function_name: str = "dmarc-dev-ingest"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1769
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:dmarc-dev-ingest"
    aws_request_id: str = "c0ffee00-0000-4000-8000-000000000001"
    log_group_name: str = "/aws/lambda/dmarc-dev-ingest"
    log_stream_name: str = "2026/11/28/[$LATEST]smoke"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def sqs_event(messages: list[Any], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS poller gives the function for one batch."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for message in messages
        ]
    }


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws(config={"lambda": {"use_docker": False}}):
        yield


def function_environment(stack: Deployed, function: str) -> dict[str, str]:
    variables: dict[str, str] = stack.properties(function)["Environment"]["Variables"]
    kept_by_moto = boto3.client("lambda").get_function_configuration(
        FunctionName=stack.resolver.physical[function]
    )
    for name, value in kept_by_moto.get("Environment", {}).get("Variables", {}).items():
        assert variables[name] == value, name  # moto and this test resolve the template alike
    return variables


@pytest.mark.slow
def test_an_ses_email_flows_from_the_bucket_through_the_queue_into_dynamodb_and_parquet(
    packaged: Packaged, aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    stack = deploy(packaged)
    expected = set(SKIPPED_BY_MOTO)
    if not packaged.of_type("AWS::Athena::NamedQuery"):
        expected.discard("AWS::Athena::NamedQuery")
    assert {stack.resolver.template["Resources"][name]["Type"] for name in stack.skipped} == expected
    create_what_moto_skips(stack)

    # The views, as the custom resource would install them (moto's Athena accepts, runs nothing).
    views = json.loads(json.dumps(packaged.resources["AthenaViews"]))
    views_event = {
        "RequestType": "Create",
        "ResponseURL": "https://example.invalid/response",
        "StackId": STACK,
        "RequestId": "r-1",
        "LogicalResourceId": "AthenaViews",
        "ResourceProperties": stack.resolver.value(views["Properties"]),
    }
    answers: list[bytes] = []
    status = athena_setup.handle(
        views_event,
        LambdaContext(),
        boto3.client("athena"),
        lambda _url, body: answers.append(body),
        lambda _: None,
    )
    assert status == "SUCCESS", answers

    # Nothing may poll the queue but this test (moto would "invoke" the function and delete the messages).
    lambda_client = boto3.client("lambda")
    for mapping in lambda_client.list_event_source_mappings()["EventSourceMappings"]:
        lambda_client.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)

    # SES stores the raw message under incoming/<SES message id>.
    email = tmp_path / "report.eml"
    summary = make_report(email, 20, 1, "--eml")
    s3 = boto3.client("s3")
    s3.put_object(
        Bucket=stack.bucket, Key="incoming/0100019ec0f4f3a1-4c1e7b2d-smoke-000000", Body=email.read_bytes()
    )

    sqs = boto3.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=stack.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=1
    ).get("Messages", [])
    bodies = [json.loads(message["Body"]) for message in messages]
    events = [body.get("Event") or body["Records"][0]["eventName"] for body in bodies]
    assert "ObjectCreated:Put" in events, events

    for name, value in function_environment(stack, "IngestLambdaFunction").items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    ingest = importlib.reload(sys.modules["handlers.ingest"]) if "handlers.ingest" in sys.modules else None
    ingest = ingest or importlib.import_module("handlers.ingest")
    try:
        response = ingest.handler(sqs_event(messages, stack.queue_arn), LambdaContext())
    finally:
        get_settings.cache_clear()
    assert response == {"batchItemFailures": []}
    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    for message in messages:
        if message["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"])

    items = boto3.client("dynamodb").scan(TableName=stack.table)["Items"]
    metas = [item for item in items if item["SK"]["S"] == "META"]
    records = [item for item in items if item["SK"]["S"].startswith("REC#")]
    assert len(metas) == 1
    assert metas[0]["status"]["S"] == "COMPLETE"
    assert metas[0]["source_key"]["S"] == "incoming/0100019ec0f4f3a1-4c1e7b2d-smoke-000000"
    assert len(records) == 20
    assert all(item["GSI1PK"]["S"].startswith("IP#") for item in records)

    glue = boto3.client("glue")
    for table, expected_rows in (("reports", 1), ("records", 20)):
        keys = [
            o["Key"] for o in s3.list_objects_v2(Bucket=stack.bucket, Prefix=f"parquet/{table}/")["Contents"]
        ]
        (key,) = keys
        assert re.fullmatch(rf"parquet/{table}/dt=\d{{4}}-\d{{2}}-\d{{2}}/[^/]+\.parquet", key), key
        parquet = pq.read_table(BytesIO(s3.get_object(Bucket=stack.bucket, Key=key)["Body"].read()))
        assert parquet.num_rows == expected_rows
        columns = glue.get_table(DatabaseName=f"dmarc_{STAGE}", Name=table)["Table"]["StorageDescriptor"][
            "Columns"
        ]
        assert [(c["Name"], c["Type"]) for c in columns] == [
            (f.name, athena_type(f.type)) for f in parquet.schema
        ]
        if table == "reports":
            row = parquet.to_pylist()[0]
            assert (row["report_id"], row["message_total"]) == (
                summary["report_id"],
                summary["message_total"],
            )
