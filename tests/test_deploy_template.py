"""The packaged CloudFormation template says what issue 5 asks, property by property."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from dmarc_model import dns
from dmarc_model.alerts import AlertThresholds
from dmarc_model.schema import SCHEMAS
from dmarc_store.retention import projection_range
from dmarc_store.settings import Settings
from dmarc_store.thresholds import PREFIXES, threshold_settings
from tests import test_deploy_lint as lint
from tests.test_deploy_support import (
    ALERTS_ON,
    REPO,
    Packaged,
    as_list,
    package_once,
    packaged,
    packaged_with_alerts,
    shared_tmp,
    statements,
)

__all__ = ["packaged", "packaged_with_alerts"]  # the session fixtures, imported to be used here

TLS_ON = ("tlsReportingEndpoint=true",)
"""The params of `packaged_with_tls`: the HTTPS reporting endpoint on (deploy/tls_upload.yml)."""


@pytest.fixture(scope="session")
def packaged_with_tls() -> Packaged:
    """The stack with the TLS report endpoint on (`TLS_ON`)."""
    return package_once(shared_tmp(), TLS_ON, name="package-tls")


FUNCTIONS = {
    "IngestLambdaFunction": "handlers/ingest.handler",
    "CompactLambdaFunction": "handlers/compact.handler",
    "ClassifyLambdaFunction": "handlers/classify.handler",
    "RefreshLambdaFunction": "handlers/refresh.handler",
    "LookupLambdaFunction": "handlers/lookup.handler",
    "AthenaSetupLambdaFunction": "handlers/athena_setup.handler",
    "AlertsLambdaFunction": "handlers/alerts.handler",
    "DigestLambdaFunction": "handlers/digest.handler",
    "TlsUploadLambdaFunction": "handlers/tls_upload.handler",  # under TlsReportingEnabled (off by default)
}
PANDAS_LAYER = re.compile(r"^arn:aws:lambda:us-east-1:\d{12}:layer:AWSSDKPandas-Python312-Arm64:\d+$")
ALARM_TOPIC = {"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}
"""Every alarm's action: the stack's topic, or the alarmTopicArn param's (tests/test_deploy_operations.py)."""


