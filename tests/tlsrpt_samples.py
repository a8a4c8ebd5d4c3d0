"""SMTP TLS reports (RFC 8460) for the tests: the RFC's own example, and reports built in the shapes real
reporters send (Google: daily, `no-policy-found`, every field; Microsoft: no `sending-mta-ip`,
`"contact-info": null`, `mx-host` as a list).

Each builder returns the JSON value (a dict), so a test can change one field; `encode` makes bytes of it.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from dmarc_model.tlsrpt import (
    TlsReport,
    TlsRows,
    prepare_tls_report,
    tls_content_sha256,
    tls_report_key,
    tls_rows,
)

Report = dict[str, Any]
INGESTED = datetime(2026, 1, 1, tzinfo=UTC)

RFC8460_EXAMPLE = """{
  "organization-name": "Company-X",
  "date-range": {
    "start-datetime": "2016-04-01T00:00:00Z",
    "end-datetime": "2016-04-01T23:59:59Z"
  },
  "contact-info": "sts-reporting@company-x.example",
  "report-id": "5065427c-23d3-47ca-b6e0-946ea0e8c4be",
  "policies": [{
    "policy": {
      "policy-type": "sts",
      "policy-string": ["version: STSv1","mode: testing",
            "mx: *.mail.company-y.example","max_age: 86400"],
      "policy-domain": "company-y.example",
      "mx-host": "*.mail.company-y.example"
    },
    "summary": {
      "total-successful-session-count": 5326,
      "total-failure-session-count": 303
    },
    "failure-details": [{
      "result-type": "certificate-expired",
      "sending-mta-ip": "2001:db8:abcd:0012::1",
      "receiving-mx-hostname": "mx1.mail.company-y.example",
      "failed-session-count": 100
    }, {
      "result-type": "starttls-not-supported",
      "sending-mta-ip": "2001:db8:abcd:0013::1",
      "receiving-mx-hostname": "mx2.mail.company-y.example",
      "receiving-ip": "203.0.113.56",
      "failed-session-count": 200,
      "additional-information": "https://reports.company-x.example/report_info?id=5065427c-23d3#StarttlsNotSupported"
    }, {
      "result-type": "validation-failure",
      "sending-mta-ip": "198.51.100.62",
      "receiving-ip": "203.0.113.58",
      "receiving-mx-hostname": "mx-backup.mail.company-y.example",
      "failed-session-count": 3,
      "failure-reason-code": "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"
    }]
  }]
}
"""
"""RFC 8460 section 4.8's example report, as printed there (`mx-host` a string, the IPv6 not canonical)."""


def encode(report: Report, *, gzipped: bool = False, indent: int | None = None) -> bytes:
    data = json.dumps(report, indent=indent).encode("utf-8")
    return gzip.compress(data) if gzipped else data


