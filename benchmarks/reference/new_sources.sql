-- new_sources: the window's sources (records only) that no record before the window has.
WITH recent AS (
  SELECT
    policy_domain,
    source_ip,
    min(date_range_begin) AS first_seen,
    max(date_range_end) AS last_seen,
    sum(message_count) AS messages,
    round(CAST(sum(CASE WHEN dmarc_pass THEN message_count ELSE 0 END) AS DOUBLE) / nullif(sum(message_count), 0), 4)
      AS pass_rate,
    array_to_string(list_sort(list(DISTINCT CASE WHEN NOT dmarc_pass THEN failure_category END)), ', ')
      AS failure_categories,
    array_to_string(list_sort(list(DISTINCT lower(header_from))), ', ') AS header_from_domains,
    array_to_string(list_sort(list(DISTINCT org_name)), ', ') AS reporter_names
  FROM (
    SELECT
      policy_domain, source_ip, date_range_begin, date_range_end, message_count, header_from, org_name,
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
)
SELECT recent.*
FROM recent
ANTI JOIN (
  SELECT policy_domain, source_ip FROM read_parquet('{store}/parquet/records/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}}) WHERE dt < CAST(current_date - {days} AS VARCHAR)
) AS earlier
  ON earlier.policy_domain = recent.policy_domain AND earlier.source_ip = recent.source_ip
ORDER BY recent.first_seen DESC, recent.messages DESC, recent.policy_domain, recent.source_ip
