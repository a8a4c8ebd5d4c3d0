-- view report_details: one row per report (each stored once).
SELECT count(*) FROM read_parquet('{store}/parquet/reports/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
