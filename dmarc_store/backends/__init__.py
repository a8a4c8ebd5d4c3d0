"""Where reports are stored: one base class, the exactly-once claim decided once in it, and two backends.

base           ``Store``: claim, write, complete, release, quarantine; the claim decision
aws            ``AwsStore``: DynamoDB items and Parquet on S3 (clients passed in)
local          ``LocalStore``: a folder with the S3 layout and a SQLite index
dynamo_items   report rows -> DynamoDB items (pure)
objects        objects by key in a bucket or a folder (what compaction needs)
"""
