-- name: unidentified_sources
-- question: Which sources that no rule could name send the most mail as my domain, from which networks, and does it pass?
-- param days integer 30: how many days back from today (UTC) to look; the report's begin date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
SELECT
  policy_domain,
  source_ip,
  max(network_asn) AS network_asn,
  max(network_org) AS network_org,
  max(coalesce(sender_name, 'Not classified yet (run dmarc classify)')) AS sender_name,
  sum(message_count) AS messages,
  round(CAST(sum(CASE WHEN dmarc_pass THEN message_count ELSE 0 END) AS double) / nullif(sum(message_count), 0), 4)
    AS dmarc_pass_share,
  array_join(array_sort(array_agg(DISTINCT failure_category)), ', ') AS failure_categories,
  array_join(array_sort(array_agg(DISTINCT lower(envelope_from))), ', ') AS envelope_from_domains
FROM record_details
WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
  AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
  AND coalesce(sender_category, 'unknown') NOT IN ('service', 'own', 'forwarder')
GROUP BY policy_domain, source_ip
ORDER BY messages DESC, policy_domain, source_ip
LIMIT 50
