-- reporters: the window's reports only.
SELECT
  org_name AS reporter,
  policy_domain,
  count(*) AS reports,
  sum(message_total) AS messages,
  sum(record_count) AS records,
  round(CAST(sum(dmarc_pass) AS DOUBLE) / nullif(sum(message_total), 0), 4) AS pass_rate,
  min(date_range_begin) AS first_period_begin,
  max(date_range_end) AS last_period_end,
  array_to_string(list_sort(list(DISTINCT email)), ', ') AS report_emails
FROM read_parquet('{store}/parquet/reports/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
WHERE dt >= CAST(current_date - {days} AS VARCHAR) AND policy_domain IS NOT NULL
GROUP BY org_name, policy_domain
ORDER BY reports DESC, reporter, policy_domain
