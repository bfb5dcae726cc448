"""Shared fixtures. Certificates come from tests/certs.py, relative to the fixed clock NOW."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from certs import NOW, Pki, clock


@pytest.fixture(scope="session")
def pki() -> Pki:
    """One root + intermediate for the whole session (key generation is the slow part)."""
    return Pki.create()


@pytest.fixture
def now():  # type: ignore[no-untyped-def]
    """The injected clock: a callable returning the tests' fixed NOW."""
    return clock(NOW)
