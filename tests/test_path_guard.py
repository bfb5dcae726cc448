"""The adapters' path guard (``paths=[...]``) against every reading a router may make of a path.

The mounted-app tests with real frameworks are in tests/integration/test_mounts.py; here the
matcher itself, against an independent lenient reading (``posixpath.normpath`` after repeated
percent-decoding), on generated paths.
"""

from __future__ import annotations

import posixpath
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clientauth import ConfigurationError
from clientauth._http import PathMatcher

TOKEN = PathMatcher(["/token"])
OAUTH_TOKEN = PathMatcher(["/oauth/token/"])


class TestConfiguration:
    @pytest.mark.parametrize("prefix", [
        "token", "/a/../b", "/a/./b", "/a//b", "/a%2Fb", "/a;b", "/a?b", "/a#b", "/a\\b",
        "/a b", "/\u00e9", "/a\x00",
    ])
    def test_prefixes_that_cannot_be_matched_safely_are_refused(self, prefix: str) -> None:
        """A prefix routers may read differently is a configuration error, raised at once."""
        with pytest.raises(ConfigurationError):
            PathMatcher([prefix])

    def test_root_and_none_guard_everything(self) -> None:
        """`paths=None` and the prefix '/' guard every request, whatever its path."""
        for matcher in (PathMatcher(None), PathMatcher(["/"])):
            assert matcher.guards_scope({"path": "/anything"})
            assert matcher.guards_environ({"PATH_INFO": "/x"})


class TestMatching:
    @pytest.mark.parametrize("path", [
        "/token", "/token/", "/token/x", "/oauth/token", "/api/oauth/token", "/TOKEN",
        "//token", "/./token", "/x/../token", "/token;jsessionid=1", "/%74oken",
        "/oauth%2Ftoken", "/%252Ftoken", "\\token", "/to\u212aen",
    ])
    def test_guarded(self, path: str) -> None:
        """Every spelling in which 'token' is a whole segment is guarded."""
        assert TOKEN(path)

    @pytest.mark.parametrize("path", ["/", "/tokens", "/tok", "/x/tokenx/y", "/health",
                                      "/to/ken"])
    def test_not_guarded(self, path: str) -> None:
        """Segments are compared whole: '/token' does not guard '/tokens'."""
        assert not TOKEN(path)

    def test_unreadable_paths_are_guarded(self) -> None:
        """A path too long to read whole, or still percent-encoded after the decoding rounds,
        is guarded (fail closed)."""
        assert TOKEN("/" + "a/" * 9000 + "x")
        assert TOKEN("/%2525252574oken")
        assert not TOKEN("/%25zz")

    def test_multi_segment_prefix(self) -> None:
        """'/oauth/token/' guards the two segments together, anywhere, in any spelling."""
        assert OAUTH_TOKEN("/oauth/token")
        assert OAUTH_TOKEN("/api/OAUTH//./token/")
        assert OAUTH_TOKEN("/oauth/x/../token")
        assert not OAUTH_TOKEN("/oauth/x/token")
        assert not OAUTH_TOKEN("/token")

    def test_scope_readings(self) -> None:
        """ASGI: path, root_path + path, and raw_path are all read; an unreadable scope is
        guarded (fail closed)."""
        assert TOKEN.guards_scope({"path": "/api/token", "root_path": "/api"})
        assert TOKEN.guards_scope({"path": "/token", "root_path": "/api"})
        assert TOKEN.guards_scope({"path": "/other", "raw_path": b"/%74oken"})
        assert not TOKEN.guards_scope({"path": "/other", "root_path": "/api",
                                       "raw_path": b"/api/other?token"})
        for scope in ({}, {"path": b"/x"}, {"path": "/x", "root_path": 1},
                      {"path": "/x", "raw_path": "/x"}):
            assert TOKEN.guards_scope(scope), scope

    def test_environ_readings(self) -> None:
        """WSGI: SCRIPT_NAME + PATH_INFO and the raw request URI servers keep."""
        assert OAUTH_TOKEN.guards_environ({"SCRIPT_NAME": "/oauth", "PATH_INFO": "/token"})
        assert TOKEN.guards_environ({"SCRIPT_NAME": "", "PATH_INFO": "/x",
                                     "REQUEST_URI": "/token?a=b"})
        assert TOKEN.guards_environ({"PATH_INFO": "/x", "RAW_URI": "/a/%2e%2e/token"})
        assert not TOKEN.guards_environ({"PATH_INFO": "/x", "REQUEST_URI": "/x?token"})
        assert TOKEN.guards_environ({"PATH_INFO": b"/x"})


def _lenient_segments(path: str) -> list[str]:
    """An independent lenient router: decode thrice, '\\' is '/', lower-case, drop ;params,
    normalise with posixpath."""
    for _ in range(3):
        path = unquote(path)
    path = path.replace("\\", "/").lower()
    path = "/".join(seg.partition(";")[0] for seg in path.split("/"))
    return [seg for seg in posixpath.normpath("/" + path).split("/") if seg]


PATHS = st.lists(
    st.sampled_from(["token", "TOKEN", "oauth", "x", "", ".", "..", "%2e", "%2F", "%74oken",
                     "tok", "en", "token;a", "%252F", "\\", "tokens", "%2e%2e"]),
    max_size=8,
).map(lambda segs: "/" + "/".join(segs))


@settings(max_examples=400, deadline=None)
@given(path=PATHS, extra=st.sampled_from(["", "/api", "/oauth"]))
def test_lenient_router_never_outruns_the_guard(path: str, extra: str) -> None:
    """Whenever a lenient router, with or without a mount prefix stripped, would route the
    path to a 'token' or 'oauth/token' endpoint, the guard matches it."""
    for matcher, route in ((TOKEN, ["token"]), (OAUTH_TOKEN, ["oauth", "token"])):
        segments = _lenient_segments(extra + path)
        routed = any(segments[i:i + len(route)] == route for i in range(len(segments)))
        if routed:
            scope: dict[str, Any] = {"path": unquote(extra + path), "root_path": extra,
                                     "raw_path": (extra + path).encode()}
            assert matcher.guards_scope(scope), (extra, path)
            assert matcher.guards_environ({"SCRIPT_NAME": extra,
                                           "PATH_INFO": unquote(path, "latin-1")}), (extra, path)
