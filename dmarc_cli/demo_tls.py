"""The demo's SMTP TLS reports (RFC 8460): a fortnight of daily reports for the two demo domains, as
Google and Microsoft mail them (`multipart/report; report-type=tlsrpt`, a gzipped JSON attachment).

    example.com   MTA-STS testing, every session succeeds, two reporters: ready for `mode: enforce`
    example.org   MTA-STS testing, the certificate of mx2 expired two days ago: failures, an alert

Deterministic (no randomness): the same day gives the same reports, so a rerun adds nothing new.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

__all__ = ["write_tls_reports"]

REPORTERS = (
    ("Google Inc.", "smtp-tls-reporting@google.com", "google.com", 1200),
    ("Microsoft Corporation", None, "microsoft.com", 400),
)
"""(organization name, contact-info, the mail's sender domain, sessions on a usual day)."""
EXPIRED_DAYS = 2
"""How many of the latest days example.org's mx2 shows an expired certificate."""


def write_tls_reports(folder: Path, today: date, days: int = 14) -> list[Path]:
    """The demo's TLS report mails, one file each, written into `folder`."""
    paths = []
    for number, (name, mail) in enumerate(_mails(today, days)):
        path = folder / f"tlsrpt-{number:03d}-{name}.eml"
        path.write_bytes(mail)
        paths.append(path)
    return paths


def _mails(today: date, days: int) -> Iterator[tuple[str, bytes]]:
    for back in range(1, days + 1):
        day = today - timedelta(days=back)
        for domain in ("example.com", "example.org"):
            for reporter in REPORTERS:
                failures = _failures(domain, reporter[0], back)
                report = _report(day, domain, reporter, back, failures)
                yield f"{reporter[2]}-{domain}-{day}", _mail(report, reporter[2], domain)


def _failures(domain: str, organization: str, back: int) -> list[dict[str, Any]]:
    if domain != "example.org" or back > EXPIRED_DAYS:
        return []
    detail: dict[str, Any] = {
        "result-type": "certificate-expired",
        "receiving-mx-hostname": "mx2.example.org",
        "receiving-ip": "198.51.100.25",
        "failed-session-count": 180 if organization.startswith("Google") else 60,
    }
    if organization.startswith("Google"):
        detail["sending-mta-ip"] = "209.85.220.41"  # Microsoft leaves it out
    return [detail]


def _report(
    day: date,
    domain: str,
    reporter: tuple[str, str | None, str, int],
    back: int,
    failures: list[dict[str, Any]],
) -> dict[str, Any]:
    organization, contact, sender, usual = reporter
    start = datetime.combine(day, time(), tzinfo=UTC)
    failed = sum(detail["failed-session-count"] for detail in failures)
    policy = {
        "policy-type": "sts",
        "policy-string": ["version: STSv1", "mode: testing", f"mx: *.{domain}", "max_age: 604800"],
        "policy-domain": domain,
        "mx-host": [f"*.{domain}"],
    }
    entry: dict[str, Any] = {
        "policy": policy,
        "summary": {
            "total-successful-session-count": usual + 7 * back - failed,
            "total-failure-session-count": failed,
        },
    }
    if failures:
        entry["failure-details"] = failures
    return {
        "organization-name": organization,
        "date-range": {
            "start-datetime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end-datetime": (start + timedelta(days=1, seconds=-1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "contact-info": contact,
        "report-id": f"{day.isoformat()}T00:00:00Z_{domain}@{sender}",
        "policies": [entry],
    }


def _mail(report: dict[str, Any], sender: str, domain: str) -> bytes:
    start = report["date-range"]["start-datetime"]
    message = EmailMessage()
    message["From"] = f"noreply-smtp-tls-reporting@{sender}"
    message["To"] = "dmarc@reports.example.com"
    message["Subject"] = f"Report Domain: {domain} Submitter: {sender} Report-ID: <{report['report-id']}>"
    message["TLS-Report-Domain"] = domain
    message["TLS-Report-Submitter"] = sender
    message.set_content(f"This is an aggregate TLS report from {sender} for {domain}, {start[:10]}.\n")
    body = gzip.compress(json.dumps(report).encode(), mtime=0)
    name = f"{sender}!{domain}!{start[:10]}!001.json.gz"
    message.add_attachment(body, maintype="application", subtype="tlsrpt+gzip", filename=name)
    message.set_type("multipart/report")
    message.set_param("report-type", "tlsrpt")
    return message.as_bytes()
