-- name: alert_reporter_days
-- question: Per day, domain and reporter, how many reports arrived, up to when, and with which published policy (the facts of the silence, heartbeat and policy alerts)?
-- param days integer 30: how many days back from today (UTC) to look; the report's begin date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
--
-- One row per (dt, policy_domain, reporter, published policy); a reporter that saw two policies on one day
-- (a DNS change, caches) gives two rows. published_testing is the RFC 9989 t tag.
SELECT
  dt,
  lower(policy_domain) AS policy_domain,
  coalesce(org_name, 'unknown reporter') AS reporter,
  lower(published_p) AS published_p,
  lower(published_sp) AS published_sp,
  lower(published_np) AS published_np,
  lower(published_testing) AS published_testing,
  lower(published_adkim) AS published_adkim,
  lower(published_aspf) AS published_aspf,
  published_pct,
  count(*) AS reports,
  sum(message_total) AS messages,
  max(date_range_end) AS last_period_end
FROM report_details
WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
  AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
GROUP BY
  dt,
  lower(policy_domain),
  coalesce(org_name, 'unknown reporter'),
  lower(published_p),
  lower(published_sp),
  lower(published_np),
  lower(published_testing),
  lower(published_adkim),
  lower(published_aspf),
  published_pct
ORDER BY dt, policy_domain, reporter
