"""The one door to AWS: one Config for every client, botocore errors translated into the project's tree,
and no other module making clients. Also: every error class of the project joins the one tree."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
)

from dmarc_model.errors import ConfigurationError, DmarcError, UsageError
from dmarc_store.aws_clients import CONFIG, AwsClients, TranslatingClient, translate, translating
from dmarc_store.errors import ConditionFailed, PermanentStoreError, TransientStoreError
from tests import aws_support as kit

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("dmarc_model", "dmarc_store", "dmarc_report", "dmarc_cli", "handlers", "athena_queries")


def client_error(code: str, status: int = 400, **extra: Any) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": "said AWS"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    response.update(extra)
    return ClientError(response, "PutItem")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (client_error("ThrottlingException"), TransientStoreError),
        (client_error("ProvisionedThroughputExceededException"), TransientStoreError),
        (client_error("SlowDown", 503), TransientStoreError),
        (client_error("InternalServerError", 500), TransientStoreError),
        (client_error("WhateverNew", 502), TransientStoreError),
        (client_error("RequestLimitExceeded"), TransientStoreError),
        (EndpointConnectionError(endpoint_url="https://dynamodb.invalid"), TransientStoreError),
        (ConnectTimeoutError(endpoint_url="https://dynamodb.invalid"), TransientStoreError),
        (ReadTimeoutError(endpoint_url="https://dynamodb.invalid"), TransientStoreError),
        (client_error("AccessDeniedException"), PermanentStoreError),
        (client_error("ResourceNotFoundException"), PermanentStoreError),
        (client_error("ValidationException"), PermanentStoreError),
        (client_error("NoSuchBucket", 404), PermanentStoreError),
        (client_error("ConditionalCheckFailedException"), ConditionFailed),
        (NoCredentialsError(), ConfigurationError),
        (NoRegionError(), ConfigurationError),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else value.__name__,
)
def test_each_botocore_error_becomes_the_project_error_it_means(error: Exception, expected: type) -> None:
    translated = translate(error, "dynamodb.put_item")
    assert type(translated) is expected
    assert "\n" not in str(translated)
    assert str(translated).startswith(("AWS dynamodb.put_item", "AWS is not configured"))


def test_a_failed_condition_keeps_the_item_dynamodb_returned() -> None:
    item = {"PK": {"S": "REPORT#x"}}
    translated = translate(client_error("ConditionalCheckFailedException", Item=item), "dynamodb.put_item")
    assert isinstance(translated, ConditionFailed)
    assert translated.item == item


def test_every_client_gets_the_one_config() -> None:
    clients = AwsClients(boto3.session.Session(region_name="eu-west-1"))
    for service in ("s3", "dynamodb", "athena"):
        raw = clients.client(service)._client
        config = raw.meta.config
        assert config.retries["mode"] == "standard"
        assert (config.connect_timeout, config.read_timeout) == (CONFIG.connect_timeout, CONFIG.read_timeout)
        assert clients.client(service) is clients.client(service)


@pytest.mark.usefixtures("aws")
def test_errors_from_calls_and_from_pages_arrive_translated() -> None:
    dynamodb = AwsClients().client("dynamodb")
    with pytest.raises(PermanentStoreError, match="ResourceNotFoundException"):
        dynamodb.get_item(TableName="no-such-table", Key={"PK": {"S": "x"}, "SK": {"S": "y"}})
    pages = dynamodb.get_paginator("query").paginate(
        TableName="no-such-table",
        KeyConditionExpression="PK = :p",
        ExpressionAttributeValues={":p": {"S": "x"}},
    )
    with pytest.raises(PermanentStoreError, match=r"dynamodb\.query"):
        list(pages)
    assert dynamodb.describe_table(TableName=kit.TABLE)["Table"]["TableName"] == kit.TABLE


def test_a_wrapped_client_is_not_wrapped_twice() -> None:
    raw = boto3.session.Session(region_name="eu-west-1").client("s3")
    once = translating(raw, "s3")
    assert isinstance(once, TranslatingClient)
    assert translating(once, "s3") is once


def _calls_making_clients(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        makes = (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("client", "resource", "Session")
            and ast.unparse(node.func.value) in ("boto3", "boto3.session", "session", "self.session")
        )
        if makes:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)[:60]}")
    return found


def test_nothing_but_the_door_makes_aws_clients() -> None:
    sources = [path for package in PACKAGES for path in (ROOT / package).rglob("*.py")]
    made = [call for path in sources for call in _calls_making_clients(path)]
    assert all(call.startswith("dmarc_store/aws_clients.py") for call in made), made
    assert made, "the door itself should be found"


def _project_exceptions() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for package in PACKAGES:
        module = importlib.import_module(package)
        names = [package]
        if hasattr(module, "__path__"):
            names += [info.name for info in pkgutil.walk_packages(module.__path__, f"{package}.")]
        for name in names:
            for _, value in inspect.getmembers(importlib.import_module(name), inspect.isclass):
                if issubclass(value, BaseException) and value.__module__.startswith(PACKAGES):
                    found[f"{value.__module__}.{value.__qualname__}"] = value
    return list(found.values())


def test_every_error_class_of_the_project_joins_the_one_tree() -> None:
    errors = _project_exceptions()
    assert len(errors) > 20
    outside = [error.__qualname__ for error in errors if not issubclass(error, DmarcError)]
    assert outside == []
    documented = (ROOT / "dmarc_store" / "errors.py").read_text() + (
        ROOT / "dmarc_model" / "errors.py"
    ).read_text()
    undocumented = [error.__qualname__ for error in errors if error.__qualname__ not in documented]
    assert undocumented == []


def test_exit_codes_follow_the_tree() -> None:
    assert DmarcError.exit_code == 1
    assert UsageError.exit_code == 2
    assert ConfigurationError.exit_code == 3
    for error in _project_exceptions():
        if issubclass(error, ConfigurationError):
            assert error.exit_code == 3, error
        elif issubclass(error, UsageError):
            assert error.exit_code == 2, error
        else:
            assert error.exit_code == 1, error


COMMANDS_READING_SETTINGS = [
    ["ingest", "{corpus_file}"],
    ["query", "--sql", "SELECT 1"],
    ["lookup", "192.0.2.1"],
    ["report", "--html", "{tmp}/r.html"],
    ["export", "--csv", "{tmp}/r.csv"],
    ["compact"],
]


@pytest.mark.parametrize("words", COMMANDS_READING_SETTINGS, ids=lambda words: words[0])
def test_the_same_bad_setting_gives_exit_3_from_every_command(words: list[str], tmp_path: Path) -> None:
    sample = tmp_path / "a.xml"
    sample.write_bytes(b"<feedback/>")
    argv = [word.format(corpus_file=sample, tmp=tmp_path) for word in words]
    result = subprocess.run(
        [sys.executable, "-m", "dmarc_cli.main", *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "DMARC_RETENTION_DAYS": "-5", "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 3, result.stderr
    assert result.stderr.strip().splitlines() == ["dmarc: bad setting DMARC_RETENTION_DAYS: " + _ge0()]


def _ge0() -> str:
    return "Input should be greater than or equal to 0"


@pytest.mark.usefixtures("aws")
def test_throttled_writes_during_ingest_aws_are_retried_then_reported_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Throttling on every DynamoDB write: the CLI retries, then lists the file as failed (exit 1)."""
    from click.testing import CliRunner

    from dmarc_cli import batch
    from dmarc_cli.main import cli

    original = TranslatingClient.__getattr__

    def throttled(self: TranslatingClient, name: str) -> Any:
        if self._service == "dynamodb" and name == "put_item":

            def refuse(**_: Any) -> Any:
                raise translate(client_error("ThrottlingException"), "dynamodb.put_item")

            return refuse
        return original(self, name)

    monkeypatch.setattr(TranslatingClient, "__getattr__", throttled)
    monkeypatch.setattr(batch, "RETRY_SECONDS", 0.2)
    report = next((ROOT.parent / "shared" / "corpus").rglob("*.xml"))
    result = CliRunner().invoke(cli, ["ingest", "--aws", "--json", str(report)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "ThrottlingException" in result.output
