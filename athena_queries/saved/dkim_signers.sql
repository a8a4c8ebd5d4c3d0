-- name: dkim_signers
-- question: Which DKIM signing domains and selectors does each source use, and do they pass?
-- param days integer 30: how many days back from today (UTC) to look; the report's begin date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
SELECT
  rd.policy_domain,
  rd.source_ip,
  lower(sig.domain) AS signing_domain,
  sig.selector,
  sum(rd.message_count) AS messages,
  sum(CASE WHEN lower(sig.result) = 'pass' THEN rd.message_count ELSE 0 END) AS pass_messages,
  array_join(array_sort(array_agg(DISTINCT lower(sig.result))), ', ') AS results,
  bool_or(lower(sig.domain) = lower(rd.header_from)) AS signs_as_header_from
FROM record_details AS rd
CROSS JOIN UNNEST(rd.dkim_results) AS sig(domain, selector, result, human_result)
WHERE rd.dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
  AND lower(rd.policy_domain) LIKE lower(CAST(? AS varchar))
GROUP BY rd.policy_domain, rd.source_ip, lower(sig.domain), sig.selector
ORDER BY rd.policy_domain, rd.source_ip, messages DESC, signing_domain, sig.selector
