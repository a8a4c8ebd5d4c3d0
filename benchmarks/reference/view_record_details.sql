-- view record_details: one row per record (each stored once; the left joins are on unique keys).
SELECT count(*) FROM read_parquet('{store}/parquet/records/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
