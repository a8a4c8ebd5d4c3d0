"""Failure reports (RUF) are kept private: only structured fields and keyed hashes are stored.

Each sample carries a distinctive recipient, subject and body; after ingest (a local store, and the
Lambda on moto) every byte of the store is searched for them, in clear and base64: none is found
outside `ruf-raw/`, the one short-lived copy of the raw mail.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from dmarc_cli.main import cli
from dmarc_model.errors import FailureReportFound
from dmarc_model.ruf import failure_report, keyed_hash
from dmarc_model.unpack import unpack
from dmarc_store.backends.local import RUF_KEY_NAME, LocalStore
from dmarc_store.ingest.service import IngestService
from dmarc_store.prune import prune_local

RECIPIENT = "zanzibar.recipient@victim.example"
SENDER = "Mallory Sender <mallory.sender@forger.example>"
SUBJECT = "Quixotic Marmalade Subject 4711"
BODY = "Perambulating wombats hold the secret body text 9931."
SECRETS = (RECIPIENT, "mallory.sender@forger.example", SUBJECT, BODY)
ARRIVAL = "Tue, 30 Apr 2024 02:09:00 +0000"


def _original(encoding: str = "7bit") -> str:
    body = BODY + "\r\n" + BODY.upper() + "\r\n"
    if encoding == "base64":
        body = base64.encodebytes(body.encode()).decode()
    elif encoding == "quoted-printable":
        body = body.replace("=", "=3D").replace(" ", "=20")
    return (
        f"From: {SENDER}\r\nTo: Zanzibar <{RECIPIENT}>\r\nSubject: {SUBJECT}\r\n"
        f"Date: {ARRIVAL}\r\nMessage-ID: <abc@forger.example>\r\n"
        "Authentication-Results: mx.google.com; dmarc=fail header.from=example.com;"
        " spf=fail smtp.mailfrom=mallory.sender@forger.example\r\n"
        f"Content-Type: text/plain\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n{body}"
    )


def arf_mail(encoding: str = "7bit", *, headers_only: bool = False) -> bytes:
    canonical = base64.b64encode(f"Subject: {SUBJECT}\r\nTo: {RECIPIENT}\r\n".encode()).decode()
    report = (
        "Feedback-Type: auth-failure\r\nUser-Agent: Lua/1.0\r\nVersion: 1.0\r\n"
        f"Original-Mail-From: <mallory.sender@forger.example>\r\nOriginal-Rcpt-To: <{RECIPIENT}>\r\n"
        f"Arrival-Date: {ARRIVAL}\r\nSource-IP: 192.0.2.7\r\nReported-Domain: Example.COM\r\n"
        "Auth-Failure: dmarc\r\nIdentity-Alignment: dkim, spf\r\nDelivery-Result: reject\r\n"
        "DKIM-Domain: example.com\r\nDKIM-Selector: s2024\r\n"
        'SPF-DNS: txt : forger.example "v=spf1 -all"\r\n'
        "Authentication-Results: mx.google.com; dmarc=fail header.from=example.com\r\n"
        f"DKIM-Canonicalized-Header: {canonical}\r\nX-Future-Field: {SUBJECT}\r\n"
    )
    original = _original(encoding)
    if headers_only:
        original_part = "Content-Type: text/rfc822-headers\r\n\r\n" + original.split("\r\n\r\n")[0] + "\r\n"
    else:
        original_part = "Content-Type: message/rfc822\r\n\r\n" + original
    return (
        "From: reporter@google.example\r\nTo: ruf@reports.example.com\r\n"
        "Subject: Report Domain: example.com Submitter: google.example\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type="feedback-report"; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nThis is an authentication failure report.\r\n"
        f"--b1\r\nContent-Type: message/feedback-report\r\n\r\n{report}\r\n"
        f"--b1\r\n{original_part}\r\n--b1--\r\n"
    ).encode()


def text_mail() -> bytes:
    """A non-ARF variant: a human text part with labels, the original message attached."""
    text = (
        "This is a DMARC failure report for example.com.\r\n\r\nSender Domain: example.com\r\n"
        f"Sender IP Address: 198.51.100.9\r\nReceived Date: {ARRIVAL}\r\nSPF Alignment: no\r\n"
    )
    return (
        "From: noreply@mail.example\r\nTo: ruf@reports.example.com\r\nSubject: DMARC Failure Report\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="t1"\r\n\r\n'
        f"--t1\r\nContent-Type: text/plain\r\n\r\n{text}\r\n"
        f"--t1\r\nContent-Type: message/rfc822\r\n\r\n{_original('quoted-printable')}\r\n--t1--\r\n"
    ).encode()


def forwarded(inner: bytes, *, encoded: bool = False) -> bytes:
    part = base64.encodebytes(inner).decode() if encoded else inner.decode()
    transfer = "Content-Transfer-Encoding: base64\r\n" if encoded else ""
    return (
        "From: admin@example.com\r\nTo: ruf@reports.example.com\r\nSubject: Fwd: report\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="f1"\r\n\r\n'
        "--f1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        f"--f1\r\nContent-Type: message/rfc822\r\n{transfer}\r\n{part}\r\n--f1--\r\n"
    ).encode()


SAMPLES: dict[str, Callable[[], bytes]] = {
    "arf": arf_mail,
    "arf-base64-body": lambda: arf_mail("base64"),
    "arf-quoted-printable-body": lambda: arf_mail("quoted-printable"),
    "arf-headers-only": lambda: arf_mail(headers_only=True),
    "text-variant": text_mail,
    "forwarded-arf": lambda: forwarded(arf_mail()),
    "forwarded-base64-arf": lambda: forwarded(arf_mail("base64"), encoded=True),
}


def _forms(text: str) -> list[bytes]:
    """The text, lower-cased, and in base64 at each of the three alignments (the stable middle)."""
    raw = text.encode()
    forms = [raw, raw.lower()]
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw)
        forms.append(encoded[4:-4])
    return forms


def _leaks(data: bytes) -> list[str]:
    return [secret for secret in SECRETS if any(form in data for form in _forms(secret))]


def _store_bytes(root: Path) -> Iterator[tuple[str, bytes]]:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            yield path.relative_to(root).as_posix(), path.read_bytes()


def _local_rows(root: Path) -> list[dict[str, Any]]:
    files = sorted((root / "parquet" / "failure_reports").rglob("*.parquet"))
    return [row for file in files for row in pq.read_table(file).to_pylist()]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_ruf_leaves_no_recipient_subject_or_body_in_the_local_store(name: str, tmp_path: Path) -> None:
    root = tmp_path / "store"
    source = tmp_path / "in" / f"{name}.eml"
    source.parent.mkdir()
    source.write_bytes(SAMPLES[name]())
    result = CliRunner().invoke(cli, ["ingest", "--store", str(root), "--json", str(source)])
    assert result.exit_code == 0, result.output
    assert _leaks(result.output.encode()) == []
    assert json.loads(result.output.splitlines()[-1])["failure_reports"] == 1
    found = {key: _leaks(data) for key, data in _store_bytes(root)}
    outside = {key: leaks for key, leaks in found.items() if leaks and not key.startswith("ruf-raw/")}
    assert outside == {}
    raw_copies = [key for key in found if key.startswith("ruf-raw/")]
    assert len(raw_copies) == 1
    assert found[raw_copies[0]], "the raw copy (with everything) sits under ruf-raw/ only"
    assert not any(key.startswith("quarantine/") for key in found)
    assert len(_local_rows(root)) == 1


def test_the_structured_fields_come_through_exactly_and_the_hashes_are_hmacs(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    IngestService(store).ingest("incoming/one", arf_mail())
    (row,) = _local_rows(tmp_path / "store")
    key = (tmp_path / "store" / RUF_KEY_NAME).read_bytes()
    assert oct((tmp_path / "store" / RUF_KEY_NAME).stat().st_mode & 0o777) == "0o600"
    expected = {
        "feedback_type": "auth-failure",
        "auth_failure": "dmarc",
        "identity_alignment": "dkim, spf",
        "reported_domain": "example.com",
        "source_ip": "192.0.2.7",
        "arrival_date": datetime(2024, 4, 30, 2, 9),
        "delivery_result": "reject",
        "dkim_domain": "example.com",
        "dkim_selector": "s2024",
        "spf_domain": "forger.example",
        "authentication_results": "mx.google.com; dmarc=fail header.from=example.com",
        "user_agent": "Lua/1.0",
        "report_format": "arf",
        "other_fields": ["DKIM-Canonicalized-Header", "X-Future-Field"],  # names only
        "recipient_hmac": hmac.new(key, RECIPIENT.encode(), hashlib.sha256).hexdigest(),
        "from_hmac": hmac.new(key, b"mallory.sender@forger.example", hashlib.sha256).hexdigest(),
        "subject_hmac": hmac.new(key, SUBJECT.encode(), hashlib.sha256).hexdigest(),
    }
    assert {name: row[name] for name in expected} == expected
    assert (tmp_path / "store" / "parquet" / "failure_reports" / "dt=2024-04-30").is_dir()


def test_the_text_variant_keeps_its_labelled_fields(tmp_path: Path) -> None:
    IngestService(LocalStore(tmp_path)).ingest("uploads/t.eml", text_mail())
    (row,) = _local_rows(tmp_path)
    assert (row["report_format"], row["reported_domain"], row["source_ip"]) == (
        "text",
        "example.com",
        "198.51.100.9",
    )
    assert row["arrival_date"] == datetime(2024, 4, 30, 2, 9)
    assert (
        row["spf_domain"] == "forger.example"
    )  # from the original's Authentication-Results, local part dropped
    assert row["subject_hmac"] is not None


def test_hashes_differ_across_keys_and_none_is_made_of_nothing() -> None:
    (found,) = [piece for piece in unpack(arf_mail()) if isinstance(piece, FailureReportFound)]
    now = datetime(2024, 5, 1, tzinfo=UTC)
    one, two = (failure_report(found.sample, key, now) for key in (b"key-one", b"key-two"))
    assert one.recipient_hmac != two.recipient_hmac
    assert one.subject_hmac != two.subject_hmac
    assert one.failure_key != two.failure_key
    assert keyed_hash(b"k", None) is None
    assert keyed_hash(b"k", "") is None
    assert SUBJECT not in repr(found.sample)
    assert RECIPIENT not in str(found)


def test_a_redelivered_ruf_is_stored_once_and_counted_as_a_duplicate(tmp_path: Path) -> None:
    service = IngestService(LocalStore(tmp_path))
    first = service.ingest("incoming/a", arf_mail())
    again = service.ingest("incoming/a", arf_mail())
    elsewhere = service.ingest("incoming/b", arf_mail())  # SES stores a resend under a new message id
    assert [first.failures[0].outcome, again.failures[0].outcome, elsewhere.failures[0].outcome] == [
        "new",
        "duplicate",
        "duplicate",
    ]
    assert len(_local_rows(tmp_path)) == 1


def test_the_key_setting_is_used_when_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dmarc_store.connect import local_store
    from dmarc_store.settings import Settings

    monkeypatch.setenv("DMARC_RUF_HASH_KEY", "deployment-secret")
    store = local_store(Settings(), tmp_path)
    IngestService(store).ingest("incoming/a", arf_mail())
    (row,) = _local_rows(tmp_path)
    assert row["recipient_hmac"] == hmac.new(b"deployment-secret", RECIPIENT.encode(), "sha256").hexdigest()
    assert not (tmp_path / RUF_KEY_NAME).exists()


def test_prune_deletes_the_raw_copy_after_its_days_whatever_the_retention(tmp_path: Path) -> None:
    service = IngestService(LocalStore(tmp_path))
    service.ingest("incoming/old", arf_mail())
    service.ingest("incoming/new", arf_mail("base64"))
    old = tmp_path / "ruf-raw" / "incoming" / "old"
    eight_days_ago = time.time() - 8 * 86400
    os.utime(old, (eight_days_ago, eight_days_ago))
    dry = prune_local(tmp_path, 0, date.today(), dry_run=True, ruf_raw_days=7)
    assert dry.ruf_raw_files == 1
    assert old.exists()
    result = prune_local(tmp_path, 0, date.today(), ruf_raw_days=7)
    assert result.ruf_raw_files == 1
    assert not old.exists()
    assert (tmp_path / "ruf-raw" / "incoming" / "new").exists()
    assert len(_local_rows(tmp_path)) == 1  # one report (the body is not its identity), kept as data


def test_other_refused_mail_keeps_todays_quarantine(tmp_path: Path) -> None:
    mail = b"From: a@b.example\r\nSubject: hello\r\n\r\njust text\r\n"
    result = IngestService(LocalStore(tmp_path)).ingest("incoming/plain", mail)
    assert [piece.reason for piece in result.quarantined] == ["not-a-report"]
    assert (tmp_path / "quarantine" / "not-a-report" / "incoming" / "plain").read_bytes() == mail
    assert not (tmp_path / "ruf-raw").exists()


# --- on AWS (moto) ---------------------------------------------------------------------------------


def _versioned_event(key: str, version: str) -> dict[str, Any]:
    from tests import aws_support as aws_kit

    event = aws_kit.sqs_event(key)
    body = json.loads(event["Records"][0]["body"])
    body["Records"][0]["s3"]["object"]["versionId"] = version
    event["Records"][0]["body"] = json.dumps(body)
    return event


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("name", ["arf", "text-variant", "forwarded-base64-arf"])
def test_a_ruf_leaves_nothing_personal_on_s3_dynamodb_or_in_the_logs(
    name: str,
    lambda_context: object,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from dmarc_store.settings import get_settings
    from handlers import ingest
    from tests import aws_support as aws_kit

    s3 = boto3.client("s3", region_name=aws_kit.REGION)
    s3.put_bucket_versioning(Bucket=aws_kit.BUCKET, VersioningConfiguration={"Status": "Enabled"})
    secrets = boto3.client("secretsmanager", region_name=aws_kit.REGION)
    secret = secrets.create_secret(Name="dmarc-ruf-hash-key", SecretString="moto-deployment-key")
    monkeypatch.setenv("DMARC_RUF_HASH_KEY_SECRET", secret["ARN"])
    monkeypatch.delenv("DMARC_RUF_HASH_KEY")
    get_settings.cache_clear()
    ingest.service.cache_clear()
    version = s3.put_object(Bucket=aws_kit.BUCKET, Key="incoming/msg-1", Body=SAMPLES[name]())["VersionId"]
    try:
        response = ingest.handler(_versioned_event("incoming/msg-1", version), lambda_context)  # type: ignore[arg-type]
    finally:
        ingest.service.cache_clear()
    assert response == {"batchItemFailures": []}
    logs = capsys.readouterr()
    logged = [repr(record.__dict__) for record in caplog.records]
    assert _leaks((logs.out + logs.err + "".join(logged)).encode()) == []
    assert any("failure_reports" in record.__dict__ for record in caplog.records)
    versions = s3.list_object_versions(Bucket=aws_kit.BUCKET)
    assert not list(versions.get("DeleteMarkers", [])), "the version was deleted for good"
    kept = [(item["Key"], item["VersionId"]) for item in versions.get("Versions", [])]
    assert not [key for key, _ in kept if key.startswith(("incoming/", "uploads/", "quarantine/"))]
    for key, version_id in kept:
        data = s3.get_object(Bucket=aws_kit.BUCKET, Key=key, VersionId=version_id)["Body"].read()
        assert bool(_leaks(data)) == key.startswith("ruf-raw/"), key
    raw_copies = [key for key, _ in kept if key.startswith("ruf-raw/")]
    assert raw_copies == [f"ruf-raw/incoming/msg-1?versionId={version}"]  # named like a quarantine copy
    assert _leaks(repr(list(aws_kit.scan_all())).encode()) == []
    (parquet,) = [key for key, _ in kept if key.startswith("parquet/failure_reports/")]
    stored = s3.get_object(Bucket=aws_kit.BUCKET, Key=parquet)["Body"].read()
    row = pq.read_table(io.BytesIO(stored)).to_pylist()[0]
    recipient = hmac.new(b"moto-deployment-key", RECIPIENT.encode(), hashlib.sha256).hexdigest()
    assert row["recipient_hmac"] == recipient


# --- linked to the aggregate data ------------------------------------------------------------------

AGGREGATE = b"""<?xml version="1.0"?>
<feedback><report_metadata><org_name>google.com</org_name><email>noreply@google.example</email>
<report_id>ruf-link-1</report_id><date_range><begin>1714435200</begin><end>1714521599</end></date_range>
</report_metadata><policy_published><domain>example.com</domain><p>none</p></policy_published>
<record><row><source_ip>192.0.2.7</source_ip><count>3</count><policy_evaluated><disposition>none</disposition>
<dkim>fail</dkim><spf>fail</spf></policy_evaluated></row><identifiers><header_from>example.com</header_from>
</identifiers><auth_results><spf><domain>forger.example</domain><result>fail</result></spf></auth_results></record>
<record><row><source_ip>203.0.113.5</source_ip><count>2</count><policy_evaluated><disposition>none</disposition>
<dkim>pass</dkim><spf>pass</spf></policy_evaluated></row><identifiers><header_from>example.com</header_from>
</identifiers><auth_results><dkim><domain>example.com</domain><result>pass</result></dkim></auth_results></record>
</feedback>"""


def test_failure_samples_link_to_the_sender_of_their_ip_domain_and_day(tmp_path: Path) -> None:
    from athena_queries import saved_query
    from dmarc_store.query import DuckDBQueryRunner

    service = IngestService(LocalStore(tmp_path))
    assert service.ingest("uploads/aggregate.xml", AGGREGATE).new == 1
    service.ingest("incoming/ruf-1", arf_mail())
    service.ingest("incoming/ruf-2", text_mail())  # 198.51.100.9: no aggregate record has it
    runner = DuckDBQueryRunner(tmp_path)
    try:
        samples = runner.run_sql(
            "SELECT source_ip, sender, dt FROM failure_samples ORDER BY source_ip"
        ).to_pylist()
        sender_of_ip = runner.run_sql(
            "SELECT DISTINCT coalesce(sender, 'unclassified') AS sender FROM record_details"
            " WHERE source_ip = '192.0.2.7'"
        ).to_pylist()[0]["sender"]
        senders = saved_query("senders")
        rows = runner.run_sql(senders.sql, senders.bind({"days": 100_000})).to_pylist()
    finally:
        runner.close()
    assert samples == [
        {"source_ip": "192.0.2.7", "sender": sender_of_ip, "dt": "2024-04-30"},
        {"source_ip": "198.51.100.9", "sender": "unmatched", "dt": "2024-04-30"},
    ]
    by_sender = {row["sender"]: row["recent_failure_samples"] for row in rows}
    assert by_sender[sender_of_ip] == 1
    assert sum(by_sender.values()) == 1


def test_a_bare_feedback_report_is_read_and_a_mail_that_only_says_failure_is_not_a_ruf() -> None:
    bare = (
        b"From: a@b.example\r\nContent-Type: message/feedback-report\r\n\r\n"
        b"Feedback-Type: auth-failure\r\nOriginal-Rcpt-To: "
        + RECIPIENT.encode()
        + b"\r\nSource-IP: 192.0.2.1\r\n"
    )
    (found,) = list(unpack(bare))
    assert isinstance(found, FailureReportFound)
    assert found.sample.recipient == RECIPIENT
    assert found.sample.fields == {"feedback_type": "auth-failure", "source_ip": "192.0.2.1"}
    chatty = (
        b"From: a@b.example\r\nSubject: delivery failure\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\n'
        b"Your mail failed.\r\n--x\r\nContent-Type: message/rfc822\r\n\r\n"
        b"Subject: hi\r\n\r\nbody\r\n--x--\r\n"
    )
    assert [piece.reason for piece in unpack(chatty) if not isinstance(piece, FailureReportFound)] == [
        "not-a-report"
    ]
