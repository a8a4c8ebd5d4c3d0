"""Reference data the classifier reads, refreshed from its sources and published with a version.

    published.py   the layout under `reference/` (S3 or the local store) and reading what is current
    sources.py     the sources: DNS TXT lookups for the netblocks, the npm registry for the ASN table
    refresh.py     one refresh: walk the netblocks, fetch a newer ASN table, publish what changed

Ingest never looks anything up: it reads the files `reference/current.json` names (at a cold start),
so no DNS or HTTP sits on the ingest path (and ingest never imports `sources`).
"""
