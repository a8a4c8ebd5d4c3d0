"""The digest's SQL: statements over the views, in Athena's dialect, so they run unchanged on DuckDB
and on Athena.

Unlike the saved queries (a window back from today), they take the period's bounds as parameters (``dt``
strings, yyyy-MM-dd: the day a report's period begins), so a digest built for another clock (a test's, a
replay's) reads exactly its two weeks.
"""

from __future__ import annotations

__all__ = [
    "REPORTS_SQL",
    "SENDERS_SQL",
    "TLS_FAILURES_SQL",
    "TLS_WEEKS_SQL",
    "TOP_SENDERS",
    "TOP_TLS_FAILURES",
    "WEEKS_SQL",
]

TOP_SENDERS = 5
"""Senders listed per domain."""
TOP_TLS_FAILURES = 3
"""TLS failure result types listed per domain."""

WEEKS_SQL = """
SELECT policy_domain, week, coalesce(sum(message_count), 0) AS messages, coalesce(sum(passed), 0) AS passed
FROM (
  SELECT
    lower(policy_domain) AS policy_domain,
    CASE WHEN dt >= CAST(? AS varchar) THEN 'this' ELSE 'before' END AS week,
    message_count,
    CASE WHEN dmarc_pass THEN message_count ELSE 0 END AS passed
  FROM record_details
  WHERE dt >= CAST(? AS varchar) AND dt < CAST(? AS varchar)
) AS chosen
GROUP BY policy_domain, week
"""
"""Messages and DMARC passes per domain, this week and the week before.
Parameters: this week's first day, the week before's first day, the day after this week."""

REPORTS_SQL = """
SELECT
  policy_domain,
  week,
  count(DISTINCT report_key) AS reports,
  count(DISTINCT reporter) AS reporters,
  array_join(array_sort(array_agg(DISTINCT reporter)), ', ') AS reporter_names
FROM (
  SELECT
    lower(policy_domain) AS policy_domain,
    CASE WHEN dt >= CAST(? AS varchar) THEN 'this' ELSE 'before' END AS week,
    report_key,
    coalesce(org_name, '(unnamed)') AS reporter
  FROM report_details
  WHERE dt >= CAST(? AS varchar) AND dt < CAST(? AS varchar)
) AS chosen
GROUP BY policy_domain, week
"""
"""Reports and reporters per domain (the heartbeat), with the same parameters as ``WEEKS_SQL``."""

SENDERS_SQL = """
SELECT
  lower(policy_domain) AS policy_domain,
  coalesce(sender, 'unclassified') AS sender,
  max(coalesce(sender_name, 'Not classified yet')) AS sender_name,
  max(coalesce(sender_category, 'unknown')) AS category,
  sum(message_count) AS messages,
  sum(CASE WHEN dmarc_pass THEN message_count ELSE 0 END) AS passed
FROM record_details
WHERE dt >= CAST(? AS varchar) AND dt < CAST(? AS varchar)
GROUP BY lower(policy_domain), coalesce(sender, 'unclassified')
ORDER BY policy_domain, messages DESC, sender
"""
"""This week's senders per domain (the senders saved query's names). Parameters: first day, day after."""

TLS_WEEKS_SQL = """
SELECT
  policy_domain,
  week,
  coalesce(sum(successful_session_count), 0) AS successful_sessions,
  coalesce(sum(failed_session_count), 0) AS failed_sessions,
  count(DISTINCT report_key) AS reports
FROM (
  SELECT
    lower(policy_domain) AS policy_domain,
    CASE WHEN dt >= CAST(? AS varchar) THEN 'this' ELSE 'before' END AS week,
    report_key,
    successful_session_count,
    failed_session_count
  FROM tls_policy_details
  WHERE dt >= CAST(? AS varchar) AND dt < CAST(? AS varchar)
) AS chosen
GROUP BY policy_domain, week
"""
"""SMTP TLS sessions per policy domain, this week and the week before (every policy type: a session
without a policy is still a session, as in tls_daily_success). Parameters as ``WEEKS_SQL``'s."""

TLS_FAILURES_SQL = """
SELECT lower(policy_domain) AS policy_domain, result_type, sum(failed_session_count) AS failed_sessions
FROM tls_failure_details
WHERE dt >= CAST(? AS varchar) AND dt < CAST(? AS varchar)
GROUP BY lower(policy_domain), result_type
ORDER BY policy_domain, failed_sessions DESC, result_type
"""
"""This week's failed TLS sessions per policy domain and result type. Parameters: first day, day after."""
