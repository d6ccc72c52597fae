#!/usr/bin/env bash
# Installs Townhall with its test tools into .venv, then runs ruff, mypy and the full
# test suite on SQLite and PostgreSQL (127.0.0.1:5432, trust auth).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[test]'
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy src
.venv/bin/pytest --durations=15 "$@"