def sub_text(value: Any) -> str:
    """The text of a Fn::Sub (or a plain string), for assertions on ARNs and prefixes."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return str(sub if isinstance(sub, str) else sub[0])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        name, attribute = value["Fn::GetAtt"]
        return f"${{{name}.{attribute}}}"
    if isinstance(value, dict) and "Ref" in value:
        return f"${{{value['Ref']}}}"
    raise AssertionError(f"unexpected value {value!r}")


def only(mapping: dict[str, Any]) -> Any:
    """The one value of a one-entry mapping."""
    (value,) = mapping.values()
    return value


def props(packaged: Packaged, name: str) -> dict[str, Any]:
    properties: dict[str, Any] = packaged.resources[name]["Properties"]
    return properties


# ------------------------------------------------------------------------------------------------ S3


def test_bucket_is_encrypted_private_versioned_and_kept_on_removal(packaged: Packaged) -> None:
    bucket = packaged.resources["DataBucket"]
    properties = bucket["Properties"]
    rule = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    # Kept, except by the rollback of the deploy that created it (tests/test_deploy_rollback.py).
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")


def test_bucket_policy_denies_plain_http_and_lets_only_our_ses_rule_write_incoming(
    packaged: Packaged,
) -> None:
    policy = props(packaged, "DataBucketPolicy")
    assert policy["Bucket"] == {"Ref": "DataBucket"}
    by_sid = {statement["Sid"]: statement for statement in statements(policy["PolicyDocument"])}
    deny = by_sid["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert {sub_text(resource) for resource in deny["Resource"]} == {
        "${DataBucket.Arn}",
        "${DataBucket.Arn}/*",
    }
    ses = by_sid["AllowSesToStoreIncomingMail"]
    assert ses["Principal"] == {"Service": "ses.amazonaws.com"}
    assert ses["Action"] == "s3:PutObject"
    assert sub_text(ses["Resource"]) == "${DataBucket.Arn}/incoming/*"
    assert ses["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source_arn = sub_text(ses["Condition"]["ArnLike"]["aws:SourceArn"])
    assert source_arn == (
        "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:"
        "receipt-rule-set/dmarc-dev-receipts:receipt-rule/dmarc-dev-store-reports"
    )
    assert set(by_sid) == {"DenyInsecureTransport", "AllowSesToStoreIncomingMail"}


def test_lifecycle_expires_raw_mail_quarantine_and_athena_results_by_prefix(packaged: Packaged) -> None:
    rules = {rule["Id"]: rule for rule in props(packaged, "DataBucket")["LifecycleConfiguration"]["Rules"]}
    expiring = {rule["Prefix"]: rule["ExpirationInDays"] for rule in rules.values() if "Prefix" in rule}
    assert expiring == {"incoming/": 90, "quarantine/": 180, "ruf-raw/": 7, "athena-results/": 7}
    assert rules["expire-ruf-raw"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    assert all(rule["Status"] == "Enabled" for rule in rules.values())
    tidy = rules["tidy-old-versions-and-uploads"]
    assert tidy["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert tidy["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert not any(prefix.startswith(("parquet", "uploads")) for prefix in expiring)  # retention 0: kept


def lifecycle_for(*params: str) -> dict[str, Any]:
    """Prefix -> expiration days of the lifecycle, plus "projection" and "env", from deploy/config.js."""
    script = (
        "const c = require('./deploy/config.js');"
        "const raw = Object.fromEntries(process.argv.slice(1).map((p) => p.split('=')));"
        "const r = c.resolveParams(raw, {stage: 'dev', region: 'us-east-1', service: 'dmarc'});"
        "console.log(JSON.stringify([r.lifecycleRules, r.projectionRange, r.env]));"
    )
    result = subprocess.run(
        ["node", "-e", script, *params], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    )
    rules, projection, env = json.loads(result.stdout)
    expiring = {rule["Prefix"]: rule["ExpirationInDays"] for rule in rules if "Prefix" in rule}
    return {**expiring, "projection": projection, "env": env}


def test_one_retention_caps_every_raw_prefix_and_sets_ttl_and_projection_by_report_date() -> None:
    long = lifecycle_for("retentionDays=400")
    assert long == {
        "incoming/": 90,
        "uploads/": 400,
        "quarantine/": 180,
        "ruf-raw/": 7,
        "athena-results/": 7,
        "projection": "NOW-399DAYS,NOW",
        "env": {
            "DMARC_RETENTION_DAYS": "400",
            "DMARC_EARLIEST_REPORT_DATE": "2012-01-01",
            "DMARC_RUF_RAW_RETENTION_DAYS": "7",
        },
    }
    short = lifecycle_for("retentionDays=30", "earliestReportDate=2020-02-29")
    assert {prefix: short[prefix] for prefix in ("incoming/", "uploads/", "quarantine/")} == dict.fromkeys(
        ("incoming/", "uploads/", "quarantine/"), 30
    )
    assert short["projection"] == "NOW-29DAYS,NOW"
    assert short["env"]["DMARC_EARLIEST_REPORT_DATE"] == "2020-02-29"
    assert not any(str(prefix).startswith("parquet") for prefix in short)  # by report date: the prune
    forever = lifecycle_for("earliestReportDate=2016-01-01")
    assert forever["projection"] == "2016-01-01,NOW"
    assert "uploads/" not in forever


def test_failure_report_mail_moves_to_a_short_lived_prefix_and_its_key_is_a_secret_of_the_stack(
    packaged: Packaged,
) -> None:
    assert lifecycle_for("rufRawRetentionDays=3")["ruf-raw/"] == 3
    grants: dict[str, set[str]] = {}
    (policy,) = packaged.resources["IngestRole"]["Properties"]["Policies"]
    for statement in statements(policy["PolicyDocument"]):
        for resource in as_list(statement["Resource"]):
            grants.setdefault(sub_text(resource), set()).update(as_list(statement["Action"]))
    assert grants["${DataBucket.Arn}/ruf-raw/*"] == {"s3:PutObject"}  # written, never read back
    for prefix in ("incoming", "uploads"):
        assert {"s3:DeleteObject", "s3:DeleteObjectVersion"} <= grants[f"${{DataBucket.Arn}}/{prefix}/*"]
    assert not any(
        "s3:Delete" in action for key, acts in grants.items() if "parquet" in key for action in acts
    )
    assert grants["${RufHashKeySecret}"] == {"secretsmanager:GetSecretValue"}
    secret = packaged.resources["RufHashKeySecret"]
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    variables = props(packaged, "IngestLambdaFunction")["Environment"]["Variables"]
    assert variables["DMARC_RUF_HASH_KEY_SECRET"] == {"Ref": "RufHashKeySecret"}


def test_bucket_notifies_the_ingest_queue_of_incoming_and_uploads_only(packaged: Packaged) -> None:
    bucket = packaged.resources["DataBucket"]
    configurations = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    prefixes = {}
    for configuration in configurations:
        assert configuration["Event"] == "s3:ObjectCreated:*"
        assert configuration["Queue"] == {"Fn::GetAtt": ["IngestQueue", "Arn"]}
        (rule,) = configuration["Filter"]["S3Key"]["Rules"]
        prefixes[rule["Value"]] = rule["Name"]
    assert prefixes == {"incoming/": "prefix", "uploads/": "prefix"}
    assert "IngestQueuePolicy" in as_list(bucket["DependsOn"])


# ------------------------------------------------------------------------------------------------ SES


def test_the_receiving_domain_is_an_ses_identity_unless_told_it_is_verified_already(
    packaged: Packaged,
) -> None:
    identity = packaged.resources["ReceivingDomainIdentity"]
    assert identity["Condition"] == "CreateIdentity"
    assert identity["Properties"]["EmailIdentity"] == "reports.example.com"
    assert packaged.template["Parameters"]["CreateDomainIdentity"]["Default"] == "true"
    assert "ReceivingDomainDkimRecords" in packaged.template["Outputs"]


def test_receipt_rule_stores_mail_for_the_rua_address_with_scanning_and_tls(packaged: Packaged) -> None:
    rule = props(packaged, "ReceiptRule")
    assert rule["RuleSetName"] == {
        "Fn::If": ["CreateRuleSet", {"Ref": "ReceiptRuleSet"}, {"Ref": "ExistingRuleSet"}]
    }
    body = rule["Rule"]
    assert body["Name"] == "dmarc-dev-store-reports"
    assert body["Recipients"] == ["dmarc@reports.example.com"]
    assert body["Enabled"] is True
    assert body["ScanEnabled"] is True
    assert body["TlsPolicy"] == "Require"
    assert body["Actions"] == [
        {"S3Action": {"BucketName": {"Ref": "DataBucket"}, "ObjectKeyPrefix": "incoming/"}}
    ]
    assert "DataBucketPolicy" in as_list(packaged.resources["ReceiptRule"]["DependsOn"])


def test_rule_set_is_ours_unless_an_existing_active_set_is_named(packaged: Packaged) -> None:
    rule_set = packaged.resources["ReceiptRuleSet"]
    assert rule_set["Condition"] == "CreateRuleSet"
    assert rule_set["Properties"]["RuleSetName"] == "dmarc-dev-receipts"
    assert packaged.template["Conditions"]["CreateRuleSet"] == {
        "Fn::Equals": [{"Ref": "ExistingRuleSet"}, ""]
    }
    assert packaged.template["Parameters"]["ExistingRuleSet"]["Default"] == ""
    activate = packaged.template["Outputs"]["ActivateRuleSetCommand"]
    assert "dmarc ses activate --aws" in sub_text(activate["Value"])  # refuses to replace another set


# ------------------------------------------------------------------------------------------------ SQS


def test_queues_are_encrypted_and_redrive_to_the_dlq_after_a_few_receives(packaged: Packaged) -> None:
    queue, dlq = props(packaged, "IngestQueue"), props(packaged, "IngestDeadLetterQueue")
    assert queue["SqsManagedSseEnabled"] is True
    assert dlq["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["IngestDeadLetterQueue", "Arn"]}
    assert 3 <= queue["RedrivePolicy"]["maxReceiveCount"] <= 5
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_visibility_timeout_is_at_least_six_times_the_ingest_timeout(packaged: Packaged) -> None:
    timeout = props(packaged, "IngestLambdaFunction")["Timeout"]
    mapping = props(packaged, "IngestEventSourceMappingSQSIngestQueue")
    window = mapping.get("MaximumBatchingWindowInSeconds", 0)
    assert props(packaged, "IngestQueue")["VisibilityTimeout"] >= 6 * timeout + window


def test_queue_policy_lets_only_our_bucket_send(packaged: Packaged) -> None:
    policy = props(packaged, "IngestQueuePolicy")
    assert policy["Queues"] == [{"Ref": "IngestQueue"}]
    by_sid = {statement["Sid"]: statement for statement in statements(policy["PolicyDocument"])}
    allow = by_sid["AllowBucketNotifications"]
    assert allow["Principal"] == {"Service": "s3.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    bucket_name = sub_text(props(packaged, "DataBucket")["BucketName"])
    assert bucket_name == "dmarc-dev-${AWS::AccountId}-${AWS::Region}"
    assert (
        sub_text(allow["Condition"]["ArnEquals"]["aws:SourceArn"])
        == f"arn:${{AWS::Partition}}:s3:::{bucket_name}"
    )
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert by_sid["DenyInsecureTransport"]["Effect"] == "Deny"


# ------------------------------------------------------------------------------------------------ Lambda


def test_functions_run_python_3_12_on_arm64_with_their_own_role(packaged: Packaged) -> None:
    functions = packaged.of_type("AWS::Lambda::Function")
    assert set(functions) == set(FUNCTIONS)
    roles = set()
    for name, handler in FUNCTIONS.items():
        properties = functions[name]["Properties"]
        assert properties["Handler"] == handler
        assert properties["Runtime"] == "python3.12"
        assert properties["Architectures"] == ["arm64"]
        roles.add(properties["Role"]["Fn::GetAtt"][0])
    assert len(roles) == len(FUNCTIONS)


def test_pandas_layer_is_the_managed_one_and_only_where_pandas_or_pyarrow_is_used(packaged: Packaged) -> None:
    for name in (
        "IngestLambdaFunction",
        "CompactLambdaFunction",
        "ClassifyLambdaFunction",
        "LookupLambdaFunction",
        "AlertsLambdaFunction",  # Athena through awswrangler
        "DigestLambdaFunction",
    ):
        (layer,) = props(packaged, name)["Layers"]
        assert PANDAS_LAYER.match(layer), layer
    assert "Layers" not in props(packaged, "AthenaSetupLambdaFunction")
    assert "Layers" not in props(packaged, "TlsUploadLambdaFunction")  # it never imports pyarrow


def test_ingest_reads_the_queue_in_batches_with_partial_failures(packaged: Packaged) -> None:
    mapping = props(packaged, "IngestEventSourceMappingSQSIngestQueue")
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["IngestQueue", "Arn"]}
    assert mapping["FunctionName"] == {"Fn::GetAtt": ["IngestLambdaFunction", "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 1 < mapping["BatchSize"] <= 10
    assert mapping["ScalingConfig"]["MaximumConcurrency"] >= 2


def _schedules(packaged: Packaged) -> dict[str, str]:
    """Function resource -> the schedule expression of the rule targeting it."""
    found = {}
    for rule in packaged.of_type("AWS::Events::Rule").values():
        (target,) = rule["Properties"]["Targets"]
        found[target["Arn"]["Fn::GetAtt"][0]] = rule["Properties"]["ScheduleExpression"]
    return found


def test_compact_runs_daily_and_the_refresh_weekly(packaged: Packaged) -> None:
    schedules = _schedules(packaged)
    assert set(schedules) == {"CompactLambdaFunction", "RefreshLambdaFunction"}
    assert re.fullmatch(r"cron\(\d+ \d+ \* \* \? \*\)", schedules["CompactLambdaFunction"])  # every day
    assert re.fullmatch(r"cron\(\d+ \d+ \? \* [A-Z]{3} \*\)", schedules["RefreshLambdaFunction"])  # a weekday


def test_every_function_environment_variable_is_a_settings_field_or_powertools(packaged: Packaged) -> None:
    fields = {f"DMARC_{name.upper()}" for name in Settings.model_fields}
    for cls, prefix in PREFIXES.items():  # the alert and plan thresholds (dmarc_store.thresholds)
        fields |= {f"{prefix}{name.upper()}" for name in threshold_settings(cls).model_fields}
    seen: set[str] = set()
    for name in FUNCTIONS:
        variables = props(packaged, name)["Environment"]["Variables"]
        for variable in variables:
            assert variable.startswith(("DMARC_", "POWERTOOLS_")), f"{name}: {variable} is read by nothing"
            if variable.startswith("DMARC_"):
                assert variable in fields, (
                    f"{name}: {variable} is not a field of dmarc_store.settings.Settings"
                )
        seen |= set(variables)
    assert {"DMARC_BUCKET", "DMARC_TABLE"} <= seen
    assert seen & {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL"}


def test_every_function_has_the_retention_and_earliest_report_date_of_the_stack(packaged: Packaged) -> None:
    """The ingest window, the TTL, the prune and the lookups all read the same two values."""
    for name in FUNCTIONS:
        variables = props(packaged, name)["Environment"]["Variables"]
        assert variables["DMARC_RETENTION_DAYS"] == "0"
        assert variables["DMARC_EARLIEST_REPORT_DATE"] == "2012-01-01"


def test_every_function_logs_to_a_log_group_with_retention(packaged: Packaged) -> None:
    groups = packaged.of_type("AWS::Logs::LogGroup")
    assert len(groups) == len(FUNCTIONS)
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == 30


# ------------------------------------------------------------------------------------------------ IAM

OBJECT_PREFIX = re.compile(r"/[A-Za-z0-9_.-]+/\*$")


def allowed_resource_is_named(resource: Any) -> bool:
    """A Ref/GetAtt of a template resource, or an ARN whose only `*` is an S3 key prefix's tail."""
    if isinstance(resource, dict) and ("Ref" in resource or "Fn::GetAtt" in resource):
        return True
    text = sub_text(resource)
    if "*" not in text:
        return True
    return text.count("*") == 1 and bool(OBJECT_PREFIX.search(text))


