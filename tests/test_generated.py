"""Generated sections (``tools/generated.py``): the shared writer replaces exactly the text between a section's
markers and ``--check`` reports a stale one; the deployment table of docs/deployment.md and the cost summary of
README.md are the ones their committed JSON gives (the other tables' checks live with their tests: test_spec,
integration/test_transfer, study/test_report, and scripts/test_versions.sh for the Compatibility table)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import ROOT

sys.path.insert(0, str(ROOT / "tools"))
from generated import markers, replace, sections, update  # noqa: E402


def test_replace_keeps_everything_outside_the_markers():
    start, end = markers("demo-table")
    text = f"before\n{start}\nold\n{end}\nafter\n"
    assert replace(text, "demo-table", "new\n\n") == f"before\n{start}\nnew\n{end}\nafter\n"
    assert sections(text + "<!-- study-x:start --><!-- study-x:end -->", "study-") == ["study-x"]
    with pytest.raises(SystemExit, match="no <!-- other:start -->"):
        replace(text, "other", "x")


def test_check_reports_a_stale_section_and_writes_nothing(tmp_path, capsys):
    start, end = markers("t")
    page = tmp_path / "page.md"
    page.write_text(f"{start}\nold\n{end}\n")
    assert update(page, {"t": "new"}, check=True, fix="python fix.py") == 1
    assert "stale: run python fix.py" in capsys.readouterr().err
    assert page.read_text() == f"{start}\nold\n{end}\n"
    assert update(page, {"t": "new"}) == 0
    assert update(page, {"t": "new"}, check=True) == 0


def test_docs_deploy_table_is_the_committed_results():
    proc = subprocess.run(
        [sys.executable, "benchmarks/deploy.py", "--render", "benchmarks/results/deploy.json", "--docs", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_readme_cost_summary_is_the_committed_benchmark():
    proc = subprocess.run(
        [sys.executable, "tools/update_cost_summary.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
