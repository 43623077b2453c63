#!/usr/bin/env bash
# The documentation site (mkdocs.yml, docs/): MkDocs with the Material theme and mkdocstrings' API reference, built
# with --strict, so a broken link between pages, a missing anchor, a page left out of the nav or a docstring griffe
# cannot parse fails the build. The site goes to a temporary folder, never into the repository; serve it while
# writing with `.venv/bin/mkdocs serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
export NO_MKDOCS_2_WARNING=1  # Material's end-of-life banner, printed on every build
.venv/bin/mkdocs build --strict --site-dir "${TMPDIR:-/tmp}/yolo_hybrid_site"
