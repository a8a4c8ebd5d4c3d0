"""The page's SMTP TLS section, read through a query runner (DuckDB locally, Athena with --aws).

The numbers come from the saved queries mta_sts_readiness (a row per policy domain: its sessions,
reporters and readiness verdict), tls_daily_success (per domain and day) and tls_failures_by_type (per
domain, result type, receiving MX and reporter), with the page's ``days`` and ``domain`` parameters, and
from the report's own ``TLS_OVERVIEW_SQL``. A store without TLS tables reads as one without rows: the
local runner installs an empty view for a table with no Parquet yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from dmarc_report.cells import as_date as _date
from dmarc_report.cells import as_int as _int
from dmarc_report.cells import as_text as _text
from dmarc_report.cells import rows_of as _rows
from dmarc_report.sql import TLS_FIRST_DAY_SQL, TLS_OVERVIEW_SQL
from dmarc_report.tls_model import TlsDay, TlsDomain, TlsFailure, TlsSection
from dmarc_store.query import QueryRunner, run_saved_query

__all__ = ["load_tls", "tls_first_day"]


def load_tls(
    runner: QueryRunner, values: Mapping[str, int | str], *, first_day: date, last_day: date
) -> TlsSection | None:
    """The section over the window of ``values`` (``days``, ``domain``); None without TLS reports in it."""
    readiness = _rows(run_saved_query(runner, "mta_sts_readiness", values))
    if not readiness:
        return None
    days = _days(_rows(run_saved_query(runner, "tls_daily_success", values)))
    failures = _failures(_rows(run_saved_query(runner, "tls_failures_by_type", values)))
    overview = _rows(runner.run_sql(TLS_OVERVIEW_SQL, (values["days"], values["domain"])))
    domains = [_domain(row, days, failures) for row in readiness]
    return TlsSection(
        first_day=first_day,
        last_day=last_day,
        domains=tuple(sorted(domains, key=lambda domain: (-domain.sessions, domain.domain))),
        reports=_int(overview[0]["reports"]) if overview else 0,
        reporters=_int(overview[0]["reporters"]) if overview else 0,
    )


def tls_first_day(runner: QueryRunner) -> date | None:
    """The first day with a TLS report in the store, whatever the window; None when there is none."""
    rows = _rows(runner.run_sql(TLS_FIRST_DAY_SQL))
    first = rows[0]["first_dt"] if rows else None
    return None if first is None else _date(first)


def _days(rows: list[dict[str, Any]]) -> dict[str, list[TlsDay]]:
    """tls_daily_success: policy domain -> its days."""
    found: dict[str, list[TlsDay]] = {}
    for row in rows:
        day = TlsDay(_date(row["day"]), _int(row["successful_sessions"]), _int(row["failed_sessions"]))
        found.setdefault(_text(row["policy_domain"]), []).append(day)
    return found


def _failures(rows: list[dict[str, Any]]) -> dict[str, list[TlsFailure]]:
    """tls_failures_by_type (a row per reporter too): domain -> (result type, MX), most failed first."""
    grouped: dict[tuple[str, str, str], tuple[int, set[str]]] = {}
    for row in rows:
        key = (_text(row["policy_domain"]), _text(row["result_type"]), _text(row["receiving_mx_hostname"]))
        failed, reporters = grouped.get(key, (0, set()))
        grouped[key] = (failed + _int(row["failed_sessions"]), reporters | {_text(row["reporter"])})
    found: dict[str, list[TlsFailure]] = {}
    for (domain, result_type, mx), (failed, reporters) in grouped.items():
        failure = TlsFailure(result_type, mx, failed, tuple(sorted(name for name in reporters if name)))
        found.setdefault(domain, []).append(failure)
    for failures in found.values():
        failures.sort(key=lambda f: (-f.failed, f.result_type, f.receiving_mx))
    return found


def _domain(
    row: dict[str, Any], days: dict[str, list[TlsDay]], failures: dict[str, list[TlsFailure]]
) -> TlsDomain:
    """One domain from its mta_sts_readiness row, with its days and failures."""
    domain = _text(row["policy_domain"])
    return TlsDomain(
        domain=domain,
        readiness=_text(row["readiness"]),
        current_mode=_text(row["current_mode"]),
        unmet_gates=tuple(gate.strip() for gate in _text(row["unmet_gates"]).split(",") if gate.strip()),
        reporters=_int(row["reporters"]),
        sts_reporters=_int(row["sts_reporters"]),
        successful=_int(row["successful_sessions"]),
        failed=_int(row["failed_sessions"]),
        days=tuple(sorted(days.get(domain, ()), key=lambda day: day.day)),
        failures=tuple(failures.get(domain, ())),
    )
