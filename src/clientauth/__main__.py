"""python -m clientauth"""

from __future__ import annotations

from clientauth.cli import main

raise SystemExit(main())
