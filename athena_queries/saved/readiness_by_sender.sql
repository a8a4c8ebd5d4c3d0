-- name: readiness_by_sender
-- question: Which senders' failing mail stands between each domain and p=reject, what should I change in each, and how much forwarded mail would reject cost?
-- param days integer 30: how many days back from today (UTC) to look; the report's begin date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
WITH failing AS (
  SELECT
    policy_domain,
    coalesce(sender, 'unclassified') AS sender,
    max(coalesce(sender_name, 'Not classified yet (run dmarc classify)')) AS sender_name,
    max(coalesce(sender_category, 'unknown')) AS category,
    sum(message_count) AS messages,
    sum(CASE WHEN dmarc_pass THEN 0 ELSE message_count END) AS failing_messages,
    sum(CASE WHEN NOT dmarc_pass AND any_auth_pass THEN message_count ELSE 0 END) AS failing_authenticated_elsewhere,
    max(sender_fix) AS fix,
    max(sender_setup_url) AS setup_url
  FROM record_details
  WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
    AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
  GROUP BY policy_domain, coalesce(sender, 'unclassified')
)
SELECT
  policy_domain,
  sender,
  sender_name,
  category,
  messages,
  failing_messages,
  failing_authenticated_elsewhere,
  CASE
    WHEN category = 'forwarder' THEN 'forwarded: reject loses it unless your DKIM signature survives the forwarding'
    WHEN category IN ('service', 'own') THEN 'blocks reject: your mail, fix it first'
    WHEN failing_authenticated_elsewhere > 0 THEN 'blocks reject until named: it authenticates for another domain'
    ELSE 'reject stops it: unauthenticated, likely spoofing'
  END AS effect,
  category IN ('service', 'own') OR (category NOT IN ('forwarder', 'service', 'own') AND failing_authenticated_elsewhere > 0)
    AS blocks_reject,
  fix,
  setup_url
FROM failing
WHERE failing_messages > 0
ORDER BY policy_domain, blocks_reject DESC, failing_messages DESC, sender