def _range(day: date) -> dict[str, str]:
    start = datetime.combine(day, time(), tzinfo=UTC)
    end = start + timedelta(days=1, seconds=-1)
    return {
        "start-datetime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end-datetime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def sts_policy(domain: str, mode: str, mx: str | None = None) -> dict[str, Any]:
    pattern = mx or f"mx.{domain}"
    return {
        "policy-type": "sts",
        "policy-string": ["version: STSv1", f"mode: {mode}", f"mx: {pattern}", "max_age: 604800"],
        "policy-domain": domain,
        "mx-host": [pattern],
    }


def entry(
    policy: dict[str, Any], successful: int, failures: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    failed = sum(detail["failed-session-count"] for detail in failures or [])
    body: dict[str, Any] = {
        "policy": policy,
        "summary": {"total-successful-session-count": successful, "total-failure-session-count": failed},
    }
    if failures:
        body["failure-details"] = failures
    return body


def failure(result_type: str, count: int, *, mx: str | None, ip: str | None = "192.0.2.10") -> dict[str, Any]:
    detail: dict[str, Any] = {"result-type": result_type, "failed-session-count": count}
    if ip is not None:
        detail["sending-mta-ip"] = ip
    if mx is not None:
        detail["receiving-mx-hostname"] = mx
        detail["receiving-ip"] = "198.51.100.25"
    return detail


def google_daily(day: date, domain: str, entries: list[dict[str, Any]]) -> Report:
    """Google's shape: one report per policy domain and day, contact-info given, every field present."""
    return {
        "organization-name": "Google Inc.",
        "date-range": _range(day),
        "contact-info": "smtp-tls-reporting@google.com",
        "report-id": f"{day.isoformat()}T00:00:00Z_{domain}",
        "policies": entries,
    }


def google_no_policy(day: date, domains: list[str], successful: int) -> Report:
    """Google's daily report for domains without MTA-STS or DANE: `no-policy-found`, one policy each."""
    policies = [
        entry({"policy-type": "no-policy-found", "policy-domain": name}, successful) for name in domains
    ]
    return google_daily(day, domains[0], policies)


def microsoft_daily(day: date, domain: str, entries: list[dict[str, Any]]) -> Report:
    """Microsoft's shape: `"contact-info": null`, no `sending-mta-ip` in the failure details."""
    for body in entries:
        for detail in body.get("failure-details", []):
            detail.pop("sending-mta-ip", None)
    return {
        "organization-name": "Microsoft Corporation",
        "date-range": _range(day),
        "contact-info": None,
        "report-id": f"133{day.strftime('%Y%m%d')}000000000+{domain}",
        "policies": entries,
    }


def other_reporter(
    day: date, domain: str, entries: list[dict[str, Any]], org: str = "Mail.Example"
) -> Report:
    return {
        "organization-name": org,
        "date-range": _range(day),
        "contact-info": "tlsrpt@mail.example",
        "report-id": f"{org}-{day.isoformat()}-{domain}",
        "policies": entries,
    }


# --- a store of TLS reports, for the queries ------------------------------------------------------------


def store_days(today: date) -> tuple[date, date]:
    """The two days of `store_reports`: three and two days before `today`."""
    return today - timedelta(days=3), today - timedelta(days=2)


def store_reports(today: date) -> list[Report]:
    """alpha: clean, two reporters; beta: failures; gamma: one reporter; delta: enforcing; epsilon: no
    policy; zeta: an unknown result type; and the RFC's example, from 2016 (outside a 30-day window)."""
    day1, day2 = store_days(today)
    beta_google = [failure("certificate-expired", 40, mx="mx1.beta.example"),
                   failure("starttls-not-supported", 10, mx="mx2.beta.example", ip="192.0.2.11")]  # fmt: skip
    beta_microsoft = [failure("certificate-expired", 5, mx="mx1.beta.example"),
                      failure("sts-policy-fetch-error", 7, mx=None)]  # fmt: skip
    zeta = [failure("tls-version-too-old", 3, mx="mx.zeta.example")]
    return [
        google_daily(day1, "alpha.example", [entry(sts_policy("alpha.example", "testing"), 1000)]),
        microsoft_daily(day1, "alpha.example", [entry(sts_policy("alpha.example", "testing"), 500)]),
        google_daily(day2, "alpha.example", [entry(sts_policy("alpha.example", "testing"), 1200)]),
        google_daily(day1, "beta.example", [entry(sts_policy("beta.example", "testing"), 900, beta_google)]),
        microsoft_daily(
            day1, "beta.example", [entry(sts_policy("beta.example", "testing"), 300, beta_microsoft)]
        ),
        google_daily(day2, "gamma.example", [entry(sts_policy("gamma.example", "testing"), 50)]),
        google_daily(day2, "delta.example", [entry(sts_policy("delta.example", "enforce"), 70)]),
        other_reporter(day2, "delta.example", [entry(sts_policy("delta.example", "enforce"), 30)]),
        google_no_policy(day1, ["epsilon.example"], 25),
        other_reporter(day2, "zeta.example", [entry(sts_policy("zeta.example", "testing"), 8, zeta)]),
        json.loads(RFC8460_EXAMPLE),
    ]


def rows_of(report: TlsReport, source_key: str = "uploads/tls.json") -> TlsRows:
    return tls_rows(
        report,
        report_key=tls_report_key(report),
        source_key=source_key,
        content_sha256=tls_content_sha256(report),
        ingested_at=INGESTED,
    )


def write_rows(root: Path, rows: TlsRows, name: str | None = None) -> None:
    """The rows as the stores lay them out: `<root>/parquet/<table>/dt=<day>/<name or key>.parquet`."""
    for table, values in rows.tables.items():
        folder = root / "parquet" / table / f"dt={rows.dt}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(values, folder / f"{name or rows.report_key}.parquet")


def write_store(root: Path, today: date) -> None:
    """`store_reports` into a store folder, beta's Google report twice (as while compaction merges a day)."""
    for number, value in enumerate(store_reports(today)):
        rows = prepare_tls_report(
            encode(value), source_key=f"uploads/tls-{number}.json", ingested_at=INGESTED
        )
        write_rows(root, rows)
        if number == 3:
            write_rows(root, rows, name="compacted")
