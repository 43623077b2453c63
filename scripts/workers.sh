# Sourced by scripts/test.sh and scripts/test_versions.sh: sets `workers`, how many test processes run side by side.
# One per core, at most 4 (each holds torch and a model or two); YOLO_HYBRID_TEST_WORKERS=N sets it (0: pytest in one
# process, e.g. to debug with -s or pdb).
cores=$(nproc 2>/dev/null || echo 2)
workers="${YOLO_HYBRID_TEST_WORKERS:-$((cores < 4 ? cores : 4))}"