def all_policies(packaged: Packaged) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, role in packaged.of_type("AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            found.append((f"{name}/{policy['PolicyName']}", policy["PolicyDocument"]))
    for name, policy in packaged.of_type("AWS::IAM::ManagedPolicy").items():
        found.append((name, policy["Properties"]["PolicyDocument"]))
    for name, policy in packaged.of_type("AWS::IAM::RolePolicy").items():
        found.append((name, policy["Properties"]["PolicyDocument"]))
    return found


def test_iam_allows_named_actions_on_named_resources_only(packaged: Packaged) -> None:
    policies = all_policies(packaged)
    assert len(policies) >= 5
    for where, document in policies:
        for statement in statements(document):
            assert statement["Effect"] == "Allow", where
            for action in as_list(statement["Action"]):
                assert "*" not in action, f"{where}: wildcard action {action}"
            if statement["Resource"] == "*" and as_list(statement["Action"]) == ["athena:ListWorkGroups"]:
                continue  # takes no resource ARN: QuickSight's workgroup list (tests/test_deploy_iam.py)
            for resource in as_list(statement["Resource"]):
                assert allowed_resource_is_named(resource), f"{where}: {resource} is not a named resource"


def test_the_refresh_writes_only_under_reference_and_ingest_only_reads_it(packaged: Packaged) -> None:
    def object_grants(role: str) -> dict[str, set[str]]:
        grants: dict[str, set[str]] = {}
        (policy,) = packaged.resources[role]["Properties"]["Policies"]
        for statement in statements(policy["PolicyDocument"]):
            for resource in as_list(statement["Resource"]):
                if sub_text(resource).startswith("${DataBucket.Arn}/"):
                    grants.setdefault(sub_text(resource), set()).update(as_list(statement["Action"]))
        return grants

    assert object_grants("RefreshRole") == {"${DataBucket.Arn}/reference/*": {"s3:GetObject", "s3:PutObject"}}
    for role in ("IngestRole", "ClassifyRole"):
        assert object_grants(role)["${DataBucket.Arn}/reference/*"] == {"s3:GetObject"}


SCHEDULE_ROLES = {"AlertsScheduleRole": "AlertsLambdaFunction", "DigestScheduleRole": "DigestLambdaFunction"}


def test_roles_are_for_lambda_only_but_the_schedules_which_invoke_one_function_each(
    packaged: Packaged,
) -> None:
    for name, role in packaged.of_type("AWS::IAM::Role").items():
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert "ManagedPolicyArns" not in role["Properties"], name
        if name not in SCHEDULE_ROLES:
            assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}, name
            continue
        assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}, name
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
        (policy,) = role["Properties"]["Policies"]
        (grant,) = statements(policy["PolicyDocument"])
        assert grant["Action"] == "lambda:InvokeFunction"
        assert grant["Resource"] == {"Fn::GetAtt": [SCHEDULE_ROLES[name], "Arn"]}


