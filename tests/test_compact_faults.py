"""Compaction under faults: one day's failure stops no other day, the run says which days were skipped
and why (Python API, Lambda and CLI), and both Objects backends answer as compaction expects: a gone
key is ObjectMissing, a key is deleted only while it is the version read, S3's errors are the project's."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ResponseStreamingError
from click.testing import CliRunner

from dmarc_store.backends.objects import LocalObjects, Objects, S3Objects, StoredObject
from dmarc_store.compact import compact_closed_days
from dmarc_store.errors import ObjectMissing, PermanentStoreError, TransientStoreError
from dmarc_store.layout import parquet_bytes, parquet_key, partition_prefix
from tests.compact_support import MemoryObjects, Template, as_report, template

TODAY = date(2025, 1, 10)
FIRST, SECOND = date(2025, 1, 8), date(2025, 1, 7)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return template(str(tmp_path_factory.mktemp("template")))


def _day_files(base: Template, day: date, reports: int = 2) -> dict[str, bytes]:
    files = {}
    for index in range(reports):
        name = f"{day.isoformat()}-r{index}"
        files[parquet_key("records", day.isoformat(), name)] = parquet_bytes(as_report(base.records, name))
        files[parquet_key("reports", day.isoformat(), name)] = parquet_bytes(as_report(base.reports, name))
    return files


class FailingOn(MemoryObjects):
    """Reads of one day's files fail with `error`."""

    def __init__(self, files: Mapping[str, bytes], day: date, error: Exception) -> None:
        super().__init__(files)
        self.day, self.error = day, error

    def read(self, key: str) -> StoredObject:
        if f"dt={self.day.isoformat()}/" in key:
            raise self.error
        return super().read(key)


@pytest.mark.parametrize(
    "error",
    [
        TransientStoreError("AWS s3.get_object: SlowDown"),
        PermanentStoreError("AccessDenied"),
        RuntimeError("bug"),
    ],
    ids=["transient", "permanent", "unexpected"],
)
def test_one_days_failure_does_not_stop_the_other_days(base: Template, error: Exception) -> None:
    objects = FailingOn({**_day_files(base, FIRST), **_day_files(base, SECOND)}, FIRST, error)
    run = compact_closed_days(objects, TODAY, after_days=2, lookback_days=2)
    assert {(c.table, c.dt, c.merged) for c in run.compacted} == {
        ("records", "2025-01-07", 2),
        ("reports", "2025-01-07", 2),
    }
    assert {(s.table, s.dt, s.reason) for s in run.skipped} == {
        ("records", "2025-01-08", "failed"),
        ("reports", "2025-01-08", "failed"),
    }
    assert run.failed == run.skipped
    assert all(type(error).__name__ in skip.detail for skip in run.skipped)
    assert len(objects.list(partition_prefix("records", "2025-01-08"))) == 2, "the failed day is as it was"


def test_the_run_as_a_dict_names_compacted_and_skipped_days(base: Template) -> None:
    objects = FailingOn({**_day_files(base, FIRST), **_day_files(base, SECOND)}, FIRST, ObjectMissing("x"))
    result = compact_closed_days(objects, TODAY, after_days=2, lookback_days=2).as_dict()
    assert sorted(result) == ["compacted", "skipped"]
    assert {skip["reason"] for skip in result["skipped"]} == {"taken"}
    assert sorted(result["compacted"][0]) == ["dt", "key", "merged", "rows", "set_aside", "table"]
    json.dumps(result)


# --- both backends answer alike -------------------------------------------------------------------------


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Objects]:
    if request.param == "local":
        yield LocalObjects(tmp_path / "store")
        return
    import boto3

    from tests import aws_support as kit

    request.getfixturevalue("aws")
    yield S3Objects(boto3.client("s3", region_name=kit.REGION), kit.BUCKET)


