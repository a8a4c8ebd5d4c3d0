-- name: sender_coverage
-- question: How much of each domain's mail comes from a sender I can name, and how much from senders nobody could name?
-- param days integer 30: how many days back from today (UTC) to look; the report's begin date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
SELECT
  policy_domain,
  sum(message_count) AS messages,
  sum(CASE WHEN sender_category IN ('service', 'own', 'forwarder') THEN message_count ELSE 0 END)
    AS identified_messages,
  round(
    CAST(sum(CASE WHEN sender_category IN ('service', 'own', 'forwarder') THEN message_count ELSE 0 END) AS double)
      / nullif(sum(message_count), 0),
    4
  ) AS identified_share,
  sum(CASE WHEN sender_category IS NULL THEN message_count ELSE 0 END) AS unclassified_messages,
  count(DISTINCT CASE WHEN sender_category NOT IN ('service', 'own', 'forwarder') THEN source_ip END)
    AS unidentified_sources,
  count(DISTINCT sender) AS senders
FROM record_details
WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
  AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
GROUP BY policy_domain
ORDER BY messages DESC, policy_domain
