"""Issue 15, permissions: each role and policy of the packaged stack grants what its code calls, on the
resources it calls them on, and nothing more; the operator policy (deploy/operator-policy.json) lets a
person run `dmarc ingest|query|report|lookup --aws` without admin rights.

The AWS documentation behind each grant is cited where the grant is (deploy/iam.yml, quicksight.yml,
quicksight.js, alerts.yml); the tests here pin the grants, and moto runs the CLI to record its calls.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
import sqlglot
from click.testing import CliRunner
from sqlglot import exp

from dmarc_cli.main import cli
from tests import aws_support as kit
from tests.helpers import CORPUS, REPO, make_report
from tests.test_deploy_support import (
    Packaged,
    as_list,
    package_once,
    packaged,
    packaged_with_alerts,
    shared_tmp,
    statements,
)
from tests.test_ingest_permissions import Call, allowed, iam_calls, recording

__all__ = ["packaged", "packaged_with_alerts", "packaged_with_quicksight"]  # session fixtures used here

QUICKSIGHT_ROLE = "dmarc-quicksight-reader"
QUICKSIGHT_DAYS = 30
QUICKSIGHT_ON = (
    "quickSightPrincipal=arn:aws:quicksight:us-east-1:123456789012:user/default/owner",
    f"quickSightServiceRole={QUICKSIGHT_ROLE}",
    f"quickSightDays={QUICKSIGHT_DAYS}",
)
"""The params of `packaged_with_quicksight`: QuickSight on, a custom service role and window."""


@pytest.fixture(scope="session")
def packaged_with_quicksight() -> Packaged:
    """The stack with the QuickSight data source and datasets (`QUICKSIGHT_ON`)."""
    return package_once(shared_tmp(), QUICKSIGHT_ON, name="package-quicksight")


# ------------------------------------------------------------------------------------------- helpers


def text(value: Any) -> str:
    """A resource as text: a Fn::Sub's template, `${X.Arn}` for Fn::GetAtt, `${X}` for Ref."""
    if isinstance(value, str):
        return value
    if "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return str(sub if isinstance(sub, str) else sub[0])
    if "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    if "Ref" in value:
        return "${" + str(value["Ref"]) + "}"
    raise AssertionError(f"no text for {value}")


def role_statements(stack: Packaged, role: str) -> list[dict[str, Any]]:
    policies = stack.resources[role]["Properties"]["Policies"]
    return [statement for policy in policies for statement in statements(policy["PolicyDocument"])]


def actions_of(found: list[dict[str, Any]]) -> set[str]:
    return {action for statement in found for action in as_list(statement["Action"])}


def grants(found: list[dict[str, Any]], action: str) -> set[str]:
    """The resources (as text) the statements grant `action` on."""
    return {
        text(resource)
        for statement in found
        if action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }


GLUE = "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:"
WORKGROUP = "arn:${AWS::Partition}:athena:${AWS::Region}:${AWS::AccountId}:workgroup/${AthenaWorkGroup}"


def glue_names(stack: Packaged) -> tuple[str, list[str], list[str]]:
    """The Glue database, its tables and the views AthenaViews installs, as the template has them."""
    database = stack.resources["GlueDatabase"]["Properties"]["DatabaseInput"]["Name"]
    tables = sorted(
        table["Properties"]["TableInput"]["Name"] for table in stack.of_type("AWS::Glue::Table").values()
    )
    views = sorted(view["Name"] for view in stack.resources["AthenaViews"]["Properties"]["Views"])
    return database, tables, views


def client_calls(path: Path, client: str) -> set[str]:
    """The methods called on `client.` in a source file: `athena.start_query_execution(` -> the name."""
    return set(re.findall(rf"\b{client}\.(\w+)\(", path.read_text()))


def iam_name(method: str, service: str) -> str:
    return f"{service}:{''.join(part.capitalize() for part in method.split('_'))}"


# ------------------------------------------------------------------------- 1. the view installer


