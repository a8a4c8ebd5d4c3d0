-- rfc9990_fields: the window's reports that carry np, testing or discovery_method.
SELECT
  policy_domain,
  org_name AS reporter,
  coalesce(published_np, '(absent)') AS np,
  coalesce(published_testing, '(absent)') AS testing,
  coalesce(published_discovery_method, '(absent)') AS discovery_method,
  array_to_string(list_sort(list(DISTINCT xml_schema)), ', ') AS xml_schemas,
  count(*) AS reports,
  max(date_range_end) AS last_period_end
FROM read_parquet('{store}/parquet/reports/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
WHERE dt >= CAST(current_date - {days} AS VARCHAR) AND policy_domain IS NOT NULL
  AND (published_np IS NOT NULL OR published_testing IS NOT NULL OR published_discovery_method IS NOT NULL)
GROUP BY policy_domain, org_name, published_np, published_testing, published_discovery_method
ORDER BY policy_domain, reports DESC, reporter