def test_each_role_reaches_what_its_function_does_and_no_more(packaged: Packaged) -> None:
    def actions(role: str) -> set[str]:
        policies = packaged.resources[role]["Properties"]["Policies"]
        return {
            action
            for policy in policies
            for statement in statements(policy["PolicyDocument"])
            for action in as_list(statement["Action"])
        }

    ingest, compact, lookup, setup = (
        actions(f"{n}Role") for n in ("Ingest", "Compact", "Lookup", "AthenaSetup")
    )
    assert {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "dynamodb:PutItem",
        "s3:GetObject",
        "s3:PutObject",
    } <= ingest
    assert not any(action.startswith(("athena:", "glue:")) for action in ingest)
    assert "s3:DeleteObject" in compact
    assert not any(action.startswith(("dynamodb:", "sqs:")) for action in compact)
    classify = actions("ClassifyRole")
    assert classify == {"logs:CreateLogStream", "logs:PutLogEvents", "s3:ListBucket", "s3:GetObject"} | {
        "s3:PutObject",
        "s3:DeleteObject",
    }
    refresh = actions("RefreshRole")
    assert refresh == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "s3:ListBucket",
        "s3:GetObject",
        "s3:PutObject",
    }
    assert {action.split(":")[0] for action in lookup} == {"logs", "dynamodb"}
    writes = ("Put", "Write", "Update", "Delete")
    assert not any(
        action.startswith("dynamodb:") and any(verb in action for verb in writes) for action in lookup
    )
    assert {"athena:StartQueryExecution", "glue:CreateTable"} <= setup
    assert not any(action.startswith(("dynamodb:", "sqs:")) for action in setup)
    queries = {
        "athena:StartQueryExecution",
        "athena:GetQueryExecution",
        "athena:GetQueryResults",
        "athena:StopQueryExecution",
        "athena:GetWorkGroup",
        "glue:GetDatabase",
        "glue:GetTable",  # no glue:GetPartitions: the tables use partition projection
        "s3:GetBucketLocation",
        "s3:ListBucket",
        "s3:GetObject",
        "s3:PutObject",
        "s3:AbortMultipartUpload",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    assert actions("AlertsRole") == queries | {"dynamodb:GetItem", "dynamodb:PutItem"}  # no delete, no scan
    assert actions("DigestRole") == queries | {"dynamodb:GetItem", "dynamodb:Query"}  # reads only
    for role in ("AlertsRole", "DigestRole"):
        for policy in packaged.resources[role]["Properties"]["Policies"]:
            for statement in statements(policy["PolicyDocument"]):
                for resource in as_list(statement["Resource"]):
                    text = sub_text(resource)
                    if text.startswith("${DataBucket.Arn}/"):
                        assert text in ("${DataBucket.Arn}/parquet/*", "${DataBucket.Arn}/athena-results/*")
                        if text.endswith("parquet/*"):
                            assert statement["Action"] == "s3:GetObject", role  # Parquet: read only
    # Publishing and sending are separate policies, created only with their address (deploy/alerts.yml).
    publish = packaged.resources["AlertsPublishPolicy"]
    assert publish["Condition"] == "AlertsEnabled"
    assert publish["Properties"]["RoleName"] == {"Ref": "AlertsRole"}
    (grant,) = statements(publish["Properties"]["PolicyDocument"])
    assert (grant["Action"], grant["Resource"]) == ("sns:Publish", {"Ref": "AlertTopic"})
    assert "DigestSendPolicy" not in packaged.resources  # no digestFrom: no SES permission at all
    assert actions("TlsUploadRole") == {"logs:CreateLogStream", "logs:PutLogEvents", "s3:PutObject"}


# ------------------------------------------------------------------------------------------------ DynamoDB


def test_table_is_on_demand_with_pitr_ttl_and_the_two_gsis(packaged: Packaged) -> None:
    table = packaged.resources["DataTable"]
    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert properties["KeySchema"] == [
        {"AttributeName": "PK", "KeyType": "HASH"},
        {"AttributeName": "SK", "KeyType": "RANGE"},
    ]
    indexes = {index["IndexName"]: index for index in properties["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"by-source-ip", "by-domain"}
    for name, (hash_key, range_key) in {
        "by-source-ip": ("GSI1PK", "GSI1SK"),
        "by-domain": ("GSI2PK", "GSI2SK"),
    }.items():
        assert indexes[name]["KeySchema"] == [
            {"AttributeName": hash_key, "KeyType": "HASH"},
            {"AttributeName": range_key, "KeyType": "RANGE"},
        ]
        assert indexes[name]["Projection"] == {"ProjectionType": "ALL"}
    types = {item["AttributeName"]: item["AttributeType"] for item in properties["AttributeDefinitions"]}
    assert types == dict.fromkeys(("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"), "S")
    assert table["DeletionPolicy"] == "Retain"
    assert properties["DeletionProtectionEnabled"] is True


# -------------------------------------------------------------------------------------------- Glue, Athena


def athena_type(data_type: pa.DataType) -> str:
    if pa.types.is_string(data_type):
        return "string"
    if pa.types.is_timestamp(data_type):
        return "timestamp"
    integers = {pa.int8(): "tinyint", pa.int16(): "smallint", pa.int32(): "int", pa.int64(): "bigint"}
    if data_type in integers:
        return integers[data_type]
    if pa.types.is_list(data_type):
        return f"array<{athena_type(data_type.value_type)}>"
    if pa.types.is_struct(data_type):
        fields = ",".join(f"{field.name}:{athena_type(field.type)}" for field in data_type)
        return f"struct<{fields}>"
    raise AssertionError(f"no Athena type for {data_type}")


@pytest.mark.parametrize("table", sorted(SCHEMAS))
def test_glue_tables_follow_the_arrow_schema_with_dt_projection(packaged: Packaged, table: str) -> None:
    resource = props(packaged, "GlueTable" + "".join(part.capitalize() for part in table.split("_")))
    assert resource["DatabaseName"] == {"Ref": "GlueDatabase"}
    table_input = resource["TableInput"]
    assert table_input["Name"] == table
    columns = [(column["Name"], column["Type"]) for column in table_input["StorageDescriptor"]["Columns"]]
    assert columns == [(field.name, athena_type(field.type)) for field in SCHEMAS[table]]
    assert table_input["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    parameters = table_input["Parameters"]
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.dt.type"] == "date"
    assert parameters["projection.dt.format"] == "yyyy-MM-dd"
    deployed = Settings(earliest_report_date=date(2012, 1, 1))  # the deploy default: test_deploy_regions
    assert parameters["projection.dt.range"] == projection_range(deployed) == "2012-01-01,NOW"
    assert (
        sub_text(parameters["storage.location.template"])
        == f"s3://${{DataBucket}}/parquet/{table}/dt=${{!dt}}/"
    )
    assert sub_text(table_input["StorageDescriptor"]["Location"]) == f"s3://${{DataBucket}}/parquet/{table}/"
    assert "Parquet" in table_input["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]


def test_glue_database_name_comes_from_the_params(packaged: Packaged) -> None:
    assert props(packaged, "GlueDatabase")["DatabaseInput"]["Name"] == "dmarc_dev"  # dmarc_<stage>


def test_workgroup_enforces_its_results_prefix_and_a_scan_limit(packaged: Packaged) -> None:
    configuration = props(packaged, "AthenaWorkGroup")["WorkGroupConfiguration"]
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert (
        sub_text(configuration["ResultConfiguration"]["OutputLocation"])
        == "s3://${DataBucket}/athena-results/"
    )
    assert configuration["ResultConfiguration"]["EncryptionConfiguration"] == {"EncryptionOption": "SSE_S3"}
    assert 10 * 2**20 <= configuration["BytesScannedCutoffPerQuery"] <= 2**40


def test_every_saved_query_is_a_named_query_in_the_workgroup(packaged: Packaged) -> None:
    saved = sorted((packaged.service / "athena_queries" / "saved").glob("*.sql"))
    queries = packaged.of_type("AWS::Athena::NamedQuery")
    assert len(queries) == len(saved)
    texts = {query["Properties"]["QueryString"] for query in queries.values()}
    for path in saved:
        assert path.read_text().strip().rstrip(";").replace("${database}", "dmarc_dev") in texts, path.name
    for query in queries.values():
        assert query["Properties"]["WorkGroup"] == {"Ref": "AthenaWorkGroup"}
        assert query["Properties"]["Database"] == {"Ref": "GlueDatabase"}
        assert 0 < len(query["Properties"]["Name"]) <= 128


def test_views_are_installed_by_the_setup_function_and_rerun_when_their_sql_changes(
    packaged: Packaged,
) -> None:
    views_dir = packaged.service / "athena_queries" / "views"
    resource = packaged.resources["AthenaViews"]
    properties = resource["Properties"]
    assert properties["ServiceToken"] == {"Fn::GetAtt": ["AthenaSetupLambdaFunction", "Arn"]}
    names = [view["Name"] for view in properties["Views"]]
    assert sorted(names) == sorted(path.stem for path in views_dir.glob("*.sql"))
    for position, view in enumerate(properties["Views"]):
        assert re.match(rf"CREATE\s+OR\s+REPLACE\s+VIEW\s+\S*{view['Name']}\b", view["Sql"], re.IGNORECASE)
        for later in names[position + 1 :]:  # a view comes after the views it reads
            assert not re.search(rf"\b{later}\b", view["Sql"].split(" AS ", 1)[1]), (view["Name"], later)
    assert re.fullmatch(r"[0-9a-f]{64}", properties["SqlSha256"])
    assert {"GlueTableReports", "GlueTableRecords", "GlueTableRecordSenders"} <= set(resource["DependsOn"])


# ------------------------------------------------------------------------------------------------ alarms


def test_alarms_watch_the_dlq_and_ingest_errors_and_notify_the_topic(packaged: Packaged) -> None:
    alarms = {name: alarm["Properties"] for name, alarm in packaged.of_type("AWS::CloudWatch::Alarm").items()}
    dlq = alarms["DeadLetterQueueAlarm"]
    assert (dlq["Namespace"], dlq["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert dlq["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["IngestDeadLetterQueue", "QueueName"]}}
    ]
    errors = alarms["IngestErrorsAlarm"]
    assert (errors["Namespace"], errors["MetricName"]) == ("AWS/Lambda", "Errors")
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "IngestLambdaFunction"}}]
    for name, alarm in alarms.items():
        if name == "PipelineAliveAlarm":  # the owner's alarm: tests/test_deploy_template.py, alerts
            continue
        assert alarm["AlarmActions"] == [ALARM_TOPIC], name
        assert alarm["Threshold"] >= 0
    subscription = packaged.resources["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


def _ingest_emf() -> dict[str, Any]:
    """What the ingest handler's Metrics publishes: one EMF document, as CloudWatch receives it."""
    import contextlib
    import io

    from handlers import ingest

    ingest.metrics.add_metric(name="Conflicts", unit="Count", value=0)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        ingest.metrics.flush_metrics()
    document: dict[str, Any] = json.loads(printed.getvalue())
    return document


@pytest.mark.parametrize(
    ("alarm", "metric", "period", "says"),
    [
        ("IngestConflictsAlarm", "Conflicts", 3600, ("dmarc query conflicts", "quarantine/conflict/")),
        ("IngestFailedAlarm", "Failed", 300, ("dead-letter queue", "quarantine/internal-error/")),
    ],
)
def test_ingest_conflicts_and_failures_alarm_on_the_metrics_the_handler_publishes(
    packaged: Packaged, alarm: str, metric: str, period: int, says: tuple[str, ...]
) -> None:
    properties = props(packaged, alarm)
    emf = _ingest_emf()
    (definition,) = emf["_aws"]["CloudWatchMetrics"]
    environment = props(packaged, "IngestLambdaFunction")["Environment"]["Variables"]
    assert properties["Namespace"] == definition["Namespace"] == environment["POWERTOOLS_METRICS_NAMESPACE"]
    assert definition["Dimensions"] == [["service"]]
    assert properties["Dimensions"] == [{"Name": "service", "Value": emf["service"]}]
    assert properties["MetricName"] == metric
    assert (properties["Statistic"], properties["Period"], properties["EvaluationPeriods"]) == (
        "Sum",
        period,
        1,
    )
    assert (properties["ComparisonOperator"], properties["Threshold"]) == ("GreaterThanThreshold", 0)
    assert properties["TreatMissingData"] == "notBreaching"
    assert properties["AlarmActions"] == [ALARM_TOPIC]
    for text in says:
        assert text in properties["AlarmDescription"], f"{alarm} does not say {text!r}"
    assert len(properties["AlarmDescription"]) <= 1024


def test_the_handler_publishes_every_metric_an_alarm_watches(packaged: Packaged) -> None:
    import contextlib
    import io

    from dmarc_store.ingest.results import IngestResult
    from handlers import ingest

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        ingest._report(IngestResult("uploads/x"))  # what the handler does with each object's result
        ingest.metrics.flush_metrics()
    (document,) = (json.loads(line) for line in printed.getvalue().splitlines() if '"_aws"' in line)
    (definition,) = document["_aws"]["CloudWatchMetrics"]
    published = {metric["Name"] for metric in definition["Metrics"]}
    assert {"Conflicts", "Failed", "Deferred"} <= published
    for name, alarm in packaged.of_type("AWS::CloudWatch::Alarm").items():
        properties = alarm["Properties"]
        if properties["Namespace"] == definition["Namespace"]:
            assert properties["MetricName"] in published, f"{name}: no such metric is published"


# ------------------------------------------------------------------------------------------ alerts, digest

ALERT_CONDITIONS = {
    "AlertTopic": "AlertsEnabled",
    "AlertTopicPolicy": "AlertsEnabled",
    "AlertsPublishPolicy": "AlertsEnabled",
    "AlertsSchedule": "AlertsEnabled",
    "AlertsScheduleRole": "AlertsEnabled",
    "AlertEmailSubscription": "HasAlertEmail",
    "DigestSchedule": "HasDigest",
    "DigestScheduleRole": "HasDigest",
}


def test_alerts_and_the_digest_are_off_until_an_address_is_set(packaged: Packaged) -> None:
    template = packaged.template
    assert template["Parameters"]["AlertEmail"]["Default"] == ""
    assert template["Parameters"]["DigestFrom"]["Default"] == ""
    conditions = template["Conditions"]
    assert conditions["HasAlertEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlertEmail"}, ""]}]}
    assert conditions["HasDigest"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "DigestFrom"}, ""]}]}
    assert conditions["AlertsEnabled"] == {
        "Fn::Or": [{"Condition": "HasAlertEmail"}, {"Condition": "HasDigest"}]
    }
    for name, condition in ALERT_CONDITIONS.items():
        assert packaged.resources[name]["Condition"] == condition, name
    schedules = packaged.of_type("AWS::Scheduler::Schedule")
    assert set(schedules) == {"AlertsSchedule", "DigestSchedule"}
    assert all("Condition" in resource for resource in schedules.values())
    assert template["Outputs"]["AlertTopicArn"] == {
        "Condition": "AlertsEnabled",
        "Description": template["Outputs"]["AlertTopicArn"]["Description"],
        "Value": {"Ref": "AlertTopic"},
    }
    # The functions exist either way; with no address nothing invokes them and the topic is "".
    topic = props(packaged, "AlertsLambdaFunction")["Environment"]["Variables"]["DMARC_ALERTS_TOPIC_ARN"]
    assert topic == {"Fn::If": ["AlertsEnabled", {"Ref": "AlertTopic"}, ""]}
    digest = props(packaged, "DigestLambdaFunction")["Environment"]["Variables"]
    assert (digest["DMARC_DIGEST_FROM"], digest["DMARC_DIGEST_TO"]) == ("", "")
    for name in ("AlertsLambdaFunction", "DigestLambdaFunction"):
        assert props(packaged, name)["Environment"]["Variables"]["DMARC_DOMAINS"] == "example.com"


