-- dkim_signers: one row per DKIM signature of the window's records (no sender or report needed).
WITH sigs AS (
  SELECT policy_domain, source_ip, header_from, message_count, unnest(dkim_results) AS sig
  FROM read_parquet('{store}/parquet/records/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
  WHERE dt >= CAST(current_date - {days} AS VARCHAR) AND policy_domain IS NOT NULL
)
SELECT
  policy_domain,
  source_ip,
  lower(sig.domain) AS signing_domain,
  sig.selector AS selector,
  sum(message_count) AS messages,
  sum(CASE WHEN lower(sig.result) = 'pass' THEN message_count ELSE 0 END) AS pass_messages,
  array_to_string(list_sort(list(DISTINCT lower(sig.result))), ', ') AS results,
  bool_or(lower(sig.domain) = lower(header_from)) AS signs_as_header_from
FROM sigs
GROUP BY policy_domain, source_ip, lower(sig.domain), sig.selector
ORDER BY policy_domain, source_ip, messages DESC, signing_domain, selector
