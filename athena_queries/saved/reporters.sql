-- name: reporters
-- question: Which receivers send me reports, how many reports each, covering how much mail?
-- param days integer 30: how many days back from today (UTC) to look; the report's begin date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
SELECT
  org_name AS reporter,
  policy_domain,
  count(*) AS reports,
  sum(message_total) AS messages,
  sum(record_count) AS records,
  round(CAST(sum(dmarc_pass) AS double) / nullif(sum(message_total), 0), 4) AS pass_rate,
  min(date_range_begin) AS first_period_begin,
  max(date_range_end) AS last_period_end,
  array_join(array_sort(array_agg(DISTINCT email)), ', ') AS report_emails
FROM report_details
WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
  AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
GROUP BY org_name, policy_domain
ORDER BY reports DESC, reporter, policy_domain
