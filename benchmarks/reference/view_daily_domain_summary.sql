-- view daily_domain_summary: one row per (dt, policy_domain) of records.
SELECT count(*) FROM (SELECT DISTINCT dt, policy_domain FROM read_parquet('{store}/parquet/records/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}}))
