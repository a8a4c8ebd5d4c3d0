-- name: conflicts
-- question: Which reports arrived again with other content than the copy stored first, and from where?
-- param days integer 30: how many days back from today (UTC) to look; the report's begin date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
SELECT
  dt,
  policy_domain,
  org_name,
  report_id,
  date_range_begin,
  date_range_end,
  stored_source_key,
  source_key,
  record_count,
  message_total,
  detected_at,
  report_key,
  stored_content_sha256,
  content_sha256
FROM conflicts
WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
  AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
ORDER BY dt DESC, policy_domain, org_name, report_id, detected_at
