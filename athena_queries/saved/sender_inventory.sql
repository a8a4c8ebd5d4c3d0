-- name: sender_inventory
-- question: For each sender and DKIM selector, when was it first and last seen passing, on how many days, and when did it last fail?
-- param days integer 30: how many days back from today (UTC) to look; the report's begin date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
SELECT
  rd.policy_domain,
  coalesce(rd.sender, 'unclassified') AS sender,
  max(rd.sender_name) AS sender_name,
  lower(sig.domain) AS signing_domain,
  lower(sig.selector) AS selector,
  min(rd.dt) AS first_seen,
  max(rd.dt) AS last_seen,
  max(CASE WHEN lower(sig.result) = 'pass' THEN rd.dt END) AS last_pass,
  max(CASE WHEN lower(sig.result) <> 'pass' THEN rd.dt END) AS last_fail,
  count(DISTINCT rd.dt) AS active_days,
  sum(rd.message_count) AS messages,
  sum(CASE WHEN lower(sig.result) = 'pass' THEN rd.message_count ELSE 0 END) AS pass_messages
FROM record_details AS rd
CROSS JOIN UNNEST(rd.dkim_results) AS sig(domain, selector, result, human_result)
WHERE rd.dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
  AND lower(rd.policy_domain) LIKE lower(CAST(? AS varchar))
GROUP BY rd.policy_domain, coalesce(rd.sender, 'unclassified'), lower(sig.domain), lower(sig.selector)
ORDER BY rd.policy_domain, messages DESC, sender, signing_domain, selector
