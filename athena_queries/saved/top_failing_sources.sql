-- name: top_failing_sources
-- question: Which sources sent the most mail as my domain that failed DMARC, and why did it fail?
-- param days integer 30: how many days back from today (UTC) to look; the report's begin date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
SELECT
  policy_domain,
  source_ip,
  sum(CASE WHEN dmarc_pass THEN 0 ELSE message_count END) AS failed_messages,
  sum(message_count) AS messages,
  round(CAST(sum(CASE WHEN dmarc_pass THEN 0 ELSE message_count END) AS double) / nullif(sum(message_count), 0), 4)
    AS fail_rate,
  array_join(array_sort(array_agg(DISTINCT CASE WHEN NOT dmarc_pass THEN failure_category END)), ', ')
    AS failure_categories,
  array_join(array_sort(array_agg(DISTINCT lower(envelope_from))), ', ') AS envelope_from_domains,
  array_join(array_sort(array_agg(DISTINCT org_name)), ', ') AS reporters
FROM record_details
WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
  AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
GROUP BY policy_domain, source_ip
HAVING sum(CASE WHEN dmarc_pass THEN 0 ELSE message_count END) > 0
ORDER BY failed_messages DESC, policy_domain, source_ip
LIMIT 50