@pytest.mark.parametrize(
    ("schedule", "function", "role", "expression"),
    [
        ("AlertsSchedule", "AlertsLambdaFunction", "AlertsScheduleRole", "cron(30 6 * * ? *)"),
        ("DigestSchedule", "DigestLambdaFunction", "DigestScheduleRole", "cron(0 7 ? * MON *)"),
    ],
)
def test_each_schedule_invokes_its_function_with_its_own_role_in_utc(
    packaged: Packaged, schedule: str, function: str, role: str, expression: str
) -> None:
    properties = props(packaged, schedule)
    assert properties["ScheduleExpression"] == expression
    assert properties["ScheduleExpressionTimezone"] == "UTC"
    assert properties["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert properties["State"] == "ENABLED"
    target = properties["Target"]
    assert target["Arn"] == {"Fn::GetAtt": [function, "Arn"]}
    assert target["RoleArn"] == {"Fn::GetAtt": [role, "Arn"]}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1


def test_the_alert_topic_takes_alarms_over_tls_and_an_optional_email(packaged: Packaged) -> None:
    policy = props(packaged, "AlertTopicPolicy")
    assert policy["Topics"] == [{"Ref": "AlertTopic"}]
    by_sid = {statement["Sid"]: statement for statement in statements(policy["PolicyDocument"])}
    alarms = by_sid["AllowAccountAlarms"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert (alarms["Action"], alarms["Resource"]) == ("sns:Publish", {"Ref": "AlertTopic"})
    assert alarms["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {
            "aws:SourceArn": {
                "Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"
            }
        },
    }  # this account's alarms only (tests/test_deploy_iam.py)
    assert by_sid["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    subscription = props(packaged, "AlertEmailSubscription")
    assert subscription == {
        "TopicArn": {"Ref": "AlertTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlertEmail"},
    }


def test_the_pipeline_alive_alarm_fires_on_two_days_without_a_stored_report(packaged: Packaged) -> None:
    alarm = props(packaged, "PipelineAliveAlarm")
    emf = _ingest_emf()
    (definition,) = emf["_aws"]["CloudWatchMetrics"]
    assert alarm["Namespace"] == definition["Namespace"]
    assert alarm["Dimensions"] == [{"Name": "service", "Value": emf["service"]}]
    assert alarm["MetricName"] == "ReportsStored"
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Sum", 86400, 2)
    assert alarm["DatapointsToAlarm"] == 2
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
    assert alarm["TreatMissingData"] == "breaching"  # no ingest at all is the case it is for
    actions = {"Fn::If": ["AlertsEnabled", [{"Ref": "AlertTopic"}, ALARM_TOPIC], [ALARM_TOPIC]]}
    assert alarm["AlarmActions"] == alarm["OKActions"] == actions
    assert "Condition" not in packaged.resources["PipelineAliveAlarm"]  # its state shows either way
    for name, function in (
        ("AlertsErrorsAlarm", "AlertsLambdaFunction"),
        ("DigestErrorsAlarm", "DigestLambdaFunction"),
    ):
        errors = props(packaged, name)
        assert (errors["Namespace"], errors["MetricName"]) == ("AWS/Lambda", "Errors")
        assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function}}]


