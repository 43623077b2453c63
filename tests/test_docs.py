"""Examples that cannot rot (issue #33): every snippet of README.md and docs/ runs, docstring Examples run as doctests.

The convention for writers:

- A fenced block tagged ``python`` (or ``py``) or ``bash`` (``sh``, ``shell``, ``console``) in README.md or
  docs/**/*.md is executed: offline, in a fresh temporary working directory per Markdown file, the blocks of one file
  in order in one Python process, so the Python blocks share one namespace as in a reader's session. Bash blocks run
  with ``bash -euo pipefail`` in that directory, each in a new shell, with this venv's ``bin`` (``python``, ``yolo``)
  first on PATH. A block with ``$ `` prompts is a transcript: only the prompted lines (and their ``\\``
  continuations) run. A Python block whose first statement line starts with ``>>>`` runs as a doctest. Each block
  has SNIPPET_TIMEOUT seconds (YOLO_HYBRID_SNIPPET_TIMEOUT overrides it).
- A block whose opening fence is immediately preceded by the line ``<!-- not run: <reason> -->`` (a GPU, a long
  training, the network) is only syntax-checked: Python with compile(), Bash with ``bash -n``. The reason must not be
  empty; a comment that looks like that marker but is not exactly it (typo, blank line before the fence) fails.
- ``yaml``/``yml`` and ``toml`` blocks must parse; other blocks (``text``, ...) are not checked.

One test item per block, named ``file:line`` of its opening fence. The items of one file share a single run of that
file (up to its last selected block), also across pytest-xdist workers (a file lock, the pattern of the xdist docs).
A block that trains, validates, exports or benchmarks (and every later block of its file, which needs its state) is
marked ``slow``. One page: ``.venv/bin/python -m pytest tests/test_docs.py -k docs/training.md`` (or ``-k README.md``).

Why Sybil (pinned in requirements-dev.txt): it is the maintained tool that lexes Markdown fences (indented, in lists,
with any info string) and docstrings, and it leaves evaluation open, so Bash runs as well as Python (pytest-examples
only runs Python). Its own pytest plugin is not used: README.md lies outside ``testpaths`` and a shared namespace
per document breaks when xdist splits a file's items between workers; so Sybil parses and this module runs.

Docstring Examples (``>>>``) of yolo_hybrid/**/*.py run as doctests through Sybil's doctest parser and evaluator:
one item per docstring (``path:line:qualname``), a fresh copy of the module's globals each, as ``doctest`` does,
with ELLIPSIS on.
"""

from __future__ import annotations

import ast
import contextlib
import doctest
import importlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "snippets.md"
SNIPPET_TIMEOUT = int(os.environ.get("YOLO_HYBRID_SNIPPET_TIMEOUT", "120"))

PYTHON_TAGS = {"python", "py", "python3", "pycon"}
SHELL_TAGS = {"bash", "sh", "shell", "console"}
PARSE_TAGS = {"yaml": "yaml", "yml": "yaml", "toml": "toml"}
NOT_RUN = re.compile(r"<!-- not run:(?P<reason>.*)-->")
NOT_RUN_LOOKALIKE = re.compile(r"<!--.*not[\s_-]*run", re.IGNORECASE)
# trains, validates, exports, tunes or benchmarks: the block (and its file's later blocks) are marked slow
HEAVY = re.compile(
    r"\.(train|val|export|tune|benchmark)\(|\byolo\s+(\w+\s+)?(train|val|export|tune|benchmark)\b"
    r"|\bmode=(train|val|export|benchmark)\b|yolo-hybrid-bench|\byolo_hybrid\.bench\b"
)


def doc_files() -> list[Path]:
    """README.md and docs/**/*.md, as they are now."""
    return [p for p in (ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))) if p.is_file()]


def _rel(path: Path) -> str:
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


# --- Markdown: the blocks (Sybil's fence lexer) ---


