"""The ingest role allows every AWS call the ingest makes: each scenario of the fault table, a deferred
report's progress and its message made visible again, run on moto and held to deploy/iam.yml.

moto does not enforce IAM, so a call the role lacks passes every other test and fails only once deployed
(AccessDenied on the first resumed claim, say): this test is where it fails instead.

The action names are checked for every scenario; the Lambda handler's calls (a report and a failure
report, each from incoming/, the reference data read at a cold start) are also held, resource by
resource and with the ListBucket s3:prefix conditions, to the role's statements (`allowed`, a small
evaluator of identity policies: Allow statements, `*` in actions and resources, StringLike/StringEquals
/ArnLike conditions). tests/test_deploy_iam.py holds the operator policy to the CLI's calls the same way.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.client
import botocore.exceptions
import pytest
import yaml

from tests import aws_support as kit
from tests.helpers import CORPUS, REPO, make_report
from tests.test_ingest_aws import SCENARIOS, _clean_calls, scenario

pytestmark = pytest.mark.usefixtures("aws")

EXTRA_CALLS = (
    "dynamodb.update_item",  # the progress of a deferred report (tests/test_continuation.py)
    "sqs.change_message_visibility",  # its message made visible again at once (handlers/ingest.py)
    "s3.get_object_version",  # the version an S3 event names: GetObject with VersionId
)


class CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!GetAtt, !Sub ...) read as plain values."""


CloudFormationLoader.add_multi_constructor(
    "!",
    lambda loader, suffix, node: (
        loader.construct_scalar(node)
        if isinstance(node, yaml.ScalarNode)
        else loader.construct_sequence(node)
        if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node)
    ),
)


def role_statements(role: str) -> list[dict[str, Any]]:
    """The statements of a role's inline policies in deploy/iam.yml, CloudFormation tags read as text."""
    text = (REPO / "deploy" / "iam.yml").read_text()
    document: Any = yaml.load(text, Loader=CloudFormationLoader)
    policies = document["Resources"][role]["Properties"]["Policies"]
    return [statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]]


def ingest_actions() -> set[str]:
    statements = role_statements("IngestRole")
    actions: set[str] = set()
    for statement in statements:
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def iam_action(call: str) -> str:
    """`dynamodb.batch_write_item #3: ...` -> `dynamodb:BatchWriteItem`."""
    service, method = call.split(" #")[0].split(":")[0].split(".")
    return f"{service}:{''.join(part.capitalize() for part in method.split('_'))}"


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_ingest_role_allows_every_call_of_each_scenario(name: str, tmp_path: Path) -> None:
    calls = _clean_calls(scenario(name, tmp_path))
    assert calls, "the scenario made no AWS call: the log is not being kept"
    missing = {iam_action(call) for call in calls} - ingest_actions()
    assert not missing, f"the ingest role lacks {sorted(missing)} (deploy/iam.yml)"


def test_the_ingest_role_allows_the_calls_of_continuations_and_versions() -> None:
    missing = {iam_action(call) for call in EXTRA_CALLS} - ingest_actions()
    assert not missing, f"the ingest role lacks {sorted(missing)} (deploy/iam.yml)"


def test_the_names_of_calls_become_iam_actions() -> None:
    assert iam_action("dynamodb.batch_write_item #3: batch 25 PutRequest") == "dynamodb:BatchWriteItem"
    assert re.fullmatch(r"s3:[A-Z]\w+", iam_action("s3.put_object #1: put parquet/x"))


# ------------------------------------------------------------------------------ calls, held to policies


@dataclass(frozen=True)
class Call:
    """One AWS API call as IAM authorises it: the action, the resource ARN, the request's context keys."""

    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    def __str__(self) -> str:
        return f"{self.action} on {self.resource} {self.context or ''}".strip()


@dataclass
class Recorded:
    """The calls botocore made while recording: (service, operation, params, missing: a 404 answer)."""

    raw: list[tuple[str, str, dict[str, Any], bool]] = field(default_factory=list)


MISSING = {"404", "NoSuchKey", "NotFound", "ResourceNotFoundException"}


@contextmanager
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorded]:
    """Every botocore API call of the block, from any client (awswrangler's too)."""
    recorded = Recorded()
    original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]

    def record(client: Any, operation: str, params: dict[str, Any]) -> Any:
        service = client.meta.service_model.service_name
        try:
            result = original(client, operation, params)
        except botocore.exceptions.ClientError as error:
            missing = str(error.response.get("Error", {}).get("Code")) in MISSING
            recorded.raw.append((service, operation, params, missing))
            raise
        recorded.raw.append((service, operation, params, False))
        return result

    with monkeypatch.context() as patch:
        patch.setattr(botocore.client.BaseClient, "_make_api_call", record)
        yield recorded


