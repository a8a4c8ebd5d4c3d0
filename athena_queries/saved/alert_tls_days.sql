-- name: alert_tls_days
-- question: Per day and policy domain, how many SMTP TLS sessions senders opened and how many failed, by result type and receiving MX (the facts of the TLS failure alert)?
-- param days integer 30: how many days back from today (UTC) to look; the report's start date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
--
-- One row per (dt, policy_domain, result_type, receiving_mx_hostname) of the SMTP TLS reports' failure
-- details; a day with sessions and no failure detail gives one row with result_type null. The day's totals
-- (successful_sessions, failed_sessions: the reports' summaries, over every policy type) repeat on each
-- row of the day; detail_failed_sessions is the failure details' own count (reporters need not itemise
-- every failure). enforced_failed_sessions: failed under a policy senders enforce (MTA-STS mode enforce,
-- or DANE), where they hold the mail back rather than deliver it. No TLS report: no row.
WITH recent AS (
  SELECT
    dt, report_key, policy_index, org_name, lower(policy_domain) AS policy_domain, policy_type, sts_mode,
    successful_session_count, failed_session_count
  FROM tls_policy_details
  WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
    AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
),
per_day AS (
  SELECT
    dt,
    policy_domain,
    sum(successful_session_count) AS successful_sessions,
    sum(failed_session_count) AS failed_sessions,
    sum(
      CASE
        WHEN policy_type = 'tlsa' OR (policy_type = 'sts' AND lower(sts_mode) = 'enforce')
          THEN failed_session_count
        ELSE 0
      END
    ) AS enforced_failed_sessions,
    array_join(array_sort(array_agg(DISTINCT coalesce(org_name, 'unknown reporter'))), ',') AS reporters
  FROM recent
  GROUP BY dt, policy_domain
),
failures AS (
  SELECT
    r.dt,
    r.policy_domain,
    f.result_type,
    f.receiving_mx_hostname,
    sum(f.failed_session_count) AS failed_sessions
  FROM recent AS r
  JOIN tls_failure_details AS f
    ON f.dt = r.dt AND f.report_key = r.report_key AND f.policy_index = r.policy_index
  GROUP BY r.dt, r.policy_domain, f.result_type, f.receiving_mx_hostname
)
SELECT
  d.dt,
  d.policy_domain,
  d.successful_sessions,
  d.failed_sessions,
  d.enforced_failed_sessions,
  d.reporters,
  f.result_type,
  f.receiving_mx_hostname,
  coalesce(f.failed_sessions, 0) AS detail_failed_sessions
FROM per_day AS d
LEFT JOIN failures AS f ON f.dt = d.dt AND f.policy_domain = d.policy_domain
ORDER BY d.dt, d.policy_domain, f.result_type, f.receiving_mx_hostname
