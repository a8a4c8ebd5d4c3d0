-- name: override_reasons
-- question: Where did receivers override my policy (forwarded, mailing_list, local_policy, sampled_out ...), and what did they do?
-- param days integer 30: how many days back from today (UTC) to look; the report's begin date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
SELECT
  rd.policy_domain,
  lower(why.type) AS reason,
  rd.disposition,
  rd.dmarc_pass,
  sum(rd.message_count) AS messages,
  count(DISTINCT rd.source_ip) AS sources,
  array_join(array_sort(array_agg(DISTINCT rd.org_name)), ', ') AS reporters,
  min(why.comment) AS example_comment
FROM record_details AS rd
CROSS JOIN UNNEST(rd.reasons) AS why(type, comment)
WHERE rd.dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
  AND lower(rd.policy_domain) LIKE lower(CAST(? AS varchar))
GROUP BY rd.policy_domain, lower(why.type), rd.disposition, rd.dmarc_pass
ORDER BY messages DESC, rd.policy_domain, reason, rd.disposition