S3_ACTIONS = {"HeadObject": "s3:GetObject", "ListObjectsV2": "s3:ListBucket", "ListObjects": "s3:ListBucket"}


def iam_calls(
    recorded: Recorded, *, account: str = "123456789012", workgroup: str = "dmarc-dev"
) -> list[Call]:
    """The IAM view of the recorded calls. A read that answered 404 also needed s3:ListBucket with the
    key as s3:prefix (without ListBucket S3 answers 403: deploy/iam.yml, [S3-HEAD])."""
    calls: list[Call] = []
    region = kit.REGION
    for service, operation, params, missing in recorded.raw:
        if service == "s3":
            bucket = f"arn:aws:s3:::{params['Bucket']}"
            if operation in ("ListObjectsV2", "ListObjects"):
                calls.append(Call("s3:ListBucket", bucket, {"s3:prefix": params.get("Prefix", "")}))
                continue
            if operation == "DeleteObjects":
                for item in params["Delete"]["Objects"]:
                    calls.append(Call("s3:DeleteObject", f"{bucket}/{item['Key']}"))
                continue
            action = S3_ACTIONS.get(operation, f"s3:{operation}")
            if params.get("VersionId") and action in ("s3:GetObject", "s3:DeleteObject"):
                action += "Version"
            calls.append(Call(action, f"{bucket}/{params['Key']}"))
            if missing and operation in ("GetObject", "HeadObject"):
                calls.append(Call("s3:ListBucket", bucket, {"s3:prefix": params["Key"]}))
        elif service == "dynamodb":
            names = list(params.get("RequestItems", {})) or [params["TableName"]]
            for name in names:
                arn = f"arn:aws:dynamodb:{region}:{account}:table/{name}"
                index = params.get("IndexName")
                calls.append(Call(f"dynamodb:{operation}", f"{arn}/index/{index}" if index else arn))
        elif service == "athena":
            arn = f"arn:aws:athena:{region}:{account}:workgroup/{params.get('WorkGroup', workgroup)}"
            calls.append(Call(f"athena:{operation}", arn))
        elif service == "secretsmanager":
            calls.append(Call(f"secretsmanager:{operation}", params["SecretId"]))
        else:
            calls.append(Call(f"{service}:{operation}", "*"))
    return calls


def _matches(patterns: Any, value: str) -> bool:
    listed = patterns if isinstance(patterns, list) else [patterns]
    return any(fnmatch.fnmatchcase(value, str(pattern)) for pattern in listed)


