"""Ingest: one input object in, its reports stored exactly once and its refused pieces quarantined.

service     ``IngestService``: unpack, parse, store through any ``Store``
s3_events   SQS bodies of S3 notifications -> object keys (the Lambda)

Many objects in a row, with retries and a summary, is the CLI's `dmarc_cli.batch`.
"""
