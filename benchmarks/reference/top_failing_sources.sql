-- top_failing_sources: the window's records only; the top 50 by the same total order as the product.
SELECT
  policy_domain,
  source_ip,
  sum(CASE WHEN dmarc_pass THEN 0 ELSE message_count END) AS failed_messages,
  sum(message_count) AS messages,
  round(CAST(sum(CASE WHEN dmarc_pass THEN 0 ELSE message_count END) AS DOUBLE) / nullif(sum(message_count), 0), 4)
    AS fail_rate,
  array_to_string(list_sort(list(DISTINCT CASE WHEN NOT dmarc_pass THEN failure_category END)), ', ')
    AS failure_categories,
  array_to_string(list_sort(list(DISTINCT lower(envelope_from))), ', ') AS envelope_from_domains,
  array_to_string(list_sort(list(DISTINCT org_name)), ', ') AS reporters
FROM (
  SELECT
    policy_domain, source_ip, message_count, envelope_from, org_name,
    coalesce(policy_dkim = 'pass' OR policy_spf = 'pass', false) AS dmarc_pass,
    CASE
      WHEN coalesce(policy_dkim = 'pass' OR policy_spf = 'pass', false) THEN 'pass'
      WHEN list_contains(list_transform(reasons, lambda why: lower(why.type)), 'forwarded')
        OR list_contains(list_transform(reasons, lambda why: lower(why.type)), 'trusted_forwarder') THEN 'forwarded'
      WHEN list_contains(list_transform(reasons, lambda why: lower(why.type)), 'mailing_list') THEN 'mailing_list'
      WHEN coalesce(len(list_filter(dkim_results, lambda sig: lower(sig.result) = 'pass')) > 0, false)
        AND coalesce(len(list_filter(spf_results, lambda chk: lower(chk.result) = 'pass')) > 0, false) THEN 'not_aligned'
      WHEN coalesce(len(list_filter(dkim_results, lambda sig: lower(sig.result) = 'pass')) > 0, false) THEN 'dkim_not_aligned'
      WHEN coalesce(len(list_filter(spf_results, lambda chk: lower(chk.result) = 'pass')) > 0, false) THEN 'spf_not_aligned'
      ELSE 'no_auth'
    END AS failure_category
  FROM read_parquet('{store}/parquet/records/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
  WHERE dt >= CAST(current_date - {days} AS VARCHAR) AND policy_domain IS NOT NULL
)
GROUP BY policy_domain, source_ip
HAVING sum(CASE WHEN dmarc_pass THEN 0 ELSE message_count END) > 0
ORDER BY failed_messages DESC, policy_domain, source_ip
LIMIT 50
