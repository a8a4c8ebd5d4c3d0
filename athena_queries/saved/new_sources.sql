-- name: new_sources
-- question: Which sources sent mail as my domain for the first time in the last N days?
-- param days integer 7: first seen this many days back from today (UTC) or later
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
--
-- Reads the whole history (first seen is over all time).
SELECT
  policy_domain,
  source_ip,
  first_seen,
  last_seen,
  messages,
  pass_rate,
  failure_categories,
  header_from_domains,
  reporter_names
FROM source_summary
WHERE first_dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
  AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
ORDER BY first_seen DESC, messages DESC, policy_domain, source_ip