@dataclass
class Snippet:
    path: Path
    line: int  # the opening fence, 1-based
    tag: str  # first word of the info string, lower case
    kind: str  # python | bash | yaml | toml
    raw: str  # the block's text as written (list/quote prefix removed)
    source: str  # what runs: the raw text, or a transcript's commands
    not_run: str | None = None  # the reason of a <!-- not run: ... --> marker
    marker_error: str | None = None
    doctest: bool = False  # a Python block in >>> form
    heavy: bool = False  # this or an earlier executed block of the file trains/exports
    index: int = -1  # position among the file's executed blocks

    @property
    def id(self) -> str:
        return f"{_rel(self.path)}:{self.line}"

    @property
    def executed(self) -> bool:
        return self.kind in ("python", "bash") and self.not_run is None and self.marker_error is None

    @property
    def body_line(self) -> int:
        return self.line + 1


def _transcript(text: str) -> str:
    """A ``$ ``-prompted transcript's commands (continuation lines kept), other lines blanked; else the text as is.
    Line numbers are kept, so Bash's ``line N`` points into the file."""
    lines = text.split("\n")
    if not any(line.startswith("$ ") or line == "$" for line in lines):
        return text
    out, continued = [], False
    for line in lines:
        if line.startswith("$ ") or line == "$":
            out.append(line[2:])
            continued = line.endswith("\\")
        elif continued:
            out.append(line)
            continued = line.endswith("\\")
        else:
            out.append("")
    return "\n".join(out)


def _is_doctest(text: str) -> bool:
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return stripped.startswith(">>>")
    return False


def collect_snippets(path: Path) -> list[Snippet]:
    """The checked fenced blocks of a Markdown file, in order."""
    from sybil import Document
    from sybil.parsers.markdown.lexers import FencedCodeBlockLexer

    document = Document(path.read_text(encoding="utf-8"), str(path))
    lines = document.text.split("\n")
    snippets, heavy = [], False
    regions = sorted(FencedCodeBlockLexer(language=r"[^\n]*")(document), key=lambda r: r.start)
    # Sybil's lexer also yields a fence shown inside a longer one (a ````markdown example of a block): not a block
    regions = [r for r in regions if not any(o.start < r.start and r.end <= o.end for o in regions if o is not r)]
    for region in regions:
        info = str(region.lexemes["language"]).strip().lower().lstrip("{.").split()
        tag = info[0].rstrip("}") if info else ""
        kind = "python" if tag in PYTHON_TAGS else "bash" if tag in SHELL_TAGS else PARSE_TAGS.get(tag)
        if kind is None:
            continue
        line = document.text.count("\n", 0, region.start) + 1
        raw = str(region.lexemes["source"])
        snippet = Snippet(path, line, tag, kind, raw, _transcript(raw) if kind == "bash" else raw)
        before = lines[line - 2] if line >= 2 else ""
        marker = NOT_RUN.fullmatch(before.strip())
        if marker:
            snippet.not_run = marker.group("reason").strip()
            if not snippet.not_run:
                snippet.marker_error = "its <!-- not run: <reason> --> marker gives no reason"
        else:
            previous = next((text for text in reversed(lines[: line - 1]) if text.strip()), "")
            if NOT_RUN_LOOKALIKE.search(previous):
                snippet.marker_error = (
                    f"{previous.strip()!r} before it is not a marker: write the line '<!-- not run: <reason> -->' "
                    "immediately before the opening fence"
                )
        snippet.doctest = kind == "python" and _is_doctest(raw)
        if snippet.executed:
            heavy = heavy or bool(HEAVY.search(snippet.source))
            snippet.heavy = heavy
            snippet.index = sum(s.executed for s in snippets)
        snippets.append(snippet)
    return snippets


# --- Running a file's executed blocks: one child process, in order ---


class _SnippetTimeout(BaseException):
    """Raised in a Python block when its time is up (BaseException: a block's ``except Exception`` keeps it)."""


