-- name: disposition_vs_policy
-- question: What did receivers actually do with my mail (none, quarantine, reject), compared with the policy I publish?
-- param days integer 30: how many days back from today (UTC) to look; the report's begin date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
--
-- follows_policy: passing mail delivered (none), failing mail handled as the effective policy says.
-- Receivers may apply pct sampling and local overrides, so some mismatch is normal.
SELECT
  policy_domain,
  effective_policy,
  published_pct,
  dmarc_pass,
  disposition,
  CASE WHEN dmarc_pass THEN disposition = 'none' ELSE disposition = effective_policy END AS follows_policy,
  sum(message_count) AS messages,
  count(DISTINCT org_name) AS reporters
FROM record_details
WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
  AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
GROUP BY policy_domain, effective_policy, published_pct, dmarc_pass, disposition
ORDER BY policy_domain, effective_policy, published_pct, dmarc_pass DESC, messages DESC