def _conditions_hold(condition: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, tests in condition.items():
        for key, expected in tests.items():
            if key not in context:
                return False
            listed = expected if isinstance(expected, list) else [expected]
            value = context[key]
            if operator in ("StringLike", "ArnLike") and not _matches(listed, value):
                return False
            if operator in ("StringEquals", "ArnEquals") and value not in listed:
                return False
            if operator not in ("StringLike", "ArnLike", "StringEquals", "ArnEquals"):
                raise AssertionError(f"no evaluation of the condition operator {operator}")
    return True


def allowed(call: Call, statements: list[dict[str, Any]], resolve: Callable[[Any], str]) -> bool:
    """Whether an Allow statement grants the call (no Deny statement is expected in these policies)."""
    for statement in statements:
        assert statement["Effect"] == "Allow", statement
        if not _matches(statement["Action"], call.action):
            continue
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        if not any(fnmatch.fnmatchcase(call.resource, resolve(resource)) for resource in resources):
            continue
        if _conditions_hold(statement.get("Condition", {}), call.context):
            return True
    return False


def template_resolver(names: dict[str, str]) -> Callable[[Any], str]:
    """deploy/iam.yml's resources as ARNs: `!Sub "${X.Arn}/..."` and `!GetAtt X.Arn` / `!Ref X` (read
    as the text `X.Arn` / `X`) filled from `names`; a name not given matches no ARN."""

    def resolve(resource: Any) -> str:
        text = str(resource)
        if "${" not in text and ":" not in text:
            text = "${" + text + "}"
        return re.sub(r"\$\{([^}]+)\}", lambda match: names.get(match.group(1), f"<{match.group(1)}>"), text)

    return resolve


SECRET_NAME = "dmarc-ruf-hash-key"


def test_the_ingest_role_allows_each_call_of_the_handler_on_its_resources(
    aws: None, lambda_context: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report and a failure report arrive by mail; the handler reads them, the reference data, the
    failure reports' key (a secret) and probes for the failure report before writing it."""
    from dmarc_store.settings import get_settings
    from handlers import ingest

    secret = boto3.client("secretsmanager", region_name=kit.REGION).create_secret(
        Name=SECRET_NAME, SecretString="k" * 64
    )
    monkeypatch.delenv("DMARC_RUF_HASH_KEY")
    monkeypatch.setenv("DMARC_RUF_HASH_KEY_SECRET", secret["ARN"])
    get_settings.cache_clear()
    ingest.service.cache_clear()
    make_report(tmp_path / "report.eml", 20, 2, "--eml")
    kit.put_object("incoming/report", (tmp_path / "report.eml").read_bytes())
    kit.put_object("incoming/failure", (CORPUS / "pdm__dmarc_ruf_report_linkedin.eml").read_bytes())
    with recording(monkeypatch) as recorded:
        response = ingest.handler(kit.sqs_event("incoming/report", "incoming/failure"), lambda_context)
    ingest.service.cache_clear()
    assert response["batchItemFailures"] == []
    assert kit.list_keys("parquet/failure_reports/"), "the failure report was not stored"
    account = "123456789012"
    resolve = template_resolver(
        {
            "DataBucket.Arn": f"arn:aws:s3:::{kit.BUCKET}",
            "DataTable.Arn": f"arn:aws:dynamodb:{kit.REGION}:{account}:table/{kit.TABLE}",
            "RufHashKeySecret": secret["ARN"],
        }
    )
    calls = iam_calls(recorded, account=account)
    actions = {call.action for call in calls}
    assert {"s3:GetObject", "s3:ListBucket", "secretsmanager:GetSecretValue", "s3:PutObject"} <= actions
    failure_rows = [call for call in calls if "/failure_reports/" in call.resource]
    assert failure_rows, "no call wrote the failure report's row"
    assert {call.action for call in failure_rows} == {"s3:PutObject"}  # a conditional PUT: no read
    denied = sorted(
        {str(call) for call in calls if not allowed(call, role_statements("IngestRole"), resolve)}
    )
    assert not denied, f"the ingest role does not allow {denied} (deploy/iam.yml)"


def test_the_evaluator_refuses_what_the_role_does_not_grant() -> None:
    """The checks above would pass vacuously with an evaluator that allows everything."""
    resolve = template_resolver({"DataBucket.Arn": "arn:aws:s3:::b", "DataTable.Arn": "arn:t"})
    statements = role_statements("IngestRole")
    refused = [
        Call("s3:GetObject", "arn:aws:s3:::b/parquet/records/dt=2025-01-01/x.parquet"),  # writes only
        Call("s3:GetObject", "arn:aws:s3:::b/parquet/failure_reports/dt=2025-01-01/k.parquet"),
        Call("s3:GetObject", "arn:aws:s3:::b/quarantine/x"),
        Call("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "parquet/records/"}),
        Call("s3:ListBucket", "arn:aws:s3:::b"),  # no prefix at all
        Call("dynamodb:Scan", "arn:t"),
        Call("s3:DeleteObject", "arn:aws:s3:::b/parquet/x"),
    ]
    assert [call for call in refused if allowed(call, statements, resolve)] == []
    granted = [
        Call("s3:PutObject", "arn:aws:s3:::b/parquet/failure_reports/dt=2025-01-01/k.parquet"),
        Call("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "reference/current.json"}),
        Call("s3:PutObject", "arn:aws:s3:::b/kept-aside/dt=2025-01-01/r.json"),
    ]
    assert all(allowed(call, statements, resolve) for call in granted)


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_ingest_role_allows_each_scenario_call_on_its_resources(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Quarantine, kept-aside records, conflicts and a resumed claim: each call on its own key."""
    account = "123456789012"
    resolve = template_resolver(
        {
            "DataBucket.Arn": f"arn:aws:s3:::{kit.BUCKET}",
            "DataTable.Arn": f"arn:aws:dynamodb:{kit.REGION}:{account}:table/{kit.TABLE}",
        }
    )
    case = scenario(name, tmp_path)
    with recording(monkeypatch) as recorded:
        _clean_calls(case)
    calls = iam_calls(recorded, account=account)
    assert calls
    statements = role_statements("IngestRole")
    denied = sorted({str(call) for call in calls if not allowed(call, statements, resolve)})
    assert not denied, f"the ingest role does not allow {denied} (deploy/iam.yml)"
