-- failure_categories: record_details' failure_category computed on the window's records only.
SELECT
  policy_domain,
  failure_category,
  sum(message_count) AS messages,
  round(CAST(sum(message_count) AS DOUBLE) / sum(sum(message_count)) OVER (PARTITION BY policy_domain), 4) AS share,
  count(DISTINCT source_ip) AS sources,
  count(DISTINCT org_name) AS reporters
FROM (
  SELECT
    policy_domain, source_ip, org_name, message_count,
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
GROUP BY policy_domain, failure_category
ORDER BY policy_domain, messages DESC, failure_category
