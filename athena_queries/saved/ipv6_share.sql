-- name: ipv6_share
-- question: How much of the mail sent as my domain arrives over IPv6, and does it pass as often as IPv4?
-- param days integer 30: how many days back from today (UTC) to look; the report's begin date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
SELECT
  policy_domain,
  count(*) AS records,
  count_if(is_ipv6) AS ipv6_records,
  sum(message_count) AS messages,
  sum(CASE WHEN is_ipv6 THEN message_count ELSE 0 END) AS ipv6_messages,
  round(CAST(sum(CASE WHEN is_ipv6 THEN message_count ELSE 0 END) AS double) / nullif(sum(message_count), 0), 4)
    AS ipv6_share,
  count(DISTINCT CASE WHEN is_ipv6 THEN source_ip END) AS ipv6_sources,
  round(
    CAST(sum(CASE WHEN is_ipv6 AND dmarc_pass THEN message_count ELSE 0 END) AS double)
      / nullif(sum(CASE WHEN is_ipv6 THEN message_count ELSE 0 END), 0),
    4
  ) AS ipv6_pass_rate,
  round(
    CAST(sum(CASE WHEN NOT is_ipv6 AND dmarc_pass THEN message_count ELSE 0 END) AS double)
      / nullif(sum(CASE WHEN is_ipv6 THEN 0 ELSE message_count END), 0),
    4
  ) AS ipv4_pass_rate
FROM record_details
WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
  AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
GROUP BY policy_domain
ORDER BY messages DESC, policy_domain
