-- view tls_failure_details: one row per tls_failures row (each stored once).
SELECT count(*) FROM read_parquet('{store}/parquet/tls_failures/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
