"""The ingest role allows every AWS call the ingest makes: each scenario of the fault table, a deferred
report's progress and its message made visible again, run on moto and held to deploy/iam.yml.

moto does not enforce IAM, so a call the role lacks passes every other test and fails only once deployed
(AccessDenied on the first resumed claim, say): this test is where it fails instead.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import REPO
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


def ingest_actions() -> set[str]:
    text = (REPO / "deploy" / "iam.yml").read_text()
    document: Any = yaml.load(text, Loader=CloudFormationLoader)
    role = document["Resources"]["IngestRole"]["Properties"]
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
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
