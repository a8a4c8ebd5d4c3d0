-- view failure_samples: one row per failure report (the join to senders_by_source is on its group key).
SELECT count(*) FROM read_parquet('{store}/parquet/failure_reports/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
