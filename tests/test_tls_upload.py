"""The HTTPS reporting endpoint (RFC 8460 section 3) on moto S3: what it accepts, lands and refuses."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest

from dmarc_store import tls_upload
from dmarc_store.errors import PermanentStoreError, TransientStoreError
from dmarc_store.ingest.s3_events import INGESTED_PREFIXES, object_keys
from dmarc_store.layout import UPLOADS_PREFIX
from dmarc_store.settings import Settings, get_settings
from dmarc_store.tls_upload import GZIP_TYPE, JSON_TYPE, S3Landing, Upload, receive, report_key
from tests import aws_support as kit

REPORT = {
    "organization-name": "Company-X",
    "date-range": {"start-datetime": "2016-04-01T00:00:00Z", "end-datetime": "2016-04-01T23:59:59Z"},
    "contact-info": "sts-reporting@company-x.example",
    "report-id": "5065427c-23d3-47ca-b6e0-946ea0e8c4be",
    "policies": [],
}
JSON_BODY = json.dumps(REPORT).encode()
GZIP_BODY = gzip.compress(JSON_BODY)
DAY = date(2026, 12, 2)
CAP = 1024


def url_event(
    body: bytes | str | None,
    *,
    content_type: str | None = GZIP_TYPE,
    method: str = "POST",
    encoded: bool = True,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Lambda function URL event (payload format 2.0), as AWS documents and delivers it."""
    all_headers = {"host": "abcdefg.lambda-url.us-east-1.on.aws", "user-agent": "mta-sts-reporter/1.0"}
    if content_type is not None:
        all_headers["content-type"] = content_type
    if isinstance(body, bytes):
        all_headers["content-length"] = str(len(body))
        body = base64.b64encode(body).decode() if encoded else body.decode()
    all_headers.update(headers or {})
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": all_headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefg",
            "domainName": "abcdefg.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abcdefg",
            "http": {
                "method": method,
                "path": "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.25",
                "userAgent": "mta-sts-reporter/1.0",
            },
            "requestId": "id",
            "routeKey": "$default",
            "stage": "$default",
            "time": "02/Dec/2026:12:00:00 +0000",
            "timeEpoch": 1796212800000,
        },
        **({"body": body} if body is not None else {}),
        "isBase64Encoded": encoded,
    }


def upload(event: dict[str, Any]) -> Upload:
    return Upload(
        method=event["requestContext"]["http"]["method"],
        headers=event["headers"],
        body=event.get("body"),
        base64=event["isBase64Encoded"],
    )


@pytest.fixture
def landing(aws: None) -> S3Landing:
    return tls_upload.s3_landing(get_settings())


def post(landing: S3Landing, event: dict[str, Any], cap: int = CAP) -> tls_upload.Answer:
    return receive(upload(event), landing, cap, DAY)


def versions(prefix: str) -> list[dict[str, Any]]:
    s3: Any = boto3.client("s3", region_name=kit.REGION)
    found: list[dict[str, Any]] = s3.list_object_versions(Bucket=kit.BUCKET, Prefix=prefix).get(
        "Versions", []
    )
    return found


# ------------------------------------------------------------------------------------------------ accepted


@pytest.mark.parametrize(
    ("body", "content_type", "suffix"),
    [(GZIP_BODY, GZIP_TYPE, ".json.gz"), (JSON_BODY, JSON_TYPE, ".json")],
    ids=["gzip", "json"],
)
def test_a_report_is_stored_as_sent_under_its_hash_in_uploads(
    landing: S3Landing, body: bytes, content_type: str, suffix: str
) -> None:
    answer = post(landing, url_event(body, content_type=content_type))
    assert (answer.status, answer.reason) == (201, "stored")
    assert answer.key == f"uploads/tlsrpt/2026-12-02/{hashlib.sha256(body).hexdigest()}{suffix}"
    assert kit.get_object(answer.key) == body
    head = boto3.client("s3", region_name=kit.REGION).head_object(Bucket=kit.BUCKET, Key=answer.key)
    assert head["ContentType"] == content_type
    assert json.loads(answer.response()["body"])["sha256"] in answer.key


def test_the_same_report_posted_twice_is_one_object_of_one_version(landing: S3Landing) -> None:
    first = post(landing, url_event(GZIP_BODY))
    again = post(landing, url_event(GZIP_BODY))
    assert (first.status, again.status) == (201, 200)
    assert first.key == again.key
    assert [version["Key"] for version in versions("uploads/tlsrpt/")] == [first.key]  # no second event


