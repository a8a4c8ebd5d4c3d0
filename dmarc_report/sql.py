"""The report's own SQL: the statements that fill the gaps between the saved queries.

They read the views (``record_details``, ``report_details``, ``tls_policy_details``) in Athena's
dialect, so they run unchanged on DuckDB and on Athena; the window and the domain go in as parameters
(``days``, a LIKE pattern).
"""

from __future__ import annotations

__all__ = [
    "INVENTORY_SQL",
    "OVERVIEW_SQL",
    "SOURCE_RESULTS_SQL",
    "TLS_FIRST_DAY_SQL",
    "TLS_OVERVIEW_SQL",
    "TOP_FAILING",
    "TOP_REPORTERS",
    "TOP_SOURCES",
]

TOP_SOURCES = 15
TOP_FAILING = 15
TOP_REPORTERS = 15

_WINDOW = """
WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
  AND lower(policy_domain) LIKE lower(CAST(? AS varchar))"""

INVENTORY_SQL = """
SELECT policy_domain, count(*) AS reports, min(dt) AS first_dt, max(dt) AS last_dt
FROM report_details
GROUP BY policy_domain
ORDER BY reports DESC, policy_domain
"""
"""Every policy domain in the store, whatever the window: for the empty page and for --days all."""

OVERVIEW_SQL = (
    """
SELECT
  count(DISTINCT report_key) AS reports,
  count(DISTINCT source_ip) AS sources,
  count(DISTINCT org_name) AS reporters,
  coalesce(sum(message_count), 0) AS messages,
  coalesce(sum(CASE WHEN dmarc_pass THEN message_count ELSE 0 END), 0) AS passed
FROM record_details"""
    + _WINDOW
)
"""The headline numbers of the window."""

SOURCE_RESULTS_SQL = f"""
WITH recent AS (
  SELECT policy_domain, source_ip, failure_category, message_count, envelope_from
  FROM record_details{_WINDOW.replace(chr(10), chr(10) + "  ")}
),
top_sources AS (
  SELECT
    policy_domain,
    source_ip,
    sum(message_count) AS source_messages,
    array_join(array_sort(array_agg(DISTINCT lower(envelope_from))), ', ') AS envelope_from_domains
  FROM recent
  GROUP BY policy_domain, source_ip
  ORDER BY source_messages DESC, policy_domain, source_ip
  LIMIT {TOP_SOURCES}
)
SELECT
  t.policy_domain,
  t.source_ip,
  t.source_messages,
  t.envelope_from_domains,
  r.failure_category,
  sum(r.message_count) AS messages
FROM top_sources AS t
JOIN recent AS r ON r.policy_domain = t.policy_domain AND r.source_ip = t.source_ip
GROUP BY t.policy_domain, t.source_ip, t.source_messages, t.envelope_from_domains, r.failure_category
ORDER BY t.source_messages DESC, t.policy_domain, t.source_ip, r.failure_category
"""  # noqa: S608 - constants only; values go in as parameters
"""The biggest sources, their volume split by DMARC result (failure_category)."""

TLS_FIRST_DAY_SQL = """
SELECT min(dt) AS first_dt
FROM tls_policy_details
"""
"""The first day with an SMTP TLS report, whatever the window: for --days all."""

TLS_OVERVIEW_SQL = (
    """
SELECT count(DISTINCT report_key) AS reports, count(DISTINCT org_name) AS reporters
FROM tls_policy_details"""
    + _WINDOW
)
"""The SMTP TLS reports of the window and the organisations that sent them, over every domain."""
