"""Ingest: one input object in, its reports stored exactly once and its refused pieces quarantined.

service     ``IngestService``: unpack, parse, store through any ``Store``
batch       many objects, with retries of transient failures and a summary (the CLI)
s3_events   SQS bodies of S3 notifications -> object keys (the Lambda)
"""