def test_a_text_body_that_is_not_base64_is_stored_as_its_utf8_bytes(landing: S3Landing) -> None:
    answer = post(landing, url_event(JSON_BODY, content_type=JSON_TYPE, encoded=False))
    assert answer.status == 201
    assert answer.key is not None
    assert kit.get_object(answer.key) == JSON_BODY


@pytest.mark.parametrize(
    "content_type",
    ["application/tlsrpt+gzip; charset=binary", "Application/TLSRPT+GZIP", "application/tlsrpt+json"],
)
def test_the_media_type_is_matched_without_parameters_or_case_and_the_bytes_decide_the_suffix(
    landing: S3Landing, content_type: str
) -> None:
    answer = post(landing, url_event(GZIP_BODY, content_type=content_type))
    assert answer.status == 201
    assert str(answer.key).endswith(".json.gz")  # labelled +json but gzipped: kept, the ingest reads it


def test_a_json_body_may_begin_with_whitespace_or_a_byte_order_mark(landing: S3Landing) -> None:
    body = b"\xef\xbb\xbf\r\n  " + JSON_BODY
    assert post(landing, url_event(body, content_type=JSON_TYPE)).status == 201


def test_the_landed_key_is_one_the_ingest_queue_is_notified_of_and_ingests() -> None:
    key = report_key(GZIP_BODY, DAY)
    assert key.startswith(tls_upload.TLS_UPLOADS_PREFIX)
    assert tls_upload.TLS_UPLOADS_PREFIX.startswith(UPLOADS_PREFIX)
    assert key.startswith(INGESTED_PREFIXES)
    assert list(object_keys(kit.sqs_event(key)["Records"][0]["body"])) == [key]


# ------------------------------------------------------------------------------------------------ refused


@pytest.mark.parametrize("method", ["GET", "PUT", "HEAD", "OPTIONS", "DELETE"])
def test_only_post_is_accepted(landing: S3Landing, method: str) -> None:
    answer = post(landing, url_event(GZIP_BODY, method=method))
    assert answer.status == 405
    assert answer.response()["headers"]["allow"] == "POST"
    assert versions("uploads/") == []


@pytest.mark.parametrize(
    "content_type", [None, "", "application/json", "application/gzip", "text/plain", "multipart/form-data"]
)
def test_another_content_type_is_refused_with_415(landing: S3Landing, content_type: str | None) -> None:
    answer = post(landing, url_event(GZIP_BODY, content_type=content_type))
    assert answer.status == 415
    assert GZIP_TYPE in answer.response()["headers"]["accept-post"]
    assert versions("uploads/") == []


def test_a_body_past_the_cap_is_refused_with_413_and_one_at_the_cap_is_taken(landing: S3Landing) -> None:
    at_cap = b"{" + b" " * (CAP - 2) + b"}"
    assert post(landing, url_event(at_cap, content_type=JSON_TYPE)).status == 201
    over = b"{" + b" " * (CAP - 1) + b"}"
    for encoded in (True, False):
        assert post(landing, url_event(over, content_type=JSON_TYPE, encoded=encoded)).status == 413
    assert len(versions("uploads/")) == 1


def test_a_huge_content_length_is_refused_before_the_body_is_looked_at(landing: S3Landing) -> None:
    huge = {"content-length": "99999999999999999999999"}
    answer = post(landing, url_event(GZIP_BODY, headers=huge), cap=10 * CAP)
    assert answer.status == 413
    assert post(landing, url_event(GZIP_BODY, headers={"content-length": "12k"})).status == 400


def test_an_oversized_base64_body_is_refused_before_it_is_decoded(
    landing: S3Landing, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*_: Any, **__: Any) -> bytes:
        raise AssertionError("decoded")

    monkeypatch.setattr(base64, "b64decode", never)  # the one module: the endpoint's too
    event = url_event("A" * (4 * CAP), headers={"content-length": ""})  # no claim: the length decides
    assert post(landing, event).status == 413


@pytest.mark.parametrize(
    ("body", "content_type", "encoded"),
    [
        (None, GZIP_TYPE, True),
        ("", GZIP_TYPE, True),
        ("not base64!", GZIP_TYPE, True),
        (b"hello, world", JSON_TYPE, True),
        (b"[1, 2, 3]", JSON_TYPE, True),
        (b"   ", JSON_TYPE, False),
        (gzip.compress(b"<feedback/>"), GZIP_TYPE, True),
        (GZIP_BODY[:10], GZIP_TYPE, True),  # the gzip header alone
        (b"\x1f\x8b" + b"\x00" * 40, GZIP_TYPE, True),  # corrupt
    ],
    ids=["no-body", "empty", "bad-base64", "text", "json-array", "blank", "gzip-xml", "truncated", "corrupt"],
)
def test_a_body_that_is_not_a_report_is_refused_with_400(
    landing: S3Landing, body: bytes | str | None, content_type: str, encoded: bool
) -> None:
    event = url_event(body, content_type=content_type, encoded=encoded, headers={"content-length": ""})
    assert post(landing, event).status == 400
    assert versions("uploads/") == []


