#!/usr/bin/env bash
# `make scaleout`: CeleryExecutor on this machine (Redis, moto S3, two workers in their own folders), then
# generate -> pipeline -> recommendations; prints every run's state. Ctrl-C or the end stops everything.
# SCALEOUT_ARGS passes options, e.g. SCALEOUT_ARGS="--clients 20000 --parts 4 --keep-running".
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/include${PYTHONPATH:+:$PYTHONPATH}"
source scripts/warehouse_env.sh
exec .venv/bin/python -m client_dwh.devtools.scaleout ${SCALEOUT_ARGS:-}
