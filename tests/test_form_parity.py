"""Issue 11, finding 7 and its class: what the application reads from a form body, clientauth
has read -- or refused the request.

A differential test: generated ``application/x-www-form-urlencoded`` bodies and Content-Type
values are parsed by Starlette's form parser (python-multipart, what FastAPI's
``request.form()`` returns), Werkzeug's (Flask's ``request.form``), Django's ``request.POST``,
and by clientauth (``_http.parse_form``, what every adapter uses). Whenever clientauth accepts
a body, each framework must see exactly the same values for ``client_id``,
``client_secret``, ``client_assertion`` and ``client_assertion_type``; a body a framework
reads differently must have been refused by clientauth (a 400 ``invalid_request``, never "no
form"). A framework that refuses a body itself (too many fields) constrains nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from clientauth import CredentialsError
from clientauth._http import is_form, parse_form

Parsed = dict[str, list[str]] | None  # None: the framework does not read a form at all

# RFC 6749 2.3.1 and RFC 7521 4.2: the parameters that say who the client is.
CREDENTIAL_PARAMETERS = ("client_id", "client_secret", "client_assertion",
                         "client_assertion_type")


def starlette_form(body: bytes, content_type: str) -> Parsed:
    from starlette.requests import Request

    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"",
             "headers": [(b"content-type", content_type.encode("latin-1")),
                         (b"content-length", str(len(body)).encode())]}
    sent = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return sent.pop() if sent else {"type": "http.disconnect"}

    async def read() -> Parsed:
        form = await Request(scope, receive).form()
        return {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}

    return asyncio.run(read())


def werkzeug_form(body: bytes, content_type: str) -> Parsed:
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    environ = EnvironBuilder(method="POST", data=body, content_type=content_type).get_environ()
    form = Request(environ).form
    return {k: form.getlist(k) for k in form}


def django_form(body: bytes, content_type: str) -> Parsed:
    _django_setup()
    from django.test import RequestFactory

    request = RequestFactory().generic("POST", "/", data=body, content_type=content_type)
    return {k: request.POST.getlist(k) for k in request.POST}


def _django_setup() -> None:
    import django
    from django.conf import settings as django_settings

    if not django_settings.configured:
        django_settings.configure(
            DEBUG=False, ALLOWED_HOSTS=["testserver", "localhost"],
            SECRET_KEY="clientauth-tests-only", ROOT_URLCONF=None,
            MIDDLEWARE=["clientauth.integrations.django.ClientAuthMiddleware"],
            INSTALLED_APPS=[], DATABASES={},
        )
        django.setup()


FRAMEWORKS: dict[str, Callable[[bytes, str], Parsed]] = {
    "starlette": starlette_form, "werkzeug": werkzeug_form, "django": django_form,
}


def clientauth_form(body: bytes, content_type: str) -> Parsed | CredentialsError:
    if not is_form(content_type):
        return None
    try:
        return parse_form(body, content_type)
    except CredentialsError as exc:
        return exc


def disagreements(body: bytes, content_type: str) -> list[str]:
    """What some framework reads differently from what clientauth accepted."""
    ours = clientauth_form(body, content_type)
    if isinstance(ours, CredentialsError):
        return []  # refused: nothing was authenticated on this body
    problems = []
    for label, parse in FRAMEWORKS.items():
        try:
            theirs = parse(body, content_type)
        except Exception:
            continue
        for name in CREDENTIAL_PARAMETERS:
            mine = (ours or {}).get(name, [])
            seen = (theirs or {}).get(name, [])
            if seen != mine:
                problems.append(f"{label}: {name}={seen!r}, clientauth read {mine!r}")
    return problems


KEYS = st.sampled_from([
    b"client_id", b"client_id", b"client_secret", b"client_assertion",
    b"client_assertion_type", b"client%5Fid", b"client_i%64", b"CLIENT_ID", b"client_id ",
    b"client+id", b"\xef\xbb\xbfclient_id", b"x", b"", b"grant_type", b"z;client_id",
])
VALUE_PARTS = st.sampled_from([
    b"a", b"b", b"+", b" ", b"%", b"%2", b"%zz", b"%FF", b"%C3%A9", b"%E9", b"%26", b"%3D",
    b"%3B", b";", b";client_id=b", b"=", b"\xe9", b"\xc3\xa9", b"%00", b"\x00", b"%20",
    b"%2B", b"\r\n", b"\xff\xfe", b"\xef\xbb\xbf", b"&client_id=b",
])
FIELDS = st.tuples(KEYS, st.sampled_from([b"=", b"=", b""]),
                   st.lists(VALUE_PARTS, max_size=4).map(b"".join)).map(b"".join)
BODIES = st.builds(
    lambda fields, sep, lead: lead + sep.join(fields),
    st.lists(FIELDS, max_size=6),
    st.sampled_from([b"&", b"&", b";", b"&&", b"&;"]),
    st.sampled_from([b"", b"", b"&", b"\xef\xbb\xbf"]),
)
CONTENT_TYPES = st.sampled_from([
    "application/x-www-form-urlencoded",
    "APPLICATION/X-WWW-FORM-URLENCODED",
    "application/x-www-form-urlencoded; charset=utf-8",
    'application/x-www-form-urlencoded; charset="UTF-8"',
    "application/x-www-form-urlencoded; charset=ISO-8859-1",
    "application/x-www-form-urlencoded; charset=utf-16",
    "application/x-www-form-urlencoded; charset=utf-7",
    "application/x-www-form-urlencoded; charset=bogus",
    "application/x-www-form-urlencoded;charset=latin-1;charset=utf-8",
    " application/x-www-form-urlencoded ",
    "application/x-www-form-urlencoded\t; foo=bar",
])


@settings(max_examples=600, deadline=None)
@given(body=BODIES, content_type=CONTENT_TYPES)
@example(body=b"client_id=a&x=%FF", content_type="application/x-www-form-urlencoded")
@example(body=b"client_id=a&z=;client_id=b", content_type="application/x-www-form-urlencoded")
@example(body=b"client_id=%C3%A9",
         content_type="application/x-www-form-urlencoded; charset=latin-1")
@example(body="client_id=a".encode("utf-16-le"),
         content_type="application/x-www-form-urlencoded; charset=utf-16")
@example(body=b"client_id=a+AGI-", content_type="application/x-www-form-urlencoded; charset=utf-7")
def test_frameworks_read_what_clientauth_read(body: bytes, content_type: str) -> None:
    """Generated bodies: whenever clientauth accepts one, Starlette, Werkzeug and Django read
    the same credential parameters from it."""
    assert disagreements(body, content_type) == []


@pytest.mark.parametrize("body", [
    b"client_id=a&x=%FF",
    b"client_id=a&x=\xe9",
    b"client_id=a&" + b"&".join(b"f%d=x" % i for i in range(150)),
    b"x=1&z=;client_id=b&client_id=a",
    b"client_id=a&z=;client_id=b",
])
def test_issue_examples_are_read_or_refused(body: bytes) -> None:
    """The reviewed bodies (%FF, a raw 0xE9, more than 100 fields, ';'): clientauth either
    reads the same client_id as every framework or refuses -- never "no form"."""
    content_type = "application/x-www-form-urlencoded"
    ours = clientauth_form(body, content_type)
    assert ours is not None
    assert disagreements(body, content_type) == []


@settings(max_examples=200, deadline=None)
@given(content_type=st.lists(st.sampled_from([
    "application/x-www-form-urlencoded", "APPLICATION/", "x-www-form-urlencoded", " ", "\t",
    ";", ",", "charset=utf-8", "text/plain", "multipart/form-data",
]), max_size=5).map("".join))
def test_content_type_recognition(content_type: str) -> None:
    """Whenever a framework reads a client_id from a body under some Content-Type,
    clientauth reads that body as a form too (or refuses it)."""
    body = b"client_id=b"
    if isinstance(clientauth_form(body, content_type), CredentialsError):
        return
    for label, parse in FRAMEWORKS.items():
        try:
            theirs = parse(body, content_type)
        except Exception:
            continue
        if (theirs or {}).get("client_id"):
            assert is_form(content_type), (label, content_type)


PART_NAMES = st.sampled_from([
    b'"client_id"', b"client_id", b'"CLIENT_ID"', b'"client\\_id"', b'"client%5Fid"',
    b"*=utf-8''client%5Fid", b'*0="client"; name*1="_id"', b'"=?utf-8?q?client=5Fid?="',
    b'"=?utf-8?b?Y2xpZW50X2lk?="', b'"x"', b'"file"; filename="a.txt"', b'"grant_type"',
    b'"client_secret"', b'"client_assertion"',
])
PART_VALUES = st.sampled_from([b"a", b"b", b"", b"\xff", b"grant"])


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.tuples(PART_NAMES, PART_VALUES), min_size=1, max_size=4),
       newline=st.sampled_from([b"\r\n", b"\n"]))
def test_multipart_credentials_are_refused(parts: list[tuple[bytes, bytes]],
                                           newline: bytes) -> None:
    """clientauth does not read multipart bodies: whenever a framework finds a credential
    parameter in one, clientauth has refused it (mentions_credentials)."""
    from clientauth._http import mentions_credentials

    content_type = "multipart/form-data; boundary=XyZ"
    body = b"".join(
        b"--XyZ" + newline + b"Content-Disposition: form-data; name=" + name + newline
        + newline + value + newline for name, value in parts
    ) + b"--XyZ--" + newline
    if mentions_credentials(body):
        return
    for label, parse in FRAMEWORKS.items():
        try:
            theirs = parse(body, content_type)
        except Exception:
            continue
        found = set(theirs or {}) & set(CREDENTIAL_PARAMETERS)
        assert not found, (label, found, body)
