"""The CLI against the AWS store through AWS_ENDPOINT_URL (a moto server on loopback), as a user
backfilling old reports into the stack would run it: `dmarc ingest --aws`, then `dmarc lookup --aws`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests import aws_support as kit
from tests.helpers import REPO, make_report


@pytest.fixture
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _environment(endpoint: str) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": kit.REGION,
        "DMARC_BUCKET": kit.BUCKET,
        "DMARC_TABLE": kit.TABLE,
    }


def test_ingest_and_lookup_with_aws_go_to_the_endpoint_in_aws_endpoint_url(
    moto_server: str, tmp_path: Path
) -> None:
    environment = _environment(moto_server)
    session = boto3.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name=kit.REGION,
    )
    session.client("s3", endpoint_url=moto_server).create_bucket(Bucket=kit.BUCKET)
    kit.create_table(session.client("dynamodb", endpoint_url=moto_server))
    report = tmp_path / "report.eml"
    summary = make_report(report, 30, 2, "--eml")

    def dmarc(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "dmarc_cli.main", *args]
        return subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO, env=environment)

    first = dmarc("ingest", "--aws", "--json", str(report))
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout.splitlines()[-1])["new"] == 1
    again = dmarc("ingest", "--aws", "--json", str(report))
    assert json.loads(again.stdout.splitlines()[-1])["duplicate"] == 1

    dynamodb = session.client("dynamodb", endpoint_url=moto_server)
    items = dynamodb.scan(TableName=kit.TABLE)["Items"]
    records = [item for item in items if item["SK"]["S"].startswith("REC#")]
    assert sum(int(item["message_count"]["N"]) for item in records) == summary["message_total"]
    some_ip = records[0]["source_ip"]["S"]
    looked_up = dmarc("lookup", "--aws", some_ip)
    assert looked_up.returncode == 0, looked_up.stderr
    rows = [json.loads(line) for line in looked_up.stdout.splitlines()]
    assert rows
    assert {row["source_ip"] for row in rows} == {some_ip}
