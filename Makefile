# The two commands a newcomer needs: `make demo` and `make test`.
# Both build what they need: a virtual env with pinned Python deps, and node_modules via `npm ci`.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.9
CORPUS ?= ../shared/corpus
DEMO_STORE ?= ./dmarc-demo

.PHONY: demo test lint typecheck pytest venv node bench bench-big columns clean

venv: $(VENV)/.installed
$(VENV)/.installed: requirements/dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements/dev.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

node: node_modules/.installed
node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: venv
	$(BIN)/python -m dmarc_cli.demo --corpus $(CORPUS) --store $(DEMO_STORE)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

pytest: venv
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2

test: lint typecheck pytest

# After adding a column to dmarc_model/columns.py (and its DDL line), or changing athena_queries/:
# rewrite the views' column lists, README.md's column tables, deploy/sql-manifest.json and the views
# compiled for DuckDB (dmarc_store/query/compiled_views.json).
columns: venv
	$(BIN)/python scripts/sync_columns.py
	$(BIN)/python deploy/sql_manifest.py
	$(BIN)/python scripts/compile_views.py

# Every figure of the performance targets (issue 16), each against its target: benchmarks/run_all.py.
# BENCH_ARGS="--only parse queries" runs some of them; --list names them.
bench: venv deploy-deps asn
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

# One report of 100k, 300k and 1M records: peak RSS and time of ingest, locally and through the Lambda on moto.
bench-big: venv
	$(BIN)/python benchmarks/bench_big_report.py

# Cold start (issue 16): `import handlers.ingest` on CPython 3.12 from the packaged code, with and
# without its bytecode. Packages offline first, as the deploy tests do (make deploy-deps).
.PHONY: bench-cold-start
bench-cold-start: venv deploy-deps
	$(BIN)/python benchmarks/bench_cold_start.py

# The ingest dead-letter queue back to the ingest queue, after fixing the cause (README, Deploy, Runbook):
# DMARC_DEAD_LETTER_QUEUE_URL=... make redrive [REDRIVE_ARGS="--dry-run --max-per-second 10"]
.PHONY: redrive
redrive: venv
	$(BIN)/dmarc redrive --aws $(REDRIVE_ARGS)

-include mk/*.mk

clean:
	rm -rf $(VENV) node_modules .serverless .pytest_cache .mypy_cache .ruff_cache