def test_the_digest_is_not_retried_and_the_alerts_are(packaged: Packaged) -> None:
    configs = {
        resource["Properties"]["FunctionName"]["Ref"]: resource["Properties"]
        for resource in packaged.of_type("AWS::Lambda::EventInvokeConfig").values()
    }
    assert configs["DigestLambdaFunction"]["MaximumRetryAttempts"] == 0  # a retry could send it twice
    assert configs["AlertsLambdaFunction"]["MaximumRetryAttempts"] >= 1  # StateChanged: run again


def test_with_its_addresses_set_the_stack_sends_from_the_sender_to_the_recipients_only(
    packaged_with_alerts: Packaged,
) -> None:
    given = dict(param.split("=", 1) for param in ALERTS_ON)
    template = packaged_with_alerts.template
    assert template["Parameters"]["AlertEmail"]["Default"] == given["alertEmail"]
    assert template["Parameters"]["DigestFrom"]["Default"] == given["digestFrom"]
    digest = props(packaged_with_alerts, "DigestLambdaFunction")["Environment"]["Variables"]
    assert (digest["DMARC_DIGEST_FROM"], digest["DMARC_DIGEST_TO"]) == (
        given["digestFrom"],
        given["digestTo"],
    )
    alerts = props(packaged_with_alerts, "AlertsLambdaFunction")["Environment"]["Variables"]
    assert alerts["DMARC_ALERT_HEARTBEAT_HOURS"] == given["alertHeartbeatHours"]
    policy = packaged_with_alerts.resources["DigestSendPolicy"]
    assert policy["Condition"] == "HasDigest"
    (grant,) = statements(policy["Properties"]["PolicyDocument"])
    identities = {sub_text(arn).rsplit(":identity/", 1)[1] for arn in grant["Resource"]}
    sender = given["digestFrom"]
    assert identities == {sender, sender.split("@")[1], *given["digestTo"].split(",")}
    assert set(ALERT_CONDITIONS) <= set(packaged_with_alerts.resources)


def test_with_addresses_the_digest_may_send_only_as_its_sender_to_its_recipients() -> None:
    context = fake_serverless_context(
        [
            "digestFrom=digest@reports.example.com",
            "alertEmail=owner@example.com",
            "alertHeartbeatHours=72",
            "alertNewUnknownMessages=500",
        ]
    )
    resources, config = node_json(
        f"const ctx = {context};"
        "Promise.all([require('./deploy/alerts.js').resources(ctx),"
        " require('./deploy/config.js').params(ctx)])"
        ".then(([r, c]) => console.log(JSON.stringify([r.Resources, c])))"
    )
    policy = resources["DigestSendPolicy"]
    assert policy["Condition"] == "HasDigest"
    assert policy["Properties"]["RoleName"] == {"Ref": "DigestRole"}
    (grant,) = statements(policy["Properties"]["PolicyDocument"])
    assert set(grant["Action"]) == {"ses:SendEmail", "ses:SendRawEmail"}
    identities = [sub_text(arn).rsplit(":identity/", 1)[1] for arn in grant["Resource"]]
    assert identities == ["digest@reports.example.com", "reports.example.com", "owner@example.com"]
    assert config["digestEnvironment"]["DMARC_DIGEST_TO"] == "owner@example.com"  # default: alertEmail
    environment = config["alertsEnvironment"]
    assert (environment["DMARC_ALERT_HEARTBEAT_HOURS"], environment["DMARC_ALERT_NEW_UNKNOWN_MESSAGES"]) == (
        "72",
        "500",
    )
    assert "DMARC_ALERT_BLOCKED_MIN_MESSAGES" not in environment  # not set: the code's default
    alert_fields = {
        f"DMARC_ALERT_{name.upper()}" for name in threshold_settings(AlertThresholds).model_fields
    }
    assert {name for name in environment if name.startswith("DMARC_ALERT_")} <= alert_fields


# ------------------------------------------------------------------------------------------ optional parts


def test_route53_and_quicksight_are_created_only_when_their_params_are_set(packaged: Packaged) -> None:
    conditions = packaged.template["Conditions"]
    assert conditions["HasHostedZone"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "HostedZoneId"}, ""]}]}
    assert conditions["HasQuickSight"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "QuickSightPrincipal"}, ""]}]}
    assert conditions["CreateIdentityRecords"] == {
        "Fn::And": [{"Condition": "CreateIdentity"}, {"Condition": "HasHostedZone"}]
    }
    records = packaged.of_type("AWS::Route53::RecordSet")
    for name, resource in records.items():
        expected = (
            "CreateIdentityRecords" if name.startswith("ReceivingDomainDkimRecord") else "HasHostedZone"
        )
        assert resource["Condition"] == expected, name
    dkim = [records[f"ReceivingDomainDkimRecord{n}"]["Properties"] for n in (1, 2, 3)]
    assert [(record["Type"], record["Name"]["Fn::GetAtt"]) for record in dkim] == [
        ("CNAME", ["ReceivingDomainIdentity", f"DkimDNSTokenName{n}"]) for n in (1, 2, 3)
    ]
    mx = props(packaged, "ReceivingMxRecord")
    assert (mx["Name"], mx["Type"], mx["ResourceRecords"]) == (
        "reports.example.com.",
        "MX",
        ["10 inbound-smtp.us-east-1.amazonaws.com."],
    )
    source = packaged.resources["QuickSightDataSource"]
    assert source["Condition"] == "HasQuickSight"
    assert source["Properties"]["Type"] == "ATHENA"
    assert source["Properties"]["DataSourceParameters"]["AthenaParameters"]["WorkGroup"] == {
        "Ref": "AthenaWorkGroup"
    }
    assert packaged.resources["QuickSightAccessPolicy"]["Condition"] == "HasQuickSight"


SQL_MANIFEST = REPO / "deploy" / "sql-manifest.json"
QUICKSIGHT_TYPES = {
    "VARCHAR": "STRING",
    "TINYINT": "INTEGER",
    "SMALLINT": "INTEGER",
    "INTEGER": "INTEGER",
    "BIGINT": "INTEGER",
    "DOUBLE": "DECIMAL",
    "DATE": "DATETIME",
    "TIMESTAMP": "DATETIME",
    "BOOLEAN": "BOOLEAN",
}
"""Athena type of a view column -> QuickSight input column type (array and row columns: left out)."""
QUICKSIGHT_SKIPS = ("ARRAY(", "ROW(", "MAP(")
DATA_SET_ACTIONS = {
    "quicksight:DescribeDataSet",
    "quicksight:DescribeDataSetPermissions",
    "quicksight:PassDataSet",
    "quicksight:DescribeIngestion",
    "quicksight:ListIngestions",
    "quicksight:UpdateDataSet",
    "quicksight:DeleteDataSet",
    "quicksight:CreateIngestion",
    "quicksight:CancelIngestion",
    "quicksight:UpdateDataSetPermissions",
}


def generated_view_columns() -> dict[str, list[list[str]]]:
    """View -> [[column, Athena type], ...] from deploy/sql-manifest.json (tests/test_deploy_manifest.py
    holds it to the views' SQL run on DuckDB)."""
    views = json.loads(SQL_MANIFEST.read_text())["views"]
    return {view["name"]: view["columns"] for view in views}


