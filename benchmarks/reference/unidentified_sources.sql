-- unidentified_sources: the window's records whose sender is not identified; the top 50 in the product's order.
WITH rd AS (
  SELECT
    r.policy_domain, r.source_ip, r.message_count, r.envelope_from, r.policy_dkim, r.policy_spf, r.reasons,
    r.dkim_results, r.spf_results, s.network_asn, s.network_org, s.sender_name
  FROM read_parquet('{store}/parquet/records/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}}) AS r
  LEFT JOIN (
    SELECT dt, report_key, record_index, sender_name, sender_category, network_asn, network_org
    FROM read_parquet('{store}/parquet/record_senders/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
    WHERE dt >= CAST(current_date - {days} AS VARCHAR)
  ) AS s USING (dt, report_key, record_index)
  WHERE r.dt >= CAST(current_date - {days} AS VARCHAR) AND r.policy_domain IS NOT NULL
    AND coalesce(s.sender_category, 'unknown') NOT IN ('service', 'own', 'forwarder')
)
SELECT
  policy_domain,
  source_ip,
  max(network_asn) AS network_asn,
  max(network_org) AS network_org,
  max(coalesce(sender_name, 'Not classified yet (run dmarc classify)')) AS sender_name,
  sum(message_count) AS messages,
  round(
    CAST(sum(CASE WHEN coalesce(policy_dkim = 'pass' OR policy_spf = 'pass', false) THEN message_count ELSE 0 END)
      AS DOUBLE) / nullif(sum(message_count), 0),
    4
  ) AS dmarc_pass_share,
  array_to_string(list_sort(list(DISTINCT
    CASE
      WHEN coalesce(policy_dkim = 'pass' OR policy_spf = 'pass', false) THEN 'pass'
      WHEN list_contains(list_transform(reasons, lambda why: lower(why.type)), 'forwarded')
        OR list_contains(list_transform(reasons, lambda why: lower(why.type)), 'trusted_forwarder') THEN 'forwarded'
      WHEN list_contains(list_transform(reasons, lambda why: lower(why.type)), 'mailing_list') THEN 'mailing_list'
      WHEN coalesce(len(list_filter(dkim_results, lambda sig: lower(sig.result) = 'pass')) > 0, false)
        AND coalesce(len(list_filter(spf_results, lambda chk: lower(chk.result) = 'pass')) > 0, false) THEN 'not_aligned'
      WHEN coalesce(len(list_filter(dkim_results, lambda sig: lower(sig.result) = 'pass')) > 0, false)
        THEN 'dkim_not_aligned'
      WHEN coalesce(len(list_filter(spf_results, lambda chk: lower(chk.result) = 'pass')) > 0, false)
        THEN 'spf_not_aligned'
      ELSE 'no_auth'
    END)), ', ') AS failure_categories,
  array_to_string(list_sort(list(DISTINCT lower(envelope_from))), ', ') AS envelope_from_domains
FROM rd
GROUP BY policy_domain, source_ip
ORDER BY messages DESC, policy_domain, source_ip
LIMIT 50