def test_a_key_that_is_gone_is_object_missing_on_both_backends(backend: Objects) -> None:
    backend.put("parquet/records/dt=2025-01-01/a.parquet", b"one")
    backend.delete(["parquet/records/dt=2025-01-01/a.parquet"])
    with pytest.raises(ObjectMissing) as missing:
        backend.read("parquet/records/dt=2025-01-01/a.parquet")
    assert missing.value.key == "parquet/records/dt=2025-01-01/a.parquet"
    assert isinstance(missing.value, PermanentStoreError)
    with pytest.raises(ObjectMissing):
        backend.get("parquet/records/dt=2025-01-01/never.parquet")


def test_both_backends_delete_the_version_read_and_a_key_already_gone_is_no_error(backend: Objects) -> None:
    backend.put("k/one", b"one")
    read = backend.read("k/one")
    assert read.data == b"one"
    assert backend.delete_unchanged({"k/one": read.version, "k/never": read.version}) == []
    assert backend.list("k/") == []


def test_a_local_file_written_again_since_it_was_read_is_kept(tmp_path: Path) -> None:
    objects = LocalObjects(tmp_path)
    objects.put("k/one", b"one")
    read = objects.read("k/one")
    objects.put("k/one", b"two, written by another worker")
    assert objects.delete_unchanged({"k/one": read.version}) == ["k/one"]
    assert objects.get("k/one") == b"two, written by another worker"


@pytest.mark.usefixtures("aws")
def test_s3_deletes_conditionally_on_the_etag_read() -> None:
    """moto accepts but ignores the ETag of DeleteObjects; S3 honours it. Hold the request to it."""
    import boto3

    from tests import aws_support as kit

    client = boto3.client("s3", region_name=kit.REGION)
    sent: list[Any] = []
    client.meta.events.register(
        "provide-client-params.s3.DeleteObjects", lambda params, **_: sent.append(params)
    )
    objects = S3Objects(client, kit.BUCKET)
    objects.put("k/one", b"one")
    read = objects.read("k/one")
    objects.delete_unchanged({"k/one": read.version})
    assert sent[0]["Delete"]["Objects"] == [{"Key": "k/one", "ETag": read.version}]
    assert read.version.strip('"')


class _FakeS3:
    """Just enough of a boto3 S3 client to answer what moto cannot: per-key delete errors, broken bodies."""

    def __init__(self, errors: list[dict[str, str]] | None = None) -> None:
        self.errors = errors or []

    def delete_objects(self, **_: Any) -> dict[str, Any]:
        return {"Errors": self.errors}

    def get_object(self, **_: Any) -> dict[str, Any]:
        class Broken(io.BytesIO):
            def read(self, *_: Any) -> bytes:
                raise ResponseStreamingError(error="connection reset")

        return {"Body": Broken(), "ETag": '"x"'}


def test_s3_keys_that_changed_since_read_are_kept_and_other_delete_errors_raise() -> None:
    changed = [
        {"Key": "k/one", "Code": "PreconditionFailed", "Message": "At least one of the pre-conditions"}
    ]
    assert S3Objects(_FakeS3(changed), "bucket").delete_unchanged({"k/one": '"x"'}) == ["k/one"]  # type: ignore[arg-type]
    gone = [{"Key": "k/one", "Code": "NoSuchKey", "Message": ""}]
    assert S3Objects(_FakeS3(gone), "bucket").delete_unchanged({"k/one": '"x"'}) == []  # type: ignore[arg-type]
    slow = S3Objects(_FakeS3([{"Key": "k/one", "Code": "SlowDown", "Message": "reduce"}]), "bucket")  # type: ignore[arg-type]
    with pytest.raises(TransientStoreError):
        slow.delete(["k/one"])
    denied = S3Objects(_FakeS3([{"Key": "k/one", "Code": "AccessDenied", "Message": "no"}]), "bucket")  # type: ignore[arg-type]
    with pytest.raises(PermanentStoreError, match="AccessDenied"):
        denied.delete_unchanged({"k/one": '"x"'})


