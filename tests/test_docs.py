"""Every Python code block in README.md and docs/ runs, and every example in examples/ runs.

Blocks of one page share a namespace, in order, as a reader would paste them.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.py"))
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
# Blocks marked "<!-- run: NAME -->" run in a scratch directory, in order with the page's
# shell steps, in tests/test_docs_steps.py; here they would run without the files they read.
_STEPS = re.compile(r"^<!-- run: [\w-]+ -->\n```python\n.*?^```", re.S | re.M)


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """A page may configure logging as a reader would (docs/observability.md: dictConfig,
    ``propagate: False`` on ``clientauth.audit``); later tests must see the logging they had."""
    manager = logging.Logger.manager
    loggers = [logging.getLogger(), *(v for v in manager.loggerDict.values()
                                      if isinstance(v, logging.Logger))]
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate, lg.disabled) for lg in loggers]
    known = set(manager.loggerDict)
    yield
    for lg, handlers, level, propagate, disabled in saved:
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate
        lg.disabled = disabled
    for name in set(manager.loggerDict) - known:
        added = manager.loggerDict[name]
        if isinstance(added, logging.Logger):
            added.handlers.clear()
            added.propagate = True
            added.setLevel(logging.NOTSET)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_code_blocks_run(page: Path) -> None:
    """Each ```python block of the page executes without error."""
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for i, block in enumerate(_BLOCK.findall(_STEPS.sub("", page.read_text()))):
        try:
            exec(compile(block, f"{page.name}[block {i}]", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"{page.name} block {i} failed: {exc!r}\n{block}") from exc


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_run(example: Path) -> None:
    """Each example script runs to completion as `python examples/NAME.py`."""
    proc = subprocess.run([sys.executable, str(example)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_readme_starts_with_two_commands() -> None:
    """README.md opens with exactly the two set-up commands; .ci/run runs the second."""
    text = (ROOT / "README.md").read_text()
    first = _first_block(text)
    assert first == ["python3 -m pip install -e . && python3 -m clientauth demo",
                     "bash scripts/test"]
    assert "bash scripts/test" in (ROOT / ".ci" / "run").read_text()


def test_mkdocs_nav_matches_pages() -> None:
    """Every page in mkdocs.yml exists, and every docs page is in the nav."""
    nav = set(re.findall(r":\s*(\S+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), re.M))
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert nav == pages


def _first_block(text: str) -> list[str]:
    match = re.search(r"```sh\n(.*?)```", text, re.S)
    assert match, "no ```sh block in README.md"
    return [line for line in match.group(1).splitlines() if line.strip()]



def test_mkdocs_builds_strict(tmp_path: Path) -> None:
    """`mkdocs build --strict` succeeds: no broken links, the API reference renders."""
    pytest.importorskip("mkdocstrings", reason="docs extra not installed (pip install -e .[docs])")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "site" / "reference" / "index.html").exists()
