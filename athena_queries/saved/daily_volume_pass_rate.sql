-- name: daily_volume_pass_rate
-- question: How much mail is sent as each of my domains per day, and how much of it passes DMARC?
-- param days integer 30: how many days back from today (UTC) to look; the report's begin date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
SELECT
  day,
  policy_domain,
  messages,
  dmarc_pass_messages,
  pass_rate,
  dkim_aligned_messages,
  spf_aligned_messages,
  disposition_quarantine,
  disposition_reject,
  sources,
  reporters
FROM daily_domain_summary
WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
  AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
ORDER BY policy_domain, day
