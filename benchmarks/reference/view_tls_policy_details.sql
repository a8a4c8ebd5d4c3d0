-- view tls_policy_details: one row per tls_policies row (each stored once).
SELECT count(*) FROM read_parquet('{store}/parquet/tls_policies/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
