#!/usr/bin/env bash
# Audit the project's installed dependency set for known vulnerabilities (pip-audit).
#
#   bash .ci/pip_audit.sh
#
# The set audited is clientauth's runtime dependencies and everything they pull in (resolved
# from the installed distributions, pinned to their installed versions), plus the optional
# hashers; the advisory source is pip-audit's default, the PyPI JSON API ("vulnerabilities").
# Offline-safe: if the advisory service cannot be reached the audit is SKIPPED (exit 0) with
# the reason. Any known vulnerability -> exit 1.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

if ! "$PYTHON" -m pip_audit --version >/dev/null 2>&1; then
  "$PYTHON" -m pip install -q pip-audit >/dev/null 2>&1 || {
    echo "SKIPPED: pip-audit not installed and cannot be installed (package index unreachable)"
    exit 0
  }
fi

requirements="$(mktemp)"
log="$(mktemp)"
trap 'rm -f "$requirements" "$log"' EXIT

# clientauth's dependency closure, pinned to what is installed.
"$PYTHON" - "$requirements" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, distribution
from packaging.requirements import Requirement

roots = ["clientauth", "argon2-cffi", "bcrypt"]
seen, pins, todo = set(), [], list(roots)
while todo:
    name = todo.pop()
    key = name.lower().replace("_", "-")
    if key in seen:
        continue
    seen.add(key)
    try:
        dist = distribution(name)
    except PackageNotFoundError:
        continue
    if key != "clientauth":
        pins.append(f"{dist.metadata['Name']}=={dist.version}")
    for raw in dist.requires or []:
        req = Requirement(raw)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            todo.append(req.name)
with open(sys.argv[1], "w") as fh:
    fh.write("\n".join(sorted(pins)) + "\n")
PY
echo "auditing $(wc -l < "$requirements") pinned distributions:" $(tr '\n' ' ' < "$requirements")

"$PYTHON" -m pip_audit --requirement "$requirements" --no-deps --disable-pip --progress-spinner off \
  --timeout 30 >"$log" 2>&1
status=$?
cat "$log"
pinned=$(grep -c . "$requirements")
unaudited=$(grep -c "could not be audited" "$log")
if [ "$status" -eq 0 ]; then
  # pip-audit reports "No known vulnerabilities found" even when it could look nothing up
  # (the JSON API answers 404 through a mirror): that is not a pass.
  if [ "$unaudited" -ge "$pinned" ]; then
    echo "SKIPPED: advisory database unreachable (no advisories for any of $pinned distributions: the PyPI JSON API is not reachable from here)"
    exit 0
  fi
  if [ "$unaudited" -gt 0 ]; then
    echo "WARNING: $unaudited of $pinned distributions could not be audited"
  fi
  echo "pip-audit: no known vulnerabilities in $((pinned - unaudited)) audited distributions"
  exit 0
fi
if grep -qiE "connection|timed out|timeout|name resolution|network|unreachable|ssl|max retries|proxy" "$log" \
   && ! grep -qE "^Found [0-9]+ known vulnerabilit" "$log"; then
  reason="$(grep -iE "connection|timed out|timeout|resolution|network|unreachable|ssl|retries|proxy" "$log" | head -1 | cut -c1-200)"
  echo "SKIPPED: advisory database unreachable (${reason})"
  exit 0
fi
echo "pip-audit: vulnerabilities found (or audit error), see above"
exit 1
