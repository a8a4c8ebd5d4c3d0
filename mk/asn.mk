# The offline IP -> network owner (ASN) table, compiled from the `@ip-location-db/asn` CSVs that
# `npm ci` puts in node_modules (CC BY 4.0: RouteViews, DB-IP, NRO; credited in NOTICE). The file is
# gitignored and rebuilt only when its sources, the script or the format change.
#
#   make asn               build dmarc_model/senders/data/asn.bin (about 3 s, 12.5 MiB)
#   make bench-asn         its cold load and lookups per second, each against a baseline
#   make bench-senders     naming senders: precision, share of mail named, cost per record, load time

ASN_SOURCE := node_modules/@ip-location-db/asn
ASN_TABLE  := dmarc_model/senders/data/asn.bin

.PHONY: asn bench-asn

asn: node venv $(ASN_TABLE)

$(ASN_TABLE): node_modules/.installed $(VENV)/.installed scripts/build_asn_table.py \
		dmarc_model/senders/asn_format.py dmarc_model/senders/asn_ranges.py
	$(BIN)/python scripts/build_asn_table.py --ipv4 $(ASN_SOURCE)/asn-ipv4-num.csv \
		--ipv6 $(ASN_SOURCE)/asn-ipv6-num.csv --output $@

bench-asn: asn
	$(BIN)/python benchmarks/bench_asn_table.py

# Every test, the demo and the Lambda package get the real table (tests that need it skip without it).
pytest demo package deploy: asn

.PHONY: bench-senders

# Naming senders: precision on the labelled cases, the share of mail named, the cost per record, the load.
bench-senders: asn
	$(BIN)/python benchmarks/bench_senders.py
