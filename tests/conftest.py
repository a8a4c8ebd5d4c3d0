"""Fixtures shared by the test modules."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "DmarcReportsTest")
os.environ.setdefault("POWERTOOLS_DEV", "false")
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="dmarc-test-cache-")
"""The query translations the tests' runs keep (dmarc_store.query.translations), never in the user's home."""


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto's in-process AWS with our bucket and table, and the settings pointing at them."""
    from moto import mock_aws

    from dmarc_store.settings import get_settings
    from tests.aws_support import BUCKET, REGION, TABLE, create_resources

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "DMARC_BUCKET": BUCKET,
        "DMARC_TABLE": TABLE,
        "DMARC_RUF_HASH_KEY": "test-ruf-hash-key",  # the stack reads its secret (DMARC_RUF_HASH_KEY_SECRET)
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    get_settings.cache_clear()
    with mock_aws():
        create_resources()
        yield
    get_settings.cache_clear()


@pytest.fixture
def lambda_context() -> object:
    class Context:
        function_name = "dmarc-ingest"
        memory_limit_in_mb = 1024
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:dmarc-ingest"
        aws_request_id = "52fdfc07-2182-154f-163f-5f0f9a621d72"

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 60_000

    return Context()


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "dmarc-data"
