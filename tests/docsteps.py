"""The runnable steps of a docs page: fenced blocks marked ``<!-- run: NAME -->``.

A page that walks a reader through shell commands and Python (docs/mtls.md's openssl recipe,
docs/first-hour.md) marks each step; the tests run the steps of one NAME in order, in one
scratch directory, exactly as written: ``sh`` blocks with ``bash -eu -o pipefail``, ``python``
blocks with the interpreter running the tests. Ports the page names can be replaced by free
ones, so two runs never collide. Processes a step leaves running in the background are
stopped, by process group, when the walk ends.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEP_TIMEOUT = 120.0
_STEP = re.compile(r"^<!-- run: ([\w-]+) -->\n```(sh|python)\n(.*?)^```", re.S | re.M)


@dataclass(frozen=True)
class Step:
    kind: str  # "sh" or "python"
    code: str


def steps(page: Path, name: str) -> list[Step]:
    """The steps marked ``name`` on ``page``, in page order."""
    found = [Step(kind, code) for n, kind, code in _STEP.findall(page.read_text()) if n == name]
    assert found, f"{page.name} has no steps marked 'run: {name}'"
    return found


def names(page: Path) -> list[str]:
    return sorted({n for n, _, _ in _STEP.findall(page.read_text())})


class Walk:
    """Runs steps in ``directory``; a context manager that stops what the steps started."""

    def __init__(self, directory: Path, *, ports: Mapping[int, int] | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.directory = directory
        self.ports = dict(ports or {})
        self.env = {**os.environ, **(env or {})}
        self.groups: list[int] = []
        self.outputs: list[str] = []

    def __enter__(self) -> Walk:
        return self

    def __exit__(self, *exc: object) -> None:
        for group in reversed(self.groups):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGTERM)

    def code(self, step: Step) -> str:
        text = step.code
        for documented, actual in self.ports.items():
            text = re.sub(rf"\b{documented}\b", str(actual), text)
        return text

    def run(self, step: Step) -> str:
        code = self.code(step)
        argv = (["bash", "-eu", "-o", "pipefail", "-c", code] if step.kind == "sh"
                else [sys.executable, "-c", code])
        proc = subprocess.Popen(argv, cwd=self.directory, env=self.env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        # A step may leave a server running in the background: it stays in this session's
        # process group, which __exit__ stops.
        self.groups.append(proc.pid)
        try:
            out, _ = proc.communicate(timeout=STEP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"step timed out after {STEP_TIMEOUT}s:\n{code}") from None
        self.outputs.append(out)
        assert proc.returncode == 0, (
            f"step failed ({proc.returncode}):\n{code}\n--- output ---\n{out}"
        )
        return out

    def run_all(self, page: Path, name: str) -> Iterator[tuple[Step, str]]:
        for step in steps(page, name):
            yield step, self.run(step)
