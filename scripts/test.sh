#!/usr/bin/env bash
# Run glyphlab's checks: ruff, then the whole pytest suite (SQLite and PostgreSQL).
# Install first with: bash scripts/bootstrap.sh --dev
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
