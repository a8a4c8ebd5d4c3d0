-- name: misconfigured_senders
-- question: Which sources pass SPF or DKIM, but for another domain than mine, so DMARC fails (senders to set up)?
-- param days integer 30: how many days back from today (UTC) to look; the report's begin date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
--
-- One row per source and authenticated domain: set up DKIM signing with your domain (or a custom
-- return-path under your domain for SPF) at the service behind authenticated_domain.
WITH misaligned AS (
  SELECT policy_domain, source_ip, header_from, message_count, dkim_results, spf_results
  FROM record_details
  WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
    AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
    AND failure_category IN ('not_aligned', 'dkim_not_aligned', 'spf_not_aligned')
),
authenticated AS (
  SELECT m.policy_domain, m.source_ip, m.header_from, m.message_count, 'dkim' AS method, lower(sig.domain) AS domain
  FROM misaligned AS m
  CROSS JOIN UNNEST(m.dkim_results) AS sig(domain, selector, result, human_result)
  WHERE lower(sig.result) = 'pass'
  UNION ALL
  SELECT m.policy_domain, m.source_ip, m.header_from, m.message_count, 'spf' AS method, lower(chk.domain) AS domain
  FROM misaligned AS m
  CROSS JOIN UNNEST(m.spf_results) AS chk(domain, scope, result, human_result)
  WHERE lower(chk.result) = 'pass'
)
SELECT
  policy_domain,
  source_ip,
  method,
  domain AS authenticated_domain,
  sum(message_count) AS messages,
  array_join(array_sort(array_agg(DISTINCT lower(header_from))), ', ') AS header_from_domains
FROM authenticated
GROUP BY policy_domain, source_ip, method, domain
ORDER BY messages DESC, policy_domain, source_ip, method, authenticated_domain