class _Reported(Exception):
    """A failure whose message says it all (a doctest report, a shell's exit status): no runner traceback."""


def run_snippet_file(snippets: list[Snippet], workdir: Path, timeout: int = SNIPPET_TIMEOUT) -> dict[int, dict]:
    """Run ``snippets`` (executed blocks of one file, in order) in a child interpreter with ``workdir`` as its working
    directory; returns {fence line: {"status", "error", "output", "seconds"}}."""
    workdir.mkdir(parents=True, exist_ok=True)
    state = workdir.parent / f"{workdir.name}.runner"
    state.mkdir(exist_ok=True)
    results_file = state / "results.json"
    results_file.unlink(missing_ok=True)
    plan = {
        "path": str(snippets[0].path) if snippets else "",
        "timeout": timeout,
        "results": str(results_file),
        "logs": str(state),
        "snippets": [
            {"line": s.line, "body_line": s.body_line, "kind": s.kind, "source": s.source, "doctest": s.doctest}
            for s in snippets
        ],
    }
    plan_file = state / "plan.json"
    plan_file.write_text(json.dumps(plan))
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)  # the venv's bin (not resolved: python, yolo, pip of this venv)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env.setdefault("YOLO_OFFLINE", "1")  # tests/conftest.py already set it and a private YOLO_CONFIG_DIR
    env["MPLBACKEND"] = "Agg"
    env.pop("PYTEST_CURRENT_TEST", None)
    boot = (
        "import importlib.util, sys; spec = importlib.util.spec_from_file_location('_doc_snippets', sys.argv[1]); "
        "module = sys.modules['_doc_snippets'] = importlib.util.module_from_spec(spec); "
        "spec.loader.exec_module(module); module._drive(sys.argv[2])"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", boot, __file__, str(plan_file)],
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,  # a block that reads input fails at once instead of waiting for its timeout
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        text, _ = proc.communicate(timeout=timeout * len(snippets) + 60)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        text, _ = proc.communicate()
    done = {r["line"]: r for r in json.loads(results_file.read_text())} if results_file.exists() else {}
    for s in snippets:
        done.setdefault(
            s.line,
            {
                "status": "not reached",
                "error": f"the snippet runner stopped (exit status {proc.returncode}) before this block",
                "output": text[-4000:],
                "seconds": 0.0,
            },
        )
    return done


@contextlib.contextmanager
def _captured(log: Path):
    """Send file descriptors 1 and 2 (this process and its children) to ``log``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def _raise_timeout(signum, frame):
    raise _SnippetTimeout


def _run_python(snippet: dict, path: str, namespace: dict, timeout: int) -> None:
    signal.signal(signal.SIGALRM, _raise_timeout)
    signal.alarm(timeout)
    try:
        if snippet["doctest"]:
            test = doctest.DocTestParser().get_doctest(
                snippet["source"], namespace, f"{path}:{snippet['line']}", path, snippet["body_line"] - 1
            )
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
            report: list[str] = []
            runner.run(test, out=report.append, clear_globs=False)
            if runner.failures:
                raise _Reported("".join(report).strip("*\n"))
        else:
            # padded so that tracebacks give the Markdown file's line numbers
            code = compile("\n" * (snippet["body_line"] - 1) + snippet["source"], path, "exec")
            exec(code, namespace)
    finally:
        signal.alarm(0)


def _run_bash(snippet: dict, timeout: int) -> None:
    script = "\n" * (snippet["body_line"] - 1) + snippet["source"]  # Bash's "line N" is the file's line
    proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", script], start_new_session=True)
    try:
        status = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise _SnippetTimeout from None
    if status:
        raise _Reported(f"bash -euo pipefail exited with status {status}")


def _error_text(error: BaseException, path: str) -> str:
    """The traceback from the first frame in the Markdown file on (the runner's own frames left out)."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != path:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb or error.__traceback__))


_LOCAL_HOSTS = {None, "", "localhost", "127.0.0.1", "::1", "0.0.0.0"}


def _refuse_network(event: str, args: tuple) -> None:
    """Audit hook of the runner child: a Python block that reaches beyond this machine fails (bash blocks' own
    processes run with YOLO_OFFLINE=1 only)."""
    if event == "socket.getaddrinfo":
        host = args[0].decode() if isinstance(args[0], bytes) else args[0]
    elif event == "socket.connect" and isinstance(args[1], tuple):
        host = args[1][0]
    else:
        return
    if host not in _LOCAL_HOSTS:
        raise OSError(f"network access refused in a doc snippet (they run offline): {event} {host!r}")


def _drive(plan_file: str) -> None:
    """The child: run the plan's blocks in order, recording each one's outcome and output as it finishes."""
    plan = json.loads(Path(plan_file).read_text())
    sys.addaudithook(_refuse_network)
    path, timeout = plan["path"], plan["timeout"]
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    sys.argv = [""]  # as in an interactive session
    results = []
    for snippet in plan["snippets"]:
        log = Path(plan["logs"]) / f"{snippet['line']}.log"
        start = time.monotonic()
        status, error = "passed", ""
        with _captured(log):
            try:
                if snippet["kind"] == "python":
                    _run_python(snippet, path, namespace, timeout)
                else:
                    _run_bash(snippet, timeout)
            except _SnippetTimeout:
                status, error = "failed", f"timed out after {timeout} s"
            except SystemExit as e:
                if e.code not in (None, 0):
                    status, error = "failed", f"SystemExit({e.code!r})"
            except _Reported as e:
                status, error = "failed", str(e)
            except BaseException as e:  # noqa: B036  (a block's failure of any kind is its result)
                status, error = "failed", _error_text(e, path)
        output = log.read_text(errors="replace")
        results.append(
            {
                "line": snippet["line"],
                "status": status,
                "error": error,
                "output": output[-6000:],
                "seconds": round(time.monotonic() - start, 2),
            }
        )
        Path(plan["results"]).write_text(json.dumps(results))


# --- Checking one block ---


def _syntax_problem(snippet: Snippet) -> str | None:
    if snippet.kind == "python":
        try:
            if snippet.doctest:
                for example in doctest.DocTestParser().get_examples(snippet.source):
                    compile(example.source, snippet.id, "single")
            else:
                compile("\n" * (snippet.body_line - 1) + snippet.source, str(snippet.path), "exec")
        except SyntaxError as e:
            return "".join(traceback.format_exception_only(type(e), e))
        return None
    script = "\n" * (snippet.body_line - 1) + snippet.source
    proc = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, timeout=60)
    return None if proc.returncode == 0 else f"bash -n: {proc.stderr.strip()}"


def _parse_problem(snippet: Snippet) -> str | None:
    text = "\n" * (snippet.body_line - 1) + snippet.source  # the parser's line numbers are the file's
    try:
        if snippet.kind == "yaml":
            import yaml

            list(yaml.safe_load_all(text))
        else:
            tomllib = pytest.importorskip("tomllib")  # Python 3.11+
            tomllib.loads(text)
    except Exception as e:  # the parser's own error message, whatever its type
        return f"{snippet.kind} does not parse: {type(e).__name__}: {e}"
    return None


def snippet_problem(snippet: Snippet, results: dict[int, dict] | None) -> str | None:
    """Why ``snippet`` fails (None: it passes). ``results``: its file's run (run_snippet_file) for executed blocks."""
    if snippet.marker_error:
        return f"{snippet.id}: {snippet.marker_error}"
    if snippet.kind in ("yaml", "toml"):
        problem = _parse_problem(snippet)
    elif snippet.not_run is not None:
        problem = _syntax_problem(snippet)
        if problem:
            problem = f"not run ({snippet.not_run}), and its syntax is wrong:\n{problem}"
    else:
        result = results[snippet.line]
        if result["status"] == "passed":
            return None
        problem = f"{result['status']} ({result['seconds']} s): {result['error']}".rstrip()
        if result["output"].strip():
            problem += f"\n--- output (stdout and stderr, the end) ---\n{result['output'].rstrip()}"
    return f"{snippet.id} ({snippet.tag} block): {problem}" if problem else None


# --- The tests ---


@dataclass
class _Docstring:
    path: Path
    module: str
    line: int
    qualname: str
    examples: list = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{_rel(self.path)}:{self.line}:{self.qualname}"


def _docstring_spans(tree: ast.Module) -> list[tuple[int, int, str]]:
    spans = []

    def visit(node, prefix):
        body = getattr(node, "body", None)
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            if isinstance(body[0].value.value, str):
                spans.append((body[0].lineno, body[0].end_lineno, prefix or "<module>"))
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(child, f"{prefix}.{child.name}" if prefix else child.name)

    visit(tree, "")
    return spans


def docstring_examples() -> list[_Docstring]:
    """The ``>>>`` Examples of the package's docstrings, grouped by docstring (Sybil's doctest parser)."""
    from sybil.document import PythonDocStringDocument
    from sybil.parsers.rest import DocTestParser

    parser = DocTestParser(optionflags=doctest.ELLIPSIS)
    groups = []
    for path in sorted((ROOT / "yolo_hybrid").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if ">>>" not in text:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        spans = _docstring_spans(ast.parse(text))
        by_span: dict[tuple, _Docstring] = {}
        for example in PythonDocStringDocument.parse(str(path), parser).examples():
            span = next(s for s in spans if s[0] <= example.line <= s[1])
            group = by_span.setdefault(span, _Docstring(path, module, example.line, span[2]))
            group.examples.append(example)
        groups.extend(by_span.values())
    return groups


def pytest_generate_tests(metafunc):
    """Parametrized here (at collection, not import) so that the snippet runner child imports this module cheaply."""
    if "snippet" in metafunc.fixturenames:
        params = [
            pytest.param(s, id=s.id, marks=[pytest.mark.slow] if s.heavy else [])
            for path in doc_files()
            for s in collect_snippets(path)
        ]
        metafunc.parametrize("snippet", params)
    if "docstring" in metafunc.fixturenames:
        metafunc.parametrize("docstring", [pytest.param(d, id=d.id) for d in docstring_examples()])


class _FileRuns:
    """Each Markdown file run once per session, up to its last selected block; shared by xdist workers (a file
    lock and a JSON result beside the workers' temporary dirs)."""

    def __init__(self, session, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.memo: dict[tuple, dict] = {}
        self.upto: dict[Path, int] = {}
        for item in session.items:
            snippet = getattr(getattr(item, "callspec", None), "params", {}).get("snippet")
            if isinstance(snippet, Snippet) and snippet.executed:
                self.upto[snippet.path] = max(self.upto.get(snippet.path, -1), snippet.index)

    def _run(self, path: Path, upto: int) -> dict:
        snippets = [s for s in collect_snippets(path) if s.executed and s.index <= upto]
        workdir = self.tmp_path_factory.mktemp(f"snippets-{path.stem}")
        return run_snippet_file(snippets, workdir / "work")

    def results(self, path: Path) -> dict[int, dict]:
        upto = self.upto.get(path, -1)
        key = (path, upto)
        if key not in self.memo:
            if os.environ.get("PYTEST_XDIST_WORKER"):
                from filelock import FileLock  # a dependency of torch

                shared = self.tmp_path_factory.getbasetemp().parent / "doc-snippets"
                shared.mkdir(exist_ok=True)
                stored = shared / f"{_rel(path).replace('/', '__')}.{upto}.json"
                with FileLock(str(stored) + ".lock"):
                    if not stored.exists():
                        stored.write_text(json.dumps(self._run(path, upto)))
                    self.memo[key] = {int(k): v for k, v in json.loads(stored.read_text()).items()}
            else:
                self.memo[key] = self._run(path, upto)
        return self.memo[key]


@pytest.fixture(scope="session")
def file_runs(request, tmp_path_factory):
    return _FileRuns(request.session, tmp_path_factory)


def test_snippet(snippet: Snippet, request):
    """A block of README.md or docs/ runs (or, marked not run, parses); see the module docstring."""
    results = request.getfixturevalue("file_runs").results(snippet.path) if snippet.executed else None
    problem = snippet_problem(snippet, results)
    if problem:
        pytest.fail(problem, pytrace=False)


def test_docstring_examples(docstring: _Docstring, tmp_path, monkeypatch):
    """A docstring's ``>>>`` Examples give the output they show (a fresh copy of the module's globals each)."""
    from yolo_hybrid import registry

    monkeypatch.chdir(tmp_path)
    # blocks an example registers leave the registry afterwards (two examples define a Gate each)
    monkeypatch.setattr(registry, "_entries", dict(registry._entries))
    namespace = dict(vars(importlib.import_module(docstring.module)))
    for example in docstring.examples:
        example.document.pop_evaluator(example.document.import_document)  # imported above
        example.namespace = namespace
        example.evaluate()


# --- The harness itself: tests/data/snippets.md states each block's expected outcome in its first line ---


EXPECT = re.compile(r"#\s*expect:\s*(?P<outcome>pass|fail)\b\s*(?P<text>[^(\n]*)")


def test_harness_outcomes(tmp_path):
    """Every block of the fixture gets the outcome it states (``# expect: pass`` or ``# expect: fail <text in the
    message>``): passing Python and Bash blocks, a shared namespace and working directory, a failure that does not
    stop the later blocks, a timeout, transcripts, doctest blocks, not-run blocks only parsed (a syntax error fails),
    bad markers, YAML; and no other block is collected."""
    snippets = collect_snippets(FIXTURE)
    # one per "# expect:" line: not the text block, nor the block shown inside another fence
    assert len(snippets) == len(re.findall(r"^# expect:", FIXTURE.read_text(), re.MULTILINE))
    executed = [s for s in snippets if s.executed]
    results = run_snippet_file(executed, tmp_path / "work", timeout=5)
    assert (tmp_path / "work" / "from_python.txt").read_text() == "hello"  # the blocks ran in the temp dir
    outcomes = {}
    for s in snippets:
        expect = EXPECT.search(s.raw)
        assert expect, f"{s.id}: no '# expect:' line"
        problem = snippet_problem(s, results)
        outcomes[s.id] = "pass" if problem is None else "fail"
        assert outcomes[s.id] == expect.group("outcome"), f"{s.id}: expected {expect.group('outcome')}, got {problem}"
        if problem:
            assert s.id in problem
            assert expect.group("text").strip() in problem, problem
    assert sorted(set(outcomes.values())) == ["fail", "pass"]
    assert {s.kind for s in snippets} == {"python", "bash", "yaml"}
    # a failure points at the Markdown line that raised, with the block's output
    raising = next(s for s in snippets if 'raise ValueError("boom")' in s.raw)
    line = raising.body_line + raising.raw.split("\n").index('raise ValueError("boom")')
    problem = snippet_problem(raising, results)
    assert f'File "{FIXTURE}", line {line}' in problem and "printed before the error" in problem, problem
    # the not-run block that would fail if run was never run
    assert not (tmp_path / "work" / "not_run_ran.txt").exists()


def test_doc_files_collected():
    """README.md is checked, and the doc snippets' ids are file:line."""
    snippets = [s for path in doc_files() for s in collect_snippets(path)]
    assert any(s.path.name == "README.md" for s in snippets)
    assert all(re.fullmatch(r"[\w./-]+\.md:\d+", s.id) for s in snippets)
