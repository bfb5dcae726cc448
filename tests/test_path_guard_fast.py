"""The path guard's fast path decides exactly as the full matcher (clientauth._http).

``PathMatcher`` reads every plausible spelling of a request path (tests/test_path_guard.py);
that costs microseconds per request. Plain paths -- ASCII, starting with ``/``, without
``%``, ``//``, ``/.``, ``;`` or ``\\`` -- have one reading, and a cheaper check. These tests
generate requests (mostly near the prefixes, with every special character mixed in) and
require the fast decision to equal the full one whenever the fast path takes the request,
for ASGI scopes, WSGI environs and plain calls, and that the common requests do take it.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from clientauth._http import PathMatcher

PREFIX_SETS = [
    ["/token"],
    ["/api/admin"],
    ["/oauth/token/", "/a"],
    ["/Token", "/x/y/z"],
]
MATCHERS = [PathMatcher(p) for p in PREFIX_SETS]

# Mostly the prefixes' own segments (so that matches, near misses and matches spanning a
# root path are frequent), plus what a router decodes, resolves or strips.
_COMMON = ["token", "TOKEN", "tokens", "api", "admin", "oauth", "a", "x", "y", "z", "", ".",
           ".."]
_SPECIAL = ["app", ".token", "token.", "to%6ben", "%2e%2e", "%2F", "%252F", "t;p=1", "a\\b",
            "\u00e9", "tok\u0130", "v1.2", "?q", "#f", " ", "%", "%zz", "x%2Fy", "token;v=1",
            "admin;", "to\u212aen", "to\xe2\x84\xaaen"]  # Kelvin sign: lower-cases to "k"
SEGMENTS = st.sampled_from(_COMMON * 4 + _SPECIAL)
PATHS = st.one_of(
    st.lists(SEGMENTS, max_size=6).map(lambda segs: "/" + "/".join(segs)),
    st.lists(SEGMENTS, max_size=4).map("/".join),
    st.text(alphabet="/aAtokenTOKEN.%2Fe;\\?\u00e9", max_size=20),
)
ROOTS = st.one_of(st.just(""), st.sampled_from(["/", "/app", "/app/", "/oauth", "/api/",
                                                "/a%2F", "/x/.", "//a", "/x/y"]), PATHS)


@st.composite
def scopes(draw: Any) -> dict[str, Any]:
    path = draw(PATHS)
    raw_kind = draw(st.sampled_from(["none", "same", "query", "other"]))
    raw: bytes | None = None
    if raw_kind == "same":
        raw = path.encode("utf-8")
    elif raw_kind == "query":
        raw = path.encode("utf-8") + b"?x=" + draw(PATHS).encode("utf-8")
    elif raw_kind == "other":
        raw = draw(PATHS).encode("utf-8")
    root = draw(ROOTS)
    if draw(st.booleans()) and root and not path.startswith(root):
        path = root.rstrip("/") + path  # servers that put root_path into path
        if raw is not None:
            raw = root.encode("utf-8") + raw
    scope: dict[str, Any] = {"type": "http", "path": path, "root_path": root}
    if raw is not None:
        scope["raw_path"] = raw
    return scope


@settings(max_examples=1500, deadline=None)
@given(scope=scopes(), index=st.integers(0, len(MATCHERS) - 1))
@example(scope={"path": "/oauth/x", "raw_path": b"/oauth/x", "root_path": "/oauth"}, index=2)
@example(scope={"path": "/oauth/x", "raw_path": b"/oauth/x", "root_path": "/oauth"}, index=0)
@example(scope={"path": "/a/token", "raw_path": b"/a/TOKEN?x", "root_path": ""}, index=0)
@example(scope={"path": "/x/y", "raw_path": b"/z/q", "root_path": "/"}, index=3)
@example(scope={"path": "/token", "raw_path": b"/token", "root_path": "/oauth"}, index=2)
@example(scope={"path": "/z", "raw_path": b"/q", "root_path": "/x/y"}, index=3)
@example(scope={"path": "/api/./admin", "root_path": ""}, index=1)
@example(scope={"path": "/api/x/../admin", "root_path": ""}, index=1)
@example(scope={"path": "/x", "raw_path": b"/to%6ben", "root_path": ""}, index=0)
@example(scope={"path": "/token;v=1", "root_path": ""}, index=0)
@example(scope={"path": "/to\xe2\x84\xaaen", "root_path": ""}, index=0)
@example(scope={"path": "/x", "raw_path": b"/api/./admin?q", "root_path": ""}, index=1)
def test_scope_fast_equals_full(scope: dict[str, Any], index: int) -> None:
    """Whenever the fast path decides an ASGI scope, it decides as the full matcher; and
    guards_scope (fast path on) always equals the full matcher (fast path off)."""
    matcher = MATCHERS[index]
    full = matcher._full_scope(scope, fast=False)
    fast = matcher._fast_scope(scope)
    if fast is not None:
        assert fast == full, (scope, PREFIX_SETS[index])
    assert matcher.guards_scope(scope) == full, (scope, PREFIX_SETS[index])


@settings(max_examples=1000, deadline=None)
@given(script=ROOTS, path=PATHS, uri=st.one_of(st.none(), PATHS),
       index=st.integers(0, len(MATCHERS) - 1))
def test_environ_fast_equals_full(script: str, path: str, uri: str | None, index: int) -> None:
    """guards_environ (fast path on) equals the full matcher for WSGI environs."""
    matcher = MATCHERS[index]
    environ: dict[str, Any] = {"SCRIPT_NAME": script, "PATH_INFO": path}
    if uri is not None:
        environ["REQUEST_URI"] = uri + "?q=1"
    assert matcher.guards_environ(environ) == matcher._full_environ(environ, fast=False)


@settings(max_examples=1000, deadline=None)
@given(paths=st.lists(PATHS, min_size=1, max_size=3), index=st.integers(0, len(MATCHERS) - 1))
def test_call_fast_equals_full(paths: list[str], index: int) -> None:
    """PathMatcher(paths)(*readings), as the Django integration calls it, equals the full
    matcher."""
    matcher = MATCHERS[index]
    assert matcher(*paths) == matcher._check(paths, fast=False)


def test_common_requests_take_the_fast_path() -> None:
    """Ordinary requests (plain path, raw_path the same or with a query, plain or empty
    root_path) are decided by the fast path; a path needing decoding is not."""
    matcher = PathMatcher(["/token"])
    common = [
        {"path": "/api/v1/items/42", "raw_path": b"/api/v1/items/42", "root_path": ""},
        {"path": "/oauth/token", "raw_path": b"/oauth/token?x=1", "root_path": ""},
        {"path": "/app/static/app.v2.js", "raw_path": b"/app/static/app.v2.js",
         "root_path": "/app"},
        {"path": "/health"},
    ]
    assert [matcher._fast_scope(s) for s in common] == [False, True, False, False]
    assert matcher._fast_scope({"path": "/to%6ben", "raw_path": b"/to%6ben"}) is None
    assert matcher._fast_scope({"path": "/a/./token", "root_path": ""}) is None
