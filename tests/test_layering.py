"""Imports point one way (docs/design.md, "The data flow"): the resource-server mode and the
shared HTTP helpers do not depend on the authorization-server authenticator, and reading the
presented certificates lives beside the request (issue 17 item 5)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import clientauth
from clientauth import authenticator

SRC = Path(clientauth.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    """Every module a source file imports, at any level (lazy imports included), as
    written relative to the package (``.authenticator`` -> ``authenticator``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            found.add(module.removeprefix("clientauth.") if node.level == 0 else module)
        elif isinstance(node, ast.Import):
            found.update(alias.name.removeprefix("clientauth.") for alias in node.names)
    return found


@pytest.mark.parametrize("module", ["resource.py", "_http.py", "_presented.py", "request.py"])
def test_does_not_import_the_authenticator(module: str) -> None:
    """Modules below the authenticator never import it, not even lazily."""
    path = SRC / module
    assert path.exists(), module
    assert "authenticator" not in _imported_modules(path)


def test_presented_chain_keeps_its_old_import_path() -> None:
    """PresentedChain and read_certificates moved to clientauth._presented; the old import
    path names the very same objects, and neither is public API."""
    _presented = importlib.import_module("clientauth._presented")
    assert authenticator.PresentedChain is _presented.PresentedChain
    assert authenticator.read_certificates is _presented.read_certificates
    assert not {"PresentedChain", "read_certificates"} & set(clientauth.__all__)
