#!/usr/bin/env bash
# Installs Townhall with its test tools into .venv, then runs ruff, mypy and the full
# test suite on SQLite and PostgreSQL (127.0.0.1:5432, trust auth), in two processes.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[test]'
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy src
# Two processes (the machine's cores), whole files to each: a file's servers and
# module fixtures start once, in one process; most of a test's time is waiting on them.
.venv/bin/pytest -n "${TOWNHALL_TEST_PROCESSES:-2}" --dist loadfile --durations=15 "$@"
