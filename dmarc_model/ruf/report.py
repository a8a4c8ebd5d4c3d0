"""A failure report as it is stored: the structured fields, and keyed hashes of what is personal.

    FailureSample (dmarc_model.ruf.fields) + the deployment's key --failure_report--> FailureReport

The hashes are HMAC-SHA256 (hex) with a secret of the deployment (`DMARC_RUF_HASH_KEY`, a key file in
a local store, a Secrets Manager secret on AWS), so repeats of one recipient, sender or subject can be
counted without the values being stored or guessable from a list of candidates. `failure_key`, the
identity, hashes the structured fields, the arrival time, the source IP and the recipient's hash: a
redelivered report has the same key and is stored once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from dmarc_model.ruf.fields import FailureSample
from dmarc_model.timestamps import utc_naive

__all__ = ["FailureReport", "failure_report", "keyed_hash"]

_CLOCK_SKEW = timedelta(days=1)
_SPF_DNS_DOMAIN = re.compile(r"^\s*[A-Za-z]+\s*:\s*([A-Za-z0-9._-]+)")
_MAILFROM_DOMAIN = re.compile(r"smtp\.mailfrom=[^@\s;]*@?([A-Za-z0-9._-]+)")


@dataclass(frozen=True)
class FailureReport:
    """One row of the `failure_reports` table (dmarc_model.columns FAILURE_COLUMNS, in that order)."""

    failure_key: str
    feedback_type: str | None
    auth_failure: str | None
    identity_alignment: str | None
    reported_domain: str | None
    source_ip: str | None
    arrival_date: datetime
    delivery_result: str | None
    dkim_domain: str | None
    dkim_selector: str | None
    spf_domain: str | None
    authentication_results: str | None
    reporting_mta: str | None
    user_agent: str | None
    report_format: str
    """arf, or text (a non-ARF variant)."""
    other_fields: list[str]
    recipient_hmac: str | None
    from_hmac: str | None
    subject_hmac: str | None
    ingested_at: datetime

    @property
    def dt(self) -> str:
        """The partition: the UTC day it arrived at the reporter."""
        return self.arrival_date.date().isoformat()

    def row(self) -> dict[str, Any]:
        values = asdict(self)
        values["arrival_date"] = utc_naive(self.arrival_date)
        values["ingested_at"] = utc_naive(self.ingested_at)
        return values


def keyed_hash(key: bytes, value: str | None) -> str | None:
    """HMAC-SHA256 of the value (UTF-8) under the key, as hex; None for no value."""
    if value is None or value == "":
        return None
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def failure_report(sample: FailureSample, key: bytes, received_at: datetime) -> FailureReport:
    """The stored form of a sample: fields as read, the personal values hashed under `key`."""
    fields = sample.fields
    arrival = sample.arrival(received_at)
    if arrival > received_at + _CLOCK_SKEW:  # a reporter's clock ahead, or a forged date: when it came
        arrival = received_at
    source_ip = sample.source_ip()
    recipient = keyed_hash(key, sample.recipient)
    identity = {
        "fields": sorted(fields.items()),
        "other": list(sample.other_fields),
        "arrival": arrival.isoformat(),
        "source_ip": source_ip,
        "recipient": recipient,
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return FailureReport(
        failure_key=digest[:32],
        feedback_type=_lower(fields.get("feedback_type")),
        auth_failure=_lower(fields.get("auth_failure")),
        identity_alignment=_lower(fields.get("identity_alignment")),
        reported_domain=fields.get("reported_domain"),
        source_ip=source_ip,
        arrival_date=arrival,
        delivery_result=_lower(fields.get("delivery_result")),
        dkim_domain=_lower(fields.get("dkim_domain")),
        dkim_selector=fields.get("dkim_selector"),
        spf_domain=_spf_domain(fields),
        authentication_results=fields.get("authentication_results"),
        reporting_mta=fields.get("reporting_mta"),
        user_agent=fields.get("user_agent"),
        report_format="arf" if sample.arf else "text",
        other_fields=list(sample.other_fields),
        recipient_hmac=recipient,
        from_hmac=keyed_hash(key, sample.mail_from),
        subject_hmac=keyed_hash(key, sample.subject),
        ingested_at=received_at,
    )


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


def _spf_domain(fields: dict[str, str]) -> str | None:
    """The domain of SPF-DNS (`txt : example.com "v=spf1 ..."`), else Authentication-Results'
    smtp.mailfrom domain."""
    found = _SPF_DNS_DOMAIN.match(fields.get("spf_dns", "")) or _MAILFROM_DOMAIN.search(
        fields.get("authentication_results", "")
    )
    return found.group(1).lower().rstrip(".") if found else None
