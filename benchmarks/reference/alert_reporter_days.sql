-- alert_reporter_days: reports of the window, grouped (no row_number: a report is stored once).
SELECT
  dt,
  lower(policy_domain) AS policy_domain,
  coalesce(org_name, 'unknown reporter') AS reporter,
  lower(published_p) AS published_p,
  lower(published_sp) AS published_sp,
  lower(published_np) AS published_np,
  lower(published_testing) AS published_testing,
  lower(published_adkim) AS published_adkim,
  lower(published_aspf) AS published_aspf,
  published_pct,
  count(*) AS reports,
  sum(message_total) AS messages,
  max(date_range_end) AS last_period_end
FROM read_parquet('{store}/parquet/reports/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
WHERE dt >= CAST(current_date - {days} AS VARCHAR) AND policy_domain IS NOT NULL
GROUP BY ALL
ORDER BY dt, policy_domain, reporter