def test_the_view_installer_runs_ddl_and_writes_only_the_views(packaged: Packaged) -> None:
    found = role_statements(packaged, "AthenaSetupRole")
    assert actions_of(found) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "athena:StartQueryExecution",
        "athena:GetQueryExecution",
        "glue:GetDatabase",
        "glue:GetDatabases",
        "glue:GetTable",
        "glue:CreateTable",
        "glue:UpdateTable",
        "glue:DeleteTable",
        "s3:GetBucketLocation",
        "s3:ListBucket",
        "s3:PutObject",
        "s3:AbortMultipartUpload",
    }  # no glue:GetPartitions, no s3:GetObject: DDL reads no data and no result
    # ... which is all handlers/athena_views.py calls: it runs DDL and polls its state.
    calls = client_calls(REPO / "handlers" / "athena_views.py", "athena")
    assert {iam_name(call, "athena") for call in calls} == {
        "athena:StartQueryExecution",
        "athena:GetQueryExecution",
    }
    database, tables, views = glue_names(packaged)
    catalogue = {f"{GLUE}catalog", f"{GLUE}database/{database}"}
    view_arns = {f"{GLUE}table/{database}/{view}" for view in views}
    table_arns = {f"{GLUE}table/{database}/{table}" for table in tables}
    for action in ("glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable"):
        assert grants(found, action) == catalogue | view_arns, action  # never a table
    assert grants(found, "glue:GetTable") == catalogue | view_arns | table_arns
    assert grants(found, "glue:GetDatabase") == catalogue | {f"{GLUE}database/default"}
    for action in ("athena:StartQueryExecution", "athena:GetQueryExecution"):
        assert grants(found, action) == {WORKGROUP}
    assert grants(found, "s3:PutObject") == {"${DataBucket.Arn}/athena-results/*"}


# ------------------------------------------------------------------ 3. what the roles do not need


def test_every_list_bucket_grant_names_its_prefixes(
    packaged: Packaged, packaged_with_alerts: Packaged, packaged_with_quicksight: Packaged
) -> None:
    for stack in (packaged, packaged_with_alerts, packaged_with_quicksight):
        documents = [
            (name, policy["PolicyDocument"])
            for name, role in stack.of_type("AWS::IAM::Role").items()
            for policy in role["Properties"].get("Policies", [])
        ]
        documents += [
            (name, resource["Properties"]["PolicyDocument"])
            for name, resource in stack.resources.items()
            if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy", "AWS::IAM::Policy")
        ]
        for name, document in documents:
            for statement in statements(document):
                if "s3:ListBucket" not in as_list(statement["Action"]):
                    continue
                prefixes = statement.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
                assert prefixes, (
                    f"{name} {statement.get('Sid')}: s3:ListBucket without an s3:prefix condition"
                )
                assert "*" not in as_list(prefixes), name


def test_ingest_reads_only_new_objects_reference_data_and_the_failure_report_probe(
    packaged: Packaged,
) -> None:
    found = role_statements(packaged, "IngestRole")
    assert grants(found, "s3:GetObject") == {
        "${DataBucket.Arn}/incoming/*",
        "${DataBucket.Arn}/uploads/*",
        "${DataBucket.Arn}/reference/*",
    }
    assert grants(found, "s3:PutObject") >= {
        "${DataBucket.Arn}/parquet/*",
        "${DataBucket.Arn}/quarantine/*",
        "${DataBucket.Arn}/kept-aside/*",
    }
    (listing,) = [statement for statement in found if "s3:ListBucket" in as_list(statement["Action"])]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["reference/*"]}}
    # The AWS store reads no object of its own back: a failure report goes by a conditional PUT.
    store = (REPO / "dmarc_store" / "backends" / "aws.py").read_text()
    assert "head_object(" not in store
    assert 'IfNoneMatch="*"' in store


def test_lookup_only_queries_the_source_ip_index(packaged: Packaged) -> None:
    found = role_statements(packaged, "LookupRole")
    assert actions_of(found) == {"logs:CreateLogStream", "logs:PutLogEvents", "dynamodb:Query"}
    assert grants(found, "dynamodb:Query") == {"${DataTable.Arn}/index/by-source-ip"}
    source = (REPO / "dmarc_store" / "lookup.py").read_text()
    assert re.findall(r"dynamodb\.(\w+)\(", source) == ["get_paginator"]
    assert 'get_paginator("query")' in source
    assert "IndexName=BY_SOURCE_IP" in source
    handler = (REPO / "handlers" / "lookup.py").read_text()
    assert "get_item" not in handler


