"""The package layout (issue 17 item 6): registries in ``clientauth.registry``, the command
line and the demo in ``clientauth.cli``; every former import path still names the very same
module object, so imports and ``monkeypatch`` through either name reach the same code."""

from __future__ import annotations

import importlib
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

import clientauth

MOVED = {
    "clientauth.registry_file": "clientauth.registry.file",
    "clientauth.registry_sql": "clientauth.registry.sql",
    "clientauth._cli_clients": "clientauth.cli._clients",
    "clientauth._cli_common": "clientauth.cli._common",
    "clientauth._demo": "clientauth.cli._demo",
    "clientauth._terminal": "clientauth.cli._terminal",
}


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_old_name_is_the_same_module(old: str, new: str) -> None:
    """The old module name is an alias of the new module, not a re-exporting copy: a
    monkeypatch through the old name changes what the new module's code sees."""
    module = importlib.import_module(new)
    assert importlib.import_module(old) is module
    assert sys.modules[old] is module
    parent, _, leaf = old.rpartition(".")
    assert getattr(importlib.import_module(parent), leaf) is module


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_old_name_first_in_a_fresh_process(old: str, new: str) -> None:
    """Importing the old name before the new one (a fresh interpreter) gives one module."""
    code = (f"import importlib, sys; a = importlib.import_module({old!r}); "
            f"b = importlib.import_module({new!r}); sys.exit(0 if a is b else 1)")
    assert subprocess.run([sys.executable, "-c", code], check=False, timeout=60).returncode == 0


def test_public_names_unchanged() -> None:
    """The registries and the CLI entry point are importable where users import them from."""
    from clientauth.cli import main
    from clientauth.clients import MemoryRegistry
    from clientauth.registry_file import FileRegistry
    from clientauth.registry_sql import SQLRegistry

    assert clientauth.FileRegistry is FileRegistry
    assert clientauth.MemoryRegistry is MemoryRegistry
    assert SQLRegistry.__module__ == "clientauth.registry.sql"
    assert callable(main)


def test_console_script_and_module_run() -> None:
    """The ``clientauth`` console script still points at clientauth.cli:main, and
    ``python -m clientauth`` runs the same command."""
    (script,) = (e for e in entry_points(group="console_scripts") if e.name == "clientauth")
    assert script.value == "clientauth.cli:main"
    from clientauth.cli import main

    assert script.load() is main
    run = subprocess.run([sys.executable, "-m", "clientauth", "--version"], check=False,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0
    assert run.stdout.startswith("clientauth ")
