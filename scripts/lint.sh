#!/usr/bin/env bash
# Lint and format check with ruff (rules and the 120-column style in pyproject.toml; ruff pinned in
# requirements-dev.txt). scripts/test.sh runs it first, so CI fails on a violation. To fix what it reports:
#   .venv/bin/ruff check --fix . && .venv/bin/ruff format .
# or install the same checks as a git hook: pip install pre-commit && pre-commit install
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