# ------------------------------------------------------------------------------------------------ storage


class FailingS3:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def put_object(self, **_: Any) -> None:
        raise self.error


def s3_error(code: str, status: int) -> PermanentStoreError | TransientStoreError:
    from botocore.exceptions import ClientError

    from dmarc_store.aws_clients import translate

    response: Any = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    cause = ClientError(response, "PutObject")
    error = translate(cause, "s3.put_object")
    error.__cause__ = cause
    assert isinstance(error, PermanentStoreError | TransientStoreError)
    return error


@pytest.mark.parametrize(("code", "status"), [("SlowDown", 503), ("ConditionalRequestConflict", 409)])
def test_a_throttled_or_racing_write_asks_the_sender_to_retry(code: str, status: int) -> None:
    answer = receive(
        upload(url_event(GZIP_BODY)), S3Landing(FailingS3(s3_error(code, status)), "b"), CAP, DAY
    )
    assert answer.status == 503
    assert answer.response()["headers"]["retry-after"] == "60"


def test_a_refused_write_is_raised_as_the_deployment_fault_it_is() -> None:
    landing = S3Landing(FailingS3(s3_error("AccessDenied", 403)), "b")
    with pytest.raises(PermanentStoreError, match="AccessDenied"):
        receive(upload(url_event(GZIP_BODY)), landing, CAP, DAY)


def test_the_cap_is_a_setting_of_one_mib_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().tls_upload_max_bytes == 1024 * 1024
    monkeypatch.setenv("DMARC_TLS_UPLOAD_MAX_BYTES", "2048")
    assert Settings().tls_upload_max_bytes == 2048


# ------------------------------------------------------------------------------------------------ handler


@pytest.mark.usefixtures("aws")
def test_the_handler_answers_a_function_url_event_and_lands_the_report(
    lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers import tls_upload as endpoint

    endpoint.landing.cache_clear()
    response = endpoint.handler(url_event(GZIP_BODY), lambda_context)
    assert response["statusCode"] == 201
    assert response["headers"]["content-type"] == "application/json"
    today = datetime.now(UTC).date().isoformat()
    (key,) = kit.list_keys(f"uploads/tlsrpt/{today}/")
    assert kit.get_object(key) == GZIP_BODY
    assert endpoint.handler(url_event(GZIP_BODY), lambda_context)["statusCode"] == 200
    assert endpoint.handler(url_event(GZIP_BODY, method="GET"), lambda_context)["statusCode"] == 405
    monkeypatch.setenv("DMARC_TLS_UPLOAD_MAX_BYTES", "16")
    get_settings.cache_clear()
    assert endpoint.handler(url_event(GZIP_BODY), lambda_context)["statusCode"] == 413
    endpoint.landing.cache_clear()


def test_the_endpoint_imports_without_pyarrow_as_its_function_has_no_pandas_layer() -> None:
    """serverless.yml gives tlsUpload no layer (a small, fast function): nothing it imports may need
    pyarrow, pandas or awswrangler, which only the layer has on Lambda."""
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import sys, handlers.tls_upload;"
        "print([m for m in ('pyarrow', 'pandas', 'awswrangler', 'numpy', 'duckdb') if m in sys.modules])"
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]", "imported, and not in the function's package: " + result.stdout


def test_a_landed_report_reaches_the_ingest_queue_through_the_bucket_s_uploads_notification(
    landing: S3Landing,
) -> None:
    """The stack's notification (deploy/resources.yml: prefix uploads/) on moto: the key arrives, once."""
    sqs: Any = boto3.client("sqs", region_name=kit.REGION)
    queue = sqs.create_queue(QueueName="ingest")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    prefix = {"Key": {"FilterRules": [{"Name": "prefix", "Value": UPLOADS_PREFIX}]}}
    s3: Any = boto3.client("s3", region_name=kit.REGION)
    s3.put_bucket_notification_configuration(
        Bucket=kit.BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"], "Filter": prefix}]
        },
    )
    stored = post(landing, url_event(GZIP_BODY))
    assert post(landing, url_event(GZIP_BODY)).status == 200
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    keys = [key for message in messages for key in object_keys(message["Body"])]  # the test event: none
    assert keys == [stored.key]
