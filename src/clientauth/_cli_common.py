"""The former name of :mod:`clientauth.cli._common`, kept working: importing it binds this
name to that very module object (not a copy), so an import or a ``monkeypatch`` through either
name reaches the same functions and settings."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from .cli import _common as _module

if TYPE_CHECKING:
    from .cli._common import *  # noqa: F403 - what type checkers see under the old name

sys.modules[__name__] = _module
