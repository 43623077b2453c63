#!/usr/bin/env bash
# The tests, from a fresh clone: set up .venv, then run pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
