-- name: tls_daily_success
-- question: What share of the TLS sessions senders open to each of my domains succeeds, day by day?
-- param days integer 30: how many days back from today (UTC) to look; the report's start date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
--
-- One row per policy domain and day (the UTC date of the reports' start), over every policy of the SMTP TLS
-- reports (sts, tlsa and no-policy-found alike: a session without a policy is still a session).
-- success_rate: successful sessions / all sessions, null on a day with none.
SELECT
  dt AS day,
  policy_domain,
  sum(successful_session_count) AS successful_sessions,
  sum(failed_session_count) AS failed_sessions,
  sum(total_session_count) AS total_sessions,
  round(CAST(sum(successful_session_count) AS double) / nullif(sum(total_session_count), 0), 4) AS success_rate,
  count(DISTINCT org_name) AS reporters,
  count(DISTINCT report_key) AS reports,
  array_join(array_sort(array_agg(DISTINCT policy_type)), ', ') AS policy_types
FROM tls_policy_details
WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
  AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
GROUP BY dt, policy_domain
ORDER BY policy_domain, day