def quicksight_view(resource: dict[str, Any]) -> str:
    """The view a QuickSight dataset reads: its RelationalTable, or the table of its custom SQL."""
    physical = only(resource["Properties"]["PhysicalTableMap"])
    if "RelationalTable" in physical:
        return str(physical["RelationalTable"]["Name"])
    found = re.search(r'FROM "\w+"\."(\w+)"', physical["CustomSql"]["SqlQuery"])
    assert found, physical["CustomSql"]["SqlQuery"]
    return found.group(1)


def test_each_view_is_a_direct_query_quicksight_dataset_of_its_columns(packaged: Packaged) -> None:
    views_dir = packaged.service / "athena_queries" / "views"
    columns = generated_view_columns()
    data_sets = {
        quicksight_view(resource): resource
        for resource in packaged.of_type("AWS::QuickSight::DataSet").values()
    }
    assert sorted(data_sets) == sorted(path.stem for path in views_dir.glob("*.sql"))
    ids = set()
    for view, resource in data_sets.items():
        properties = resource["Properties"]
        assert resource["Condition"] == "HasQuickSight", view
        assert "AthenaViews" in as_list(resource["DependsOn"])  # the view exists before QuickSight reads it
        assert properties["AwsAccountId"] == {"Ref": "AWS::AccountId"}
        # Dated views: DIRECT_QUERY over their last days; a view without dt: SPICE (tests/test_deploy_iam.py)
        dated = any(name == "dt" for name, _ in columns[view])
        assert properties["ImportMode"] == ("DIRECT_QUERY" if dated else "SPICE")
        assert properties["DataSetId"] == f"dmarc-dev-{view}"
        ids.add(properties["DataSetId"])
        assert 0 < len(properties["Name"]) <= 128
        assert view in properties["Name"]
        ((physical_id, physical),) = properties["PhysicalTableMap"].items()
        table = physical.get("RelationalTable") or physical["CustomSql"]
        assert table["DataSourceArn"] == {"Fn::GetAtt": ["QuickSightDataSource", "Arn"]}
        if "RelationalTable" in physical:
            assert (table["Catalog"], table["Schema"]) == ("AwsDataCatalog", {"Ref": "GlueDatabase"})
        expected = []
        for name, kind in columns[view]:
            if kind.startswith(QUICKSIGHT_SKIPS):
                continue
            assert kind in QUICKSIGHT_TYPES, f"{view}.{name}: which QuickSight type is {kind}?"
            expected.append({"Name": name, "Type": QUICKSIGHT_TYPES[kind]})
        assert table.get("InputColumns", table.get("Columns")) == expected, view
        ((logical_id, logical),) = properties["LogicalTableMap"].items()
        assert logical == {"Alias": view, "Source": {"PhysicalTableId": physical_id}}
        assert re.fullmatch(r"[0-9a-zA-Z-]+", physical_id)
        assert re.fullmatch(r"[0-9a-zA-Z-]+", logical_id)
        (permission,) = properties["Permissions"]
        assert permission["Principal"] == {"Ref": "QuickSightPrincipal"}
        assert set(permission["Actions"]) == DATA_SET_ACTIONS
    assert len(ids) == len(data_sets)
    record_table = only(data_sets["record_details"]["Properties"]["PhysicalTableMap"])["CustomSql"]
    record_columns = {column["Name"]: column["Type"] for column in record_table["Columns"]}
    assert record_columns["dmarc_pass"] == "BOOLEAN"
    assert record_columns["date_range_begin"] == "DATETIME"
    assert "dkim_results" not in record_columns  # array<row<...>>: QuickSight cannot read it
    # QuickSight's service role may read each view (and through it the tables) in the catalogue.
    policy = props(packaged, "QuickSightAccessPolicy")["PolicyDocument"]
    (catalogue,) = [s for s in statements(policy) if s["Sid"] == "ReadTheCatalogue"]
    readable = {sub_text(arn) for arn in as_list(catalogue["Resource"])}
    for view in data_sets:
        assert (
            f"arn:${{AWS::Partition}}:glue:${{AWS::Region}}:${{AWS::AccountId}}:table/dmarc_dev/{view}"
            in readable
        )


def test_packaging_stops_when_a_view_has_no_readable_column_or_an_unknown_type() -> None:
    """(A view without columns in the manifest stops deploy/sql.js: tests/test_deploy_manifest.py.)"""
    script = """
      const q = require('./deploy/quicksight.js');
      const views = require('./deploy/sql.js').views();
      const config = { prefix: 'dmarc-dev', stage: 'dev' };
      const attempt = (changed) => {
        try { q.dataSets(changed, config); return null; } catch (e) { return e.message; }
      };
      const withColumns = (name, columns) => views.map((v) => (v.name === name ? { ...v, columns } : v));
      const arrays = withColumns('source_summary', [['a', 'ARRAY(VARCHAR)'], ['b', 'ROW(x INTEGER)']]);
      const odd = withColumns('record_details', [['a', 'INTERVAL DAY TO SECOND']]);
      console.log(JSON.stringify([attempt(views), attempt(arrays), attempt(odd)]));
    """
    fine, arrays, odd = node_json(script)
    assert fine is None
    assert "athena_queries/views/source_summary.sql" in arrays
    assert "no column QuickSight can read" in arrays
    assert "INTERVAL DAY TO SECOND" in odd


def node_json(script: str) -> Any:
    result = subprocess.run(
        ["node", "-e", script], cwd=REPO, capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def fake_serverless_context(params: list[str], region: str = "eu-west-1") -> str:
    """JS for the context serverless passes to a variable-resolving function."""
    return f"""({{
      options: {{ param: {json.dumps(params)} }},
      resolveVariable: async () => 'prod',
      resolveConfigurationProperty: async (path) =>
        ({{ 'provider.region': {json.dumps(region)}, service: 'dmarc', params: {{}} }})[path.join('.')],
    }})"""


def test_route53_records_are_the_ones_dmarc_dns_prints() -> None:
    domains = ["example.com", "example.org", "mail.example.net"]
    address = "dmarc@reports.example.com"
    context = fake_serverless_context([f"reportDomains={','.join(domains)}", f"receivingAddress={address}"])
    generated = node_json(
        f"require('./deploy/dns.js').resources({context})"
        ".then((r) => console.log(JSON.stringify(r.Resources)))"
    )
    published = {
        (record.name + ".", record.type, record.value)
        for domain in domains
        for record in dns.records_to_publish(domain, address, "eu-west-1")
        if record.type != "TXT" or "_report._dmarc" in record.name
    }
    created = set()
    for resource in generated.values():
        properties = resource["Properties"]
        if properties["Type"] == "CNAME":  # the SES identity's DKIM records: tokens known after deploy
            continue
        (value,) = properties["ResourceRecords"]
        created.add((properties["Name"], properties["Type"], value.strip('"')))
    assert created == published
    assert ("example.org._report._dmarc.reports.example.com.", "TXT", "v=DMARC1") in created
    assert not any(name.startswith("example.com._report") for name, _, _ in created)


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("logRetentionDays=31", "logRetentionDays"),
        ("architecture=sparc", "arm64 or x86_64"),
        ("receivingAddress=not-an-address", "receivingAddress"),
        ("athenaBytesScannedCutoff=1000", "athenaBytesScannedCutoff"),
        ("dataDeletionPolicy=Snapshot", "Retain or Delete"),
        ("colour=blue", "unknown param"),
        ("retentionDays=3", "retentionDays"),
        ("itemRetentionDays=365", "use retentionDays"),
        ("projectionStartDate=2015-01-01", "use earliestReportDate"),
        ("earliestReportDate=2015-02-30", "earliestReportDate"),
        ("alertEmail=nobody", "alertEmail"),
        ("digestFrom=digest@reports.example.com", "digestTo"),  # no recipients, no alertEmail
        ("alertsSchedule=every day", "alertsSchedule"),
        ("digestSchedule=cron(0 7 * * MON *)", "day-of-month or day-of-week must be ?"),
        ("alertHeartbeatHours=two days", "alertHeartbeatHours"),
        ("tlsReportingEndpoint=yes", "tlsReportingEndpoint"),
        ("tlsReportingConcurrency=0", "tlsReportingConcurrency"),
    ],
)
def test_bad_params_stop_packaging_with_their_name(param: str, message: str) -> None:
    context = fake_serverless_context([param])
    script = (
        f"require('./deploy/config.js').params({context})"
        ".then(() => console.log('null'), (e) => console.log(JSON.stringify(e.message)))"
    )
    assert message in node_json(script)


