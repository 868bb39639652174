# The two commands on a fresh machine: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CLIENTS ?= 1000
PARTS ?= 5
SEED ?= 42

# Every entry point sees the same layout: include/ on PYTHONPATH, this project's dags and plugins.
export PYTHONPATH := $(CURDIR)/include$(if $(PYTHONPATH),:$(PYTHONPATH))
export AIRFLOW_HOME ?= $(CURDIR)/data/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
# airflow standalone starts its components as `airflow ...` subprocesses: the venv must be on PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: install install-scale scaleout scaleout-timing run test test-parallel pipeline process bench portrait-curve lint format warehouse-start warehouse-stop clean

# One lock (constraints.txt) covers the base install and the scale extra. Installs into one venv are
# serialised (flock, where there is one): two make runs sharing a venv must not run pip at once.
LOCKED := $(if $(shell command -v flock),flock $(VENV)/.install.lock)

$(VENV)/.installed: requirements.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(LOCKED) $(BIN)/python -m pip install --quiet --upgrade pip
	$(LOCKED) $(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	touch $@

# The scale-out extra: CeleryExecutor (Redis broker), s3:// landing zones, moto's local S3 endpoint.
$(VENV)/.installed-scale: $(VENV)/.installed requirements-scale.txt
	$(LOCKED) $(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-scale.txt -c constraints.txt
	touch $@

install: $(VENV)/.installed

install-scale: $(VENV)/.installed-scale  ## the base install plus requirements-scale.txt, same lock

run: install  ## start the embedded warehouse and Airflow standalone on :8080, trigger a first run
	bash scripts/run_local.sh

# The suite includes the Celery + object-storage test, so it installs the scale extra (CI runs `make test`).
test: install-scale  ## the whole suite, against the embedded warehouse (or $$AIRFLOW_CONN_DWH)
	$(BIN)/python -m pytest

PG15_URI ?= postgresql://postgres@127.0.0.1:5432/postgres
test-parallel: install  ## the integration suite on PostgreSQL 15 ($$PG15_URI), every statement planned in parallel
	AIRFLOW_CONN_DWH=$(PG15_URI) CLIENT_DWH_FORCE_PARALLEL=1 DWH_PARALLEL_WORKERS=2 $(BIN)/python -m pytest tests/integration

pipeline: install  ## headless: generate CLIENTS/PARTS/SEED, run every DAG with dag.test(), print a summary
	source scripts/warehouse_env.sh && $(BIN)/python scripts/prepare_airflow.py && \
	  $(BIN)/python -m client_dwh pipeline --clients $(CLIENTS) --parts $(PARTS) --seed $(SEED)

process: install  ## headless: run dwh_pipeline (and recommend_services) over what has landed; BATCH=, AS_OF=
	source scripts/warehouse_env.sh && $(BIN)/python scripts/prepare_airflow.py && \
	  $(BIN)/python -m client_dwh process $(if $(BATCH),--batch $(BATCH)) $(if $(AS_OF),--as-of $(AS_OF))

bench: install  ## throughput per stage, ratios to plain COPY and to_sql; RETAIL=path.csv.gz, MODELS=1 for more
	source scripts/warehouse_env.sh && $(BIN)/python -m client_dwh.devtools.bench.pipeline \
	  $(if $(filter command line,$(origin CLIENTS)),--clients $(CLIENTS)) $(if $(RETAIL),--retail $(RETAIL)) $(if $(MODELS),--models) $(if $(CONCURRENCY),--concurrency $(CONCURRENCY))

portrait-curve: install  ## portrait mapping accuracy / outliers caught vs threshold on independently drawn clients
	$(BIN)/python tests/portrait_threshold_curve.py

scaleout: install-scale  ## Celery on one machine: Redis, S3 (moto), two workers; generate -> pipeline -> recommend
	bash scripts/scaleout.sh

scaleout-timing: install-scale  ## one Celery worker vs two: dwh_pipeline on the same landed parts (CLIENTS=20000 PARTS=5)
	SCALEOUT_ARGS="--clients $(if $(filter command line,$(origin CLIENTS)),$(CLIENTS),20000) --parts $(PARTS) \
	  --seed $(SEED) --worker-concurrency 1 --time-workers 1,2" bash scripts/scaleout.sh

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

warehouse-start: install
	$(BIN)/python -m client_dwh warehouse start

warehouse-stop: install
	$(BIN)/python -m client_dwh warehouse stop

clean: warehouse-stop
	rm -rf data
