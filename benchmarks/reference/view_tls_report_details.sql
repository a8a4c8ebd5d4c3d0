-- view tls_report_details: one row per tls_reports row (each stored once).
SELECT count(*) FROM read_parquet('{store}/parquet/tls_reports/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
