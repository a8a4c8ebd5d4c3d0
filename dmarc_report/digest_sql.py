"""The digest's SQL: three statements over the views, in Athena's dialect, so they run unchanged on DuckDB
and on Athena.

Unlike the saved queries (a window back from today), they take the period's bounds as parameters (``dt``
strings, yyyy-MM-dd: the day a report's period begins), so a digest built for another clock (a test's, a
replay's) reads exactly its two weeks.
"""

from __future__ import annotations

__all__ = ["REPORTS_SQL", "SENDERS_SQL", "TOP_SENDERS", "WEEKS_SQL"]

TOP_SENDERS = 5
"""Senders listed per domain."""

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