def test_the_layer_of_each_region_follows_the_architecture_param() -> None:
    script = (
        "const c = require('./deploy/config.js');"
        "const at = {stage: 's', region: 'eu-west-1', service: 'dmarc'};"
        "const a = c.resolveParams({}, at);"
        "const b = c.resolveParams({architecture: 'x86_64'}, at);"
        "console.log(JSON.stringify("
        "[a.pandasLayerArn, a.pipPlatformArch, b.pandasLayerArn, b.pipPlatformArch]))"
    )
    arm, arm_platform, x86, x86_platform = node_json(script)
    assert re.fullmatch(r"arn:aws:lambda:eu-west-1:\d{12}:layer:AWSSDKPandas-Python312-Arm64:\d+", arm)
    assert re.fullmatch(r"arn:aws:lambda:eu-west-1:\d{12}:layer:AWSSDKPandas-Python312:\d+", x86)
    assert (arm_platform, x86_platform) == ("aarch64", "x86_64")


def test_nothing_in_the_configuration_calls_aws_at_package_time() -> None:
    sources = [REPO / "serverless.yml", *sorted((REPO / "deploy").glob("*.yml"))]
    for path in sources:
        text = Path(path).read_text()
        for variable in ("${aws:", "${ssm:", "${cf:", "${s3:", "${cf(", "${sls:instanceId"):
            assert variable not in text, f"{path.name} uses {variable}"


# ------------------------------------------------------------------------------------------ TLS endpoint

TLS_RESOURCES = {
    "TlsUploadLambdaFunction": "AWS::Lambda::Function",
    "TlsUploadLogGroup": "AWS::Logs::LogGroup",
    "TlsUploadFunctionUrl": "AWS::Lambda::Url",
    "TlsUploadUrlPermission": "AWS::Lambda::Permission",
    "TlsUploadInvokePermission": "AWS::Lambda::Permission",
    "TlsUploadRole": "AWS::IAM::Role",
}


def test_the_tls_report_endpoint_is_off_until_its_param_is_true(packaged: Packaged) -> None:
    template = packaged.template
    assert template["Parameters"]["TlsReportingEndpoint"]["Default"] == "false"
    assert template["Parameters"]["TlsReportingEndpoint"]["AllowedValues"] == ["true", "false"]
    assert template["Conditions"]["TlsReportingEnabled"] == {
        "Fn::Equals": [{"Ref": "TlsReportingEndpoint"}, "true"]
    }
    tls = {name: r for name, r in packaged.resources.items() if name.startswith("Tls")}
    assert {name: resource["Type"] for name, resource in tls.items()} == TLS_RESOURCES
    assert all(resource["Condition"] == "TlsReportingEnabled" for resource in tls.values())
    assert packaged.of_type("AWS::Lambda::Url").keys() == {"TlsUploadFunctionUrl"}  # the only one
    outputs = {name: o for name, o in template["Outputs"].items() if name.startswith("Tls")}
    assert set(outputs) == {"TlsReportingUrl", "TlsReportingRecord"}
    assert all(output["Condition"] == "TlsReportingEnabled" for output in outputs.values())
    url = {"Fn::GetAtt": ["TlsUploadFunctionUrl", "FunctionUrl"]}
    assert outputs["TlsReportingUrl"]["Value"] == url
    assert not any("Export" in output for output in outputs.values())  # moto: see deploy/tls_upload.yml
    assert sub_text(outputs["TlsReportingRecord"]["Value"]).startswith("v=TLSRPTv1; rua=")


def _without_code(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource less its code's S3 key (a timestamp of the packaging)."""
    properties = {key: value for key, value in resource.get("Properties", {}).items() if key != "Code"}
    return {**resource, "Properties": properties}


def test_with_the_param_the_endpoint_is_created_as_the_default_template_has_it(
    packaged: Packaged, packaged_with_tls: Packaged
) -> None:
    assert packaged_with_tls.template["Parameters"]["TlsReportingEndpoint"]["Default"] == "true"
    for name in TLS_RESOURCES:
        assert _without_code(packaged_with_tls.resources[name]) == _without_code(packaged.resources[name])


def test_the_endpoint_is_a_public_function_url_throttled_by_reserved_concurrency(packaged: Packaged) -> None:
    function = props(packaged, "TlsUploadLambdaFunction")
    assert function["ReservedConcurrentExecutions"] == 2
    assert function["Timeout"] <= 30
    assert function["Role"] == {"Fn::GetAtt": ["TlsUploadRole", "Arn"]}
    target = {"Fn::GetAtt": ["TlsUploadLambdaFunction", "Arn"]}
    url = props(packaged, "TlsUploadFunctionUrl")
    assert (url["AuthType"], url["TargetFunctionArn"]) == ("NONE", target)  # RFC 8460 senders cannot sign
    assert "Cors" not in url  # MTAs, not browsers
    invoke_url = props(packaged, "TlsUploadUrlPermission")
    assert (invoke_url["Action"], invoke_url["FunctionUrlAuthType"]) == ("lambda:InvokeFunctionUrl", "NONE")
    invoke = props(packaged, "TlsUploadInvokePermission")
    assert (invoke["Action"], invoke["InvokedViaFunctionUrl"]) == ("lambda:InvokeFunction", True)
    for permission in (invoke_url, invoke):
        assert permission["FunctionName"] == target
    skips = packaged.resources["TlsUploadFunctionUrl"]["Metadata"]["checkov"]["skip"]
    assert [skip["id"] for skip in skips] == ["CKV_AWS_258"]


def test_the_endpoint_may_only_add_objects_under_uploads_tlsrpt(packaged: Packaged) -> None:
    (policy,) = packaged.resources["TlsUploadRole"]["Properties"]["Policies"]
    grants = {
        (sub_text(resource), action)
        for statement in statements(policy["PolicyDocument"])
        for resource in as_list(statement["Resource"])
        for action in as_list(statement["Action"])
    }
    assert grants == {
        ("${TlsUploadLogGroup.Arn}", "logs:CreateLogStream"),
        ("${TlsUploadLogGroup.Arn}", "logs:PutLogEvents"),
        ("${DataBucket.Arn}/uploads/tlsrpt/*", "s3:PutObject"),
    }
    encryption = props(packaged, "DataBucket")["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"  # else: grant its key
    prefixes = {
        configuration["Filter"]["S3Key"]["Rules"][0]["Value"]
        for configuration in props(packaged, "DataBucket")["NotificationConfiguration"]["QueueConfigurations"]
    }
    assert "uploads/" in prefixes  # what it lands goes to the ingest queue


def test_the_endpoint_s_concurrency_is_a_param() -> None:
    script = (
        "const c = require('./deploy/config.js');"
        "const at = {stage: 'dev', region: 'us-east-1', service: 'dmarc'};"
        "const r = c.resolveParams({tlsReportingEndpoint: 'TRUE', tlsReportingConcurrency: '5'}, at);"
        "console.log(JSON.stringify([r.tlsReportingEndpoint, r.tlsReportingConcurrency]))"
    )
    assert node_json(script) == ["true", 5]


def test_with_the_endpoint_on_cfn_lint_finds_no_error_and_checkov_fails_no_check(
    packaged_with_tls: Packaged,
) -> None:
    """checkov evaluates the conditions with the parameters' defaults: the default template's run
    (tests/test_deploy_lint.py) never sees these resources."""
    lint.test_cfn_lint_finds_no_error(packaged_with_tls)
    lint.test_checkov_fails_no_check_and_every_skip_says_why(packaged_with_tls)