def test_the_alarm_topics_take_only_this_accounts_alarms(
    packaged: Packaged, packaged_with_alerts: Packaged
) -> None:
    alarms = "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"
    for stack, name in ((packaged, "AlarmTopicPolicy"), (packaged_with_alerts, "AlertTopicPolicy")):
        document = stack.resources[name]["Properties"]["PolicyDocument"]
        services = [statement for statement in statements(document) if "Service" in statement["Principal"]]
        assert services, name
        for statement in services:
            assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
            assert statement["Action"] == "sns:Publish"
            condition = statement["Condition"]
            assert condition["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}, name
            assert text(condition["ArnLike"]["aws:SourceArn"]) == alarms, name


# ---------------------------------------------------------------------------------- 2. QuickSight


AWS_QUICKSIGHT_ATHENA_ACCESS_READS = {
    "athena:StartQueryExecution",
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
    "athena:GetQueryResultsStream",
    "athena:StopQueryExecution",
    "athena:ListWorkGroups",
    "athena:GetWorkGroup",
    "glue:GetDatabase",
    "glue:GetDatabases",
    "glue:GetTable",
    "glue:GetTables",
    "glue:GetPartitions",
    "s3:GetBucketLocation",
    "s3:GetObject",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:ListMultipartUploadParts",
    "s3:AbortMultipartUpload",
    "s3:PutObject",
}
"""The reading part of AWSQuicksightAthenaAccess (v11,
https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSQuicksightAthenaAccess.html): what
QuickSight needs of Athena, Glue and S3 to query. Its catalogue writes, legacy actions, s3:CreateBucket
and lakeformation:GetDataAccess are left out (deploy/quicksight.yml says why)."""


def test_quicksight_may_do_what_the_managed_policy_grants_for_reading_on_this_stack_only(
    packaged: Packaged, packaged_with_quicksight: Packaged
) -> None:
    assert packaged.resources["QuickSightAccessPolicy"]["Properties"]["Roles"] == [
        "aws-quicksight-service-role-v0"
    ]
    policy = packaged_with_quicksight.resources["QuickSightAccessPolicy"]["Properties"]
    assert policy["Roles"] == [QUICKSIGHT_ROLE]
    found = statements(policy["PolicyDocument"])
    assert actions_of(found) == AWS_QUICKSIGHT_ATHENA_ACCESS_READS
    database, tables, views = glue_names(packaged_with_quicksight)
    catalogue = {f"{GLUE}catalog", f"{GLUE}database/{database}"}
    every_table = {f"{GLUE}table/{database}/{name}" for name in tables + views}
    for action in ("glue:GetDatabase", "glue:GetTables", "glue:GetPartitions"):
        assert grants(found, action) == catalogue | every_table, action
    for action in ("athena:StartQueryExecution", "athena:GetQueryResultsStream", "athena:GetWorkGroup"):
        assert grants(found, action) == {WORKGROUP}, action
    assert grants(found, "athena:ListWorkGroups") == {"*"}  # takes no resource ARN
    for statement in found:
        if statement["Resource"] == "*":
            assert statement["Action"] == "athena:ListWorkGroups"
    assert grants(found, "s3:GetObject") == {
        "${DataBucket.Arn}/parquet/*",
        "${DataBucket.Arn}/athena-results/*",
    }
    assert grants(found, "s3:PutObject") == {"${DataBucket.Arn}/athena-results/*"}


def test_the_quicksight_service_role_param_must_be_a_role_name() -> None:
    from tests.test_deploy_template import node_json

    script = """
      const { resolveParams } = require('./deploy/config.js');
      const attempt = (raw) => {
        try { const p = resolveParams(raw, { stage: 'dev', region: 'us-east-1', service: 'dmarc' });
              return [p.quickSightServiceRole, p.quickSightDays]; }
        catch (e) { return e.message; }
      };
      console.log(JSON.stringify([attempt({}), attempt({ quickSightServiceRole: 'service-role/x' }),
        attempt({ quickSightDays: '0' }), attempt({ quickSightDays: '7', quickSightServiceRole: 'qs' })]));
    """
    default, with_path, no_days, custom = node_json(script)
    assert default == ["aws-quicksight-service-role-v0", 90]
    assert "quickSightServiceRole" in with_path
    assert "no path" in with_path
    assert "quickSightDays" in no_days
    assert custom == ["qs", 7]


def test_quicksight_datasets_read_only_the_last_days_or_import_once(
    packaged_with_quicksight: Packaged,
) -> None:
    database, _tables, views = glue_names(packaged_with_quicksight)
    data_sets = packaged_with_quicksight.of_type("AWS::QuickSight::DataSet")
    assert len(data_sets) == len(views)
    manifest = {
        view["name"]: view
        for view in json.loads((REPO / "deploy" / "sql-manifest.json").read_text())["views"]
    }
    seen = set()
    for name, resource in data_sets.items():
        properties = resource["Properties"]
        ((_, physical),) = properties["PhysicalTableMap"].items()
        if "RelationalTable" in physical:  # a view over all time: SPICE, one scan per import
            view = physical["RelationalTable"]["Name"]
            assert "dt" not in [column for column, _ in manifest[view]["columns"]], name
            assert properties["ImportMode"] == "SPICE", name
            seen.add(view)
            continue
        custom = physical["CustomSql"]
        assert properties["ImportMode"] == "DIRECT_QUERY", name
        assert custom["DataSourceArn"] == {"Fn::GetAtt": ["QuickSightDataSource", "Arn"]}
        query = sqlglot.parse_one(custom["SqlQuery"], read="athena")
        (table,) = list(query.find_all(exp.Table))
        assert table.db == database
        seen.add(table.name)
        assert [column.alias_or_name for column in query.expressions] == [
            c["Name"] for c in custom["Columns"]
        ]
        where = query.args["where"].this
        assert isinstance(where, exp.GTE), custom["SqlQuery"]
        assert where.this.name == "dt", custom["SqlQuery"]
        assert f"date_add('day', -{QUICKSIGHT_DAYS - 1}, current_date)" in custom["SqlQuery"]
        assert "'%Y-%m-%d'" in custom["SqlQuery"]  # dt is text: yyyy-MM-dd, compared as text
    assert seen == set(views)
    assert any("RelationalTable" in only_table(r) for r in data_sets.values())  # source_summary


def only_table(resource: dict[str, Any]) -> dict[str, Any]:
    ((_, physical),) = resource["Properties"]["PhysicalTableMap"].items()
    return dict(physical)


def test_the_window_sql_keeps_exactly_the_last_days_on_duckdb() -> None:
    """The dt filter of a dated dataset, run: N days, today included."""
    import duckdb

    from tests.test_deploy_template import node_json

    (sql_text,) = node_json(
        """
      const q = require('./deploy/quicksight.js');
      const view = { name: 'v', columns: [['dt', 'VARCHAR'], ['n', 'BIGINT']] };
      console.log(JSON.stringify([q.recentSql(view, [{ Name: 'dt' }, { Name: 'n' }],
        { glueDatabase: 'db', quickSightDays: 3 })]));
    """
    )
    duck = sqlglot.transpile(sql_text, read="athena", write="duckdb")[0]
    connection = duckdb.connect()
    connection.execute("CREATE SCHEMA db")
    connection.execute(
        "CREATE TABLE db.v AS SELECT strftime(current_date - CAST(i AS INTEGER), '%Y-%m-%d') AS dt, i AS n"
        " FROM range(0, 6) t(i)"
    )
    kept = sorted(row[1] for row in connection.execute(duck).fetchall())
    assert kept == [0, 1, 2]


# ------------------------------------------------------------------------------ 4. the operator policy


OPERATOR_POLICY = REPO / "deploy" / "operator-policy.json"
PLACEHOLDERS = {
    "AWS_REGION": kit.REGION,
    "AWS_ACCOUNT_ID": "123456789012",
    "DMARC_BUCKET": kit.BUCKET,
    "DMARC_TABLE": kit.TABLE,
    "DMARC_GLUE_DATABASE": "dmarc",
    "DMARC_ATHENA_WORKGROUP": "dmarc-dev",
    "DMARC_RUF_HASH_KEY_SECRET": "",  # filled in the test with the moto secret's ARN
}
"""The placeholders of deploy/operator-policy.json: the settings the CLI reads (README, Permissions),
filled by `envsubst`."""


def operator_policy(values: dict[str, str]) -> dict[str, Any]:
    raw = OPERATOR_POLICY.read_text()
    named = set(re.findall(r"\$\{(\w+)\}", raw))
    assert named == set(PLACEHOLDERS), named ^ set(PLACEHOLDERS)
    filled = re.sub(r"\$\{(\w+)\}", lambda match: values[match.group(1)], raw)
    document: dict[str, Any] = json.loads(filled)
    return document


def test_the_operator_policy_is_a_policy_of_named_resources_matching_the_stack(packaged: Packaged) -> None:
    document = json.loads(OPERATOR_POLICY.read_text())
    assert document["Version"] == "2012-10-17"
    sids = [statement["Sid"] for statement in document["Statement"]]
    assert len(sids) == len(set(sids))
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        assert all("*" not in action for action in as_list(statement["Action"])), statement["Sid"]
        assert all(resource != "*" for resource in as_list(statement["Resource"])), statement["Sid"]
    assert len(re.sub(r"\s", "", OPERATOR_POLICY.read_text())) < 6144  # a managed policy's size limit
    # The names it uses are the stack's: the Glue tables and views, the index, the bucket's prefixes.
    _database, tables, views = glue_names(packaged)
    glue_tables = {
        resource.rsplit("/", 1)[1]
        for statement in document["Statement"]
        for resource in as_list(statement["Resource"])
        if ":table/${DMARC_GLUE_DATABASE}/" in resource
    }
    assert glue_tables == set(tables) | set(views), "deploy/operator-policy.json: the tables changed"
    indexes = {
        index["IndexName"]
        for index in packaged.resources["DataTable"]["Properties"]["GlobalSecondaryIndexes"]
    }
    assert "by-source-ip" in indexes
    ingest = role_statements(packaged, "IngestRole")
    role_writes = {resource.removeprefix("${DataBucket.Arn}/") for resource in grants(ingest, "s3:PutObject")}
    operator_writes = {
        resource.split("${DMARC_BUCKET}/", 1)[1]
        for statement in document["Statement"]
        if "s3:PutObject" in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }
    assert operator_writes == role_writes | {"athena-results/*"}  # what ingest writes, and query results
    workgroup = packaged.resources["AthenaWorkGroup"]["Properties"]["Name"]
    assert workgroup  # the operator fills DMARC_ATHENA_WORKGROUP with the AthenaWorkGroupName output
    assert {"AthenaWorkGroupName", "DataBucketName", "DataTableName", "GlueDatabaseName"} <= set(
        packaged.template["Outputs"]
    )


@pytest.fixture
def athena_workgroup(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The stack's workgroup on moto (results under athena-results/), and the CLI pointed at it."""
    athena = boto3.client("athena", region_name=kit.REGION)
    athena.create_work_group(
        Name="dmarc-dev",
        Configuration={
            "ResultConfiguration": {"OutputLocation": f"s3://{kit.BUCKET}/athena-results/"},
            "EnforceWorkGroupConfiguration": True,
        },
    )
    monkeypatch.setenv("DMARC_ATHENA_WORKGROUP", "dmarc-dev")
    monkeypatch.setenv("DMARC_GLUE_DATABASE", "dmarc")
    return "dmarc-dev"


def athena_server_side(
    database: str, tables: list[str], views: list[str], bucket: str, account: str
) -> list[Call]:
    """What Athena does with the caller's rights for each query (moto runs none of it): look up the
    database (and `default`), read each table's and view's schema, list and read the Parquet, write and
    read the results (https://docs.aws.amazon.com/athena/latest/ug/s3-permissions.html). No
    GetPartitions: the tables use partition projection
    (https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html)."""
    glue = f"arn:aws:glue:{kit.REGION}:{account}:"
    s3 = f"arn:aws:s3:::{bucket}"
    calls = [Call("glue:GetDatabase", f"{glue}{where}") for where in ("catalog", "database/default")]
    calls.append(Call("glue:GetDatabase", f"{glue}database/{database}"))
    for name in tables + views:
        calls += [Call("glue:GetTable", f"{glue}{where}") for where in ("catalog", f"database/{database}")]
        calls.append(Call("glue:GetTable", f"{glue}table/{database}/{name}"))
    for name in tables:  # a view has no data of its own
        calls.append(Call("s3:ListBucket", s3, {"s3:prefix": f"parquet/{name}/dt=2025-01-01/"}))
        calls.append(Call("s3:GetObject", f"{s3}/parquet/{name}/dt=2025-01-01/x.parquet"))
    calls += [
        Call("s3:GetBucketLocation", s3),
        Call("s3:ListBucket", s3, {"s3:prefix": "athena-results/"}),
        Call("s3:PutObject", f"{s3}/athena-results/q.csv"),
        Call("s3:AbortMultipartUpload", f"{s3}/athena-results/q.csv"),
    ]
    return calls


OTHER_PATHS = {
    "dynamodb:Query": (REPO / "dmarc_store" / "backends" / "aws.py", 'get_paginator("query")'),
    "athena:StopQueryExecution": (
        Path(str(__import__("awswrangler").__file__)).parent / "athena" / "_executions.py",
        "stop_query_execution(",
    ),
}
"""Actions of a code path the CLI run below does not take, with the call that takes it: the query of a
resumed claim's stale records (ingest), and awswrangler stopping a query it gave up waiting for."""


def test_the_operator_policy_allows_each_call_of_the_four_commands_and_needs_each_action(
    athena_workgroup: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dmarc_store.settings import get_settings

    secret = boto3.client("secretsmanager", region_name=kit.REGION).create_secret(
        Name="dmarc-ruf-hash-key", SecretString="k" * 64
    )
    monkeypatch.delenv("DMARC_RUF_HASH_KEY")
    monkeypatch.setenv("DMARC_RUF_HASH_KEY_SECRET", secret["ARN"])
    get_settings.cache_clear()
    account = PLACEHOLDERS["AWS_ACCOUNT_ID"]
    policy = operator_policy({**PLACEHOLDERS, "DMARC_RUF_HASH_KEY_SECRET": secret["ARN"]})
    make_report(tmp_path / "report.eml", 10, 1, "--eml")
    commands = {
        "ingest": [
            "ingest",
            "--aws",
            str(tmp_path / "report.eml"),
            str(CORPUS / "pdm__dmarc_ruf_report_linkedin.eml"),
        ],
        "lookup": ["lookup", "--aws", "192.0.2.1"],
        "query": ["query", "--aws", "daily_volume_pass_rate"],
        "report": ["report", "--aws", "--html", str(tmp_path / "report.html")],
    }
    calls: list[Call] = []
    for name, args in commands.items():
        with recording(monkeypatch) as recorded:
            result = CliRunner().invoke(cli, args, catch_exceptions=True)
        if name in ("ingest", "lookup"):
            assert result.exit_code == 0, (name, result.output)
        made = iam_calls(recorded, account=account, workgroup=athena_workgroup)
        assert made, name
        if any(call.action == "athena:StartQueryExecution" for call in made):
            # moto writes no result file, so awswrangler stops at reading it; its HeadObject is made.
            assert any(call.action == "s3:GetObject" and "/athena-results/" in call.resource for call in made)
            _, tables, views = glue_names_from_manifest()
            made += athena_server_side("dmarc", tables, views, kit.BUCKET, account)
        calls += made
    get_settings.cache_clear()
    denied = sorted({str(call) for call in calls if not allowed(call, policy["Statement"], str)})
    assert not denied, f"deploy/operator-policy.json does not allow {denied}"
    granted = actions_of(policy["Statement"])
    unused = granted - {call.action for call in calls}
    for action in sorted(unused):
        assert action in OTHER_PATHS, f"deploy/operator-policy.json grants {action}, which no command uses"
        path, call = OTHER_PATHS[action]
        assert call in path.read_text(), (action, path)


def glue_names_from_manifest() -> tuple[str, list[str], list[str]]:
    manifest = json.loads((REPO / "deploy" / "sql-manifest.json").read_text())
    tables = sorted(table["name"] for table in manifest["tables"])
    views = sorted(view["name"] for view in manifest["views"])
    return "dmarc", tables, views
