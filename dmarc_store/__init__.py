"""The I/O shell shared by the Lambdas and the CLI: settings, the ingest service, stores, the query runner."""
