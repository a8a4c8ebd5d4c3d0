"""S3 notifications in SQS bodies -> the keys to ingest."""

from __future__ import annotations

import json

from dmarc_store.ingest.s3_events import object_keys
from tests.aws_support import s3_test_event_message, sqs_event


def _body(*keys: str) -> str:
    return str(sqs_event(*keys)["Records"][0]["body"])


def test_keys_are_url_decoded() -> None:
    assert list(object_keys(_body("uploads/a report+1.xml"))) == ["uploads/a report+1.xml"]


def test_test_event_ses_setup_object_and_other_prefixes_give_nothing() -> None:
    assert list(object_keys(str(s3_test_event_message()["Records"][0]["body"]))) == []
    assert list(object_keys(_body("incoming/AMAZON_SES_SETUP_NOTIFICATION"))) == []
    assert list(object_keys(_body("parquet/records/dt=2025-01-01/x.parquet"))) == []


def test_only_object_created_events_count() -> None:
    body = json.loads(_body("incoming/abc"))
    body["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert list(object_keys(json.dumps(body))) == []
