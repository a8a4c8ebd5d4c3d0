-- view source_summary: one row per (policy_domain, source_ip) of records.
SELECT count(*) FROM (SELECT DISTINCT policy_domain, source_ip FROM read_parquet('{store}/parquet/records/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}}))
