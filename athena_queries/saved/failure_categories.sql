-- name: failure_categories
-- question: Why does mail sent as my domain fail DMARC: how much volume falls in each failure category?
-- param days integer 30: how many days back from today (UTC) to look; the report's begin date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
--
-- Categories as defined in the view record_details (pass, forwarded, mailing_list, not_aligned,
-- dkim_not_aligned, spf_not_aligned, no_auth).
SELECT
  policy_domain,
  failure_category,
  sum(message_count) AS messages,
  round(CAST(sum(message_count) AS double) / sum(sum(message_count)) OVER (PARTITION BY policy_domain), 4)
    AS share,
  count(DISTINCT source_ip) AS sources,
  count(DISTINCT org_name) AS reporters
FROM record_details
WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
  AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
GROUP BY policy_domain, failure_category
ORDER BY policy_domain, messages DESC, failure_category