def test_an_s3_body_that_breaks_midway_is_a_transient_store_error() -> None:
    with pytest.raises(TransientStoreError):
        S3Objects(_FakeS3(), "bucket").read("k/one")  # type: ignore[arg-type]


# --- the Lambda and the CLI -----------------------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_the_compact_lambda_reports_skipped_days_and_goes_on(
    base: Template, lambda_context: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers import compact

    today = datetime.now(UTC).date()
    broken_day, good_day = today - timedelta(days=3), today - timedelta(days=4)
    real = compact.s3_objects

    def failing_objects(settings: Any) -> Objects:
        s3 = real(settings)
        for key, data in {**_day_files(base, broken_day), **_day_files(base, good_day)}.items():
            s3.put(key, data)
        return _ReadFails(s3, broken_day)

    monkeypatch.setattr(compact, "s3_objects", failing_objects)
    response = compact.handler({}, lambda_context)  # type: ignore[arg-type]
    assert {(c["table"], c["dt"]) for c in response["compacted"]} == {
        ("records", good_day.isoformat()),
        ("reports", good_day.isoformat()),
    }
    assert {(s["table"], s["dt"], s["reason"]) for s in response["skipped"]} == {
        ("records", broken_day.isoformat(), "failed"),
        ("reports", broken_day.isoformat(), "failed"),
    }
    assert "pruned" in response


class _ReadFails(Objects):
    """An Objects whose reads of one day fail transiently (a throttled partition)."""

    def __init__(self, inner: Objects, day: date) -> None:
        self.inner, self.day = inner, day

    def list(self, prefix: str) -> list[str]:
        return self.inner.list(prefix)

    def read(self, key: str) -> StoredObject:
        if f"dt={self.day.isoformat()}/" in key:
            raise TransientStoreError("AWS s3.get_object: SlowDown: Please reduce your request rate.")
        return self.inner.read(key)

    def put(self, key: str, data: bytes) -> None:
        self.inner.put(key, data)

    def delete(self, keys: list[str]) -> None:
        self.inner.delete(keys)

    def delete_unchanged(self, versions: Mapping[str, str]) -> list[str]:
        return self.inner.delete_unchanged(versions)


def test_dmarc_compact_names_a_failed_day_on_stderr_does_the_others_and_exits_1(
    base: Template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dmarc_cli.compact_cmd
    from dmarc_cli.main import cli

    store = tmp_path / "store"
    today = datetime.now(UTC).date()
    broken_day, good_day = today - timedelta(days=3), today - timedelta(days=4)
    for key, data in {**_day_files(base, broken_day), **_day_files(base, good_day)}.items():
        LocalObjects(store).put(key, data)
    monkeypatch.setattr(
        dmarc_cli.compact_cmd, "LocalObjects", lambda root: _ReadFails(LocalObjects(root), broken_day)
    )
    result = CliRunner().invoke(cli, ["compact", "--store", str(store)], catch_exceptions=False)
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert {(line["table"], line["dt"]) for line in lines} == {
        ("records", good_day.isoformat()),
        ("reports", good_day.isoformat()),
    }
    assert f"records {broken_day.isoformat()} failed: TransientStoreError" in result.stderr


def test_dmarc_compact_exits_0_when_another_compaction_has_a_day(
    base: Template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dmarc_cli.compact_cmd
    from dmarc_cli.main import cli

    store = tmp_path / "store"
    day = datetime.now(UTC).date() - timedelta(days=3)
    for key, data in _day_files(base, day).items():
        LocalObjects(store).put(key, data)

    class Taken(_ReadFails):
        def read(self, key: str) -> StoredObject:
            raise ObjectMissing(key)

    monkeypatch.setattr(dmarc_cli.compact_cmd, "LocalObjects", lambda root: Taken(LocalObjects(root), day))
    result = CliRunner().invoke(cli, ["compact", "--store", str(store)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "skipped (another compaction has it)" in result.stderr
