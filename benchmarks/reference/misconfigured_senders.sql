-- misconfigured_senders: the window's misaligned records, their passing DKIM signatures and SPF checks.
WITH misaligned AS (
  SELECT *
  FROM (
    SELECT policy_domain, source_ip, header_from, message_count, dkim_results, spf_results, CASE
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
  WHERE failure_category IN ('not_aligned', 'dkim_not_aligned', 'spf_not_aligned')
),
authenticated AS (
  SELECT policy_domain, source_ip, header_from, message_count, 'dkim' AS method, lower(sig.domain) AS domain
  FROM (SELECT *, unnest(dkim_results) AS sig FROM misaligned)
  WHERE lower(sig.result) = 'pass'
  UNION ALL
  SELECT policy_domain, source_ip, header_from, message_count, 'spf' AS method, lower(chk.domain) AS domain
  FROM (SELECT *, unnest(spf_results) AS chk FROM misaligned)
  WHERE lower(chk.result) = 'pass'
)
SELECT
  policy_domain,
  source_ip,
  method,
  domain AS authenticated_domain,
  sum(message_count) AS messages,
  array_to_string(list_sort(list(DISTINCT lower(header_from))), ', ') AS header_from_domains
FROM authenticated
GROUP BY policy_domain, source_ip, method, domain
ORDER BY messages DESC, policy_domain, source_ip, method, authenticated_domain
