"""Request-level fuzzing through real servers: generated raw HTTP/1.1 requests against
``clientauth.asgi.ClientAuthMiddleware`` on uvicorn (h11 and httptools) and
``clientauth.wsgi.ClientAuthMiddleware`` on ``wsgiref.simple_server``.

Used by ``tests/integration/test_request_fuzz.py`` (a few thousand requests) and by
``benchmarks/fuzz_requests.py`` (as many as you like). The requests are bytes built here, not
by an HTTP client, so they can be malformed: header counts up to 2000, duplicated and
odd-spelled headers (``X_SSL_Client_Cert``, case), Authorization values that are garbage,
invalid base64 or not UTF-8, several credential methods at once, negative / non-numeric /
repeated / mismatched Content-Length, valid and broken chunked bodies, form bodies with
``%FF``, raw high bytes, ``;`` separators, more than 100 fields or a repeated ``client_id``,
query strings with many fields and odd encodings, long and odd paths.

Every request is generated from ``random.Random(f"{seed}:{index}")`` alone, so one case can
be rebuilt from the seed and its index (the secrets derive from the seed; the certificate keys
are fresh per run, so certificate bytes differ between runs, the request shapes do not).

The generator knows which credentials it put in each request, and which of them are valid for
which client and registered method. What must hold, per request (the oracles):

- no response has status 500, and no exception leaves the middleware (an outer wrapper
  records it with its traceback: this tells our crashes from a server's own 400/431);
- every accepted request (the app behind the middleware answers 200 only when
  ``scope["clientauth"]`` / ``environ["clientauth"]`` is ok, and records the client) carried
  a valid credential for the accepted client and method;
- what the app reads, clientauth has read (issue 11, finding 7): on an accepted request, the
  ``client_id`` values the framework parses from the form (Starlette for ASGI, Werkzeug for
  WSGI) -- and from the query, where query credentials are allowed -- all name the accepted
  client, and the framework finds no ``client_secret`` that clientauth did not use (a
  ``multipart/form-data`` body, which clientauth does not read but ``form()`` in Starlette and
  Werkzeug does, is reported under its own kind, ``divergence-multipart``);
- the guarded route is never reached without an ok result;
- WSGI: the middleware never reads more than ``max_body_size + 1`` body bytes, and a form
  request with a negative or non-numeric Content-Length is refused (400, or 413).

Everything binds 127.0.0.1; every server started here is stopped when its block ends.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import hashlib
import io
import json
import logging
import random
import re
import socket
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote_plus, unquote_to_bytes
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import clientauth
from certs import NOW, Pki, clock  # tests/certs.py: on sys.path under pytest and the script
from clientauth.result import AuthMethod

ORG = "Example Corp"
PROXY_SECRET_HEADER = "X-Proxy-Secret"
CERT_HEADER = "X-SSL-Client-Cert"
ID_HEADER, SECRET_HEADER = "client_id", "client_secret"  # the Authenticator's defaults
GUARDED = "/token"
MAX_BODY = 8192
REQUEST_TIMEOUT = 5.0
"""Per request: connect, send, half-close, read the answer. Requests are one per connection
and sequential, so a hang shows up as this timeout, never as a stuck run."""

BASIC, POST, HEADER, TLS = (AuthMethod.CLIENT_SECRET_BASIC.value,
                            AuthMethod.CLIENT_SECRET_POST.value,
                            AuthMethod.CLIENT_SECRET_HEADER.value,
                            AuthMethod.TLS_CLIENT_AUTH.value)

VARIANTS: dict[str, tuple[str, str | None, bool]] = {
    # name: (adapter, uvicorn http implementation, allow_query_credentials)
    "asgi-h11": ("asgi", "h11", False),
    "asgi-httptools-query": ("asgi", "httptools", True),
    "wsgiref": ("wsgi", None, False),
    "wsgiref-query": ("wsgi", None, True),
}


# -- the registry and the authenticator ----------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Material:
    """Secrets, certificates and the proxy's shared secret for one run."""

    seed: int
    secrets: dict[str, str]
    proxy_secret: str
    pki: Pki
    certs: dict[str, str]  # client_id -> leaf PEM

    @classmethod
    def create(cls, seed: int) -> Material:
        def derived(label: str) -> str:
            digest = hashlib.sha256(f"clientauth-fuzz:{seed}:{label}".encode()).digest()
            return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

        pki = Pki.create(ORG)
        certs = {cid: pki.leaf(cid, org=ORG).pem for cid in ("tls-1", "tls-2")}
        return cls(
            seed=seed,
            secrets={cid: derived(cid) for cid in ("basic-1", "post-1", "header-1")},
            proxy_secret=derived("proxy"),
            pki=pki,
            certs=certs,
        )

    def authenticator(self, *, allow_query: bool) -> clientauth.Authenticator:
        clients: list[dict[str, Any]] = [
            {"client_id": "basic-1", "token_endpoint_auth_method": BASIC,
             "client_secret_hash": clientauth.hash_secret(self.secrets["basic-1"])},
            {"client_id": "post-1", "token_endpoint_auth_method": POST,
             "client_secret_hash": clientauth.hash_secret(self.secrets["post-1"])},
            {"client_id": "header-1", "token_endpoint_auth_method": HEADER,
             "client_secret_hash": clientauth.hash_secret(self.secrets["header-1"])},
            *({"client_id": cid, "token_endpoint_auth_method": TLS,
               "tls_client_auth_subject_dn": f"CN={cid},O={ORG}"} for cid in self.certs),
        ]
        forwarded = clientauth.ForwardedCertificates(
            "nginx", header=CERT_HEADER, trusted_proxies=["127.0.0.1/32"],
            shared_secret=(PROXY_SECRET_HEADER, self.proxy_secret),
        )
        return clientauth.Authenticator(
            clientauth.load_clients(clients),
            trust_anchors=[self.pki.root.cert], intermediates=[self.pki.intermediate.cert],
            forwarded=forwarded, now=clock(NOW), allow_query_credentials=allow_query,
        )


# -- the generator --------------------------------------------------------------------------


@dataclasses.dataclass
class Case:
    """One generated request: its bytes, feature tags, and the parts the oracle reads back
    (every header as sent, the form and query fields before framing)."""

    index: int
    raw: bytes
    tags: list[str]
    headers: list[tuple[bytes, bytes]]
    form: list[bytes]
    query: list[bytes]


def _same_header(sent: str, canonical: str, adapter: str) -> bool:
    """Whether the server hands header ``sent`` to the app as ``canonical``: ASGI keeps the
    name (lower-cased); WSGI folds ``-`` and ``_`` into one ``HTTP_*`` key (PEP 3333)."""
    if adapter == "wsgi":
        return sent.lower().replace("_", "-") == canonical.lower().replace("_", "-")
    return sent.lower() == canonical.lower()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _spell(rng: random.Random, name: str) -> str:
    """The same header name in another spelling: case, and ``-`` / ``_`` swapped."""
    choice = rng.random()
    if choice < 0.4:
        return name
    if choice < 0.55:
        return name.lower()
    if choice < 0.65:
        return name.upper()
    if choice < 0.8:
        return name.replace("-", "_") if "-" in name else name.replace("_", "-")
    # a mixed spelling: each separator chosen independently (the CVE-2024-10039 class)
    return "".join(rng.choice("-_") if c in "-_" else c for c in name)


class Generator:
    """Builds request ``index`` of a run from ``seed`` and the run's material."""

    def __init__(self, material: Material) -> None:
        self.m = material

    def case(self, index: int) -> Case:
        rng = random.Random(f"{self.m.seed}:{index}")
        tags: list[str] = []
        headers: list[tuple[bytes, bytes]] = []
        form_fields: list[bytes] = []
        query_fields: list[bytes] = []

        # -- credentials: none, one, or several methods at once --------------------------
        pieces = rng.choices(range(6), weights=(2, 5, 3, 1, 0.6, 0.3))[0]
        for _ in range(pieces):
            kind = rng.choice(("basic", "basic", "form", "headers", "query", "forwarded"))
            tags.append(f"cred:{kind}")
            getattr(self, f"_cred_{kind}")(rng, tags, headers, form_fields, query_fields)

        # -- target ------------------------------------------------------------------------
        method = rng.choices((b"POST", b"GET", b"PUT", b"FOO"), weights=(85, 10, 3, 2))[0]
        path = self._path(rng, tags)
        query = self._query(rng, tags, query_fields)
        target = path + (b"?" + query if query is not None else b"")
        version = b"HTTP/1.1" if rng.random() < 0.95 else b"HTTP/1.0"

        # -- body ----------------------------------------------------------------------------
        content_type, body = self._body(rng, tags, form_fields)
        if content_type is not None:
            headers.append((_spell(rng, "Content-Type").encode()
                            if rng.random() < 0.05 else b"Content-Type", content_type))
            if rng.random() < 0.03:
                tags.append("dup:content-type")
                headers.append((b"Content-Type",
                                rng.choice((b"text/plain", content_type, b"application/json"))))
        framing = self._framing(rng, tags, body)
        if ("framing:negative" in tags or "framing:non-numeric" in tags) and (
            rng.random() < 0.5
        ):
            # a body over the cap: a reader that trusts such a length reads past it
            tags.append("body:over-cap")
            body += b"&pad=" + b"x" * (MAX_BODY + rng.randint(1, 4096))
        headers.extend(framing)
        body = self._frame_body(rng, tags, body)

        # -- noise ---------------------------------------------------------------------------
        headers.extend(self._noise(rng, tags))
        if rng.random() < 0.05:
            tags.append("dup:random")
            for _ in range(rng.randint(1, 4)):
                if headers:
                    headers.insert(rng.randrange(len(headers) + 1), rng.choice(headers))
        rng.shuffle(headers)
        host = [(b"Host", b"127.0.0.1")]
        roll = rng.random()
        if roll < 0.02:
            tags.append("host:missing")
            host = []
        elif roll < 0.04:
            tags.append("host:dup")
            host = [(b"Host", b"127.0.0.1"), (b"Host", b"example.com")]
        if rng.random() < 0.15:
            tags.append("names:case")
            headers = [(_recase(rng, n), v) for n, v in headers]
        if headers and rng.random() < 0.03:
            # obs-fold (RFC 9112 5.2): servers must refuse or unfold it; wsgiref keeps it
            tags.append("obs-fold")
            at = rng.randrange(len(headers))
            name, value = headers[at]
            cut = rng.randint(0, len(value))
            headers[at] = (name, value[:cut] + rng.choice((b"\r\n ", b"\r\n\t")) + value[cut:])
        lines = [method + b" " + target + b" " + version]
        lines += [n + b":" + rng.choice((b" ", b"", b" ", b"\t")) + v for n, v in host + headers]
        raw = b"\r\n".join(lines) + b"\r\n\r\n" + body
        return Case(index, raw, tags, host + headers, form_fields, query_fields)

    def valid_for(self, case: Case, adapter: str, allow_query: bool) -> set[tuple[str, str]]:
        """The (client, method) pairs that ``case`` carries a valid credential for, as the
        server hands it to the app. Read from the whole request, so that pieces which only
        combine into a credential (an id header from one piece, a secret from another) count.
        Generous on purpose: a refusal of a valid credential is not a finding here, an
        accept outside this set is."""
        secrets = self.m.secrets
        names: dict[str, list[bytes]] = {}
        for name, value in case.headers:
            # A server may unfold an obs-fold into a space (RFC 9112 5.2)
            unfolded = re.sub(rb"\r\n[ \t]", b" ", value).strip(b" \t")
            names.setdefault(name.decode("latin-1"), []).append(unfolded)

        def values(canonical: str) -> list[bytes]:
            return [v for n, vs in names.items() if _same_header(n, canonical, adapter)
                    for v in vs]

        valid: set[tuple[str, str]] = set()
        token = _b64(f"basic-1:{secrets['basic-1']}".encode()).encode()
        for value in values("Authorization"):
            scheme, _, rest = value.strip().partition(b" ")
            if scheme.lower() == b"basic" and rest.strip() in (token, token.rstrip(b"=")):
                valid.add(("basic-1", BASIC))
        post = {("client_id", "post-1"), ("client_secret", secrets["post-1"])}
        for fields, allowed in ((case.form, True), (case.query, allow_query)):
            if allowed and post <= _decoded(fields):
                valid.add(("post-1", POST))
        if b"header-1" in values(ID_HEADER) and (
            secrets["header-1"].encode() in values(SECRET_HEADER)
        ):
            valid.add(("header-1", HEADER))
        if self.m.proxy_secret.encode() in values(PROXY_SECRET_HEADER):
            # PEM parsers skip whitespace: compare the certificates without any
            sent = {re.sub(rb"\s", b"", unquote_to_bytes(v)) for v in values(CERT_HEADER)}
            for cid, pem in self.m.certs.items():
                if re.sub(r"\s", "", pem).encode() in sent:
                    valid.add((cid, TLS))
        return valid

    # -- credential pieces ------------------------------------------------------------------

    def _cred_basic(self, rng: random.Random, tags: list[str],
                    headers: list[tuple[bytes, bytes]], *_: Any) -> None:
        secrets = self.m.secrets
        roll = rng.random()
        scheme = rng.choice((b"Basic", b"Basic", b"basic", b"BASIC"))
        if roll < 0.4:
            token = _b64(f"basic-1:{secrets['basic-1']}".encode())
            if rng.random() < 0.2:
                token = token.rstrip("=")  # unpadded: still valid
            value = scheme + b" " + token.encode()
            tags.append("basic:valid")
        else:
            tags.append("basic:invalid")
            value = scheme + b" " + rng.choice((
                _b64(b"basic-1:wrong").encode(),
                _b64(f"post-1:{secrets['post-1']}".encode()).encode(),  # not its method
                _b64(f"header-1:{secrets['header-1']}".encode()).encode(),
                _b64(f"tls-1:{secrets['basic-1']}".encode()).encode(),
                b"!!!", b"", b"=", b"a", b"YQ", b"YWJj", b"Zm9v=YmFy",
                _b64(b"\xff\xfe:\xfd").encode(),  # decodes, but not UTF-8
                _b64(b"basic-1%FF:x").encode(), _b64(b"basic-1").encode(),
                _b64(b":").encode(), _b64(b"\x00:\x00").encode(),
                b"\xe9\xff\x80",  # raw high bytes in the header value
                _b64(b"basic-1:" + b"x" * 5000).encode(),
                b"A" * rng.choice((100, 20_000)),
            ))
            if rng.random() < 0.1:
                value = rng.choice((b"Bearer abc", b"Digest x", b"Basic", b"Basic  \t",
                                    b"DPoP x.y.z"))
        headers.append((_spell(rng, "Authorization").encode(), value))
        if rng.random() < 0.05:
            tags.append("dup:authorization")
            headers.append((b"Authorization", value))

    def _cred_form(self, rng: random.Random, tags: list[str],
                   headers: Any, form: list[bytes], *_: Any) -> None:
        secrets = self.m.secrets
        roll = rng.random()
        if roll < 0.4:
            cid = rng.choice((b"post-1", b"post%2D1", b"pos%74-1"))
            form += [b"client_id=" + cid, b"client_secret=" + secrets["post-1"].encode()]
            tags.append("form:valid")
        elif roll < 0.6:
            form.append(b"client_id=" + rng.choice((b"tls-1", b"tls-2", b"basic-1", b"nobody")))
            tags.append("form:client_id-only")
        else:
            tags.append("form:invalid")
            form += rng.choice((
                [b"client_id=post-1", b"client_secret=wrong"],
                [b"client_id=basic-1", b"client_secret=" + secrets["basic-1"].encode()],
                [b"client_secret=" + secrets["post-1"].encode()],
                [b"client_id=", b"client_secret="],
                [b"client_id=post-1%FF", b"client_secret=x"],
                [b"client_id=%00", b"client_secret=x"],
            ))

    def _cred_query(self, rng: random.Random, tags: list[str],
                    headers: Any, form: Any, query: list[bytes]) -> None:
        if rng.random() < 0.5:
            query += [b"client_id=post-1", b"client_secret=" + self.m.secrets["post-1"].encode()]
            tags.append("query:valid")
        else:
            tags.append("query:invalid")
            query += rng.choice(([b"client_id=post-1", b"client_secret=wrong"],
                                 [b"client_id=tls-2"], [b"client_id=basic-1"],
                                 [b"client_id=post-1%FF", b"client_secret=x"]))

    def _cred_headers(self, rng: random.Random, tags: list[str],
                      headers: list[tuple[bytes, bytes]], *_: Any) -> None:
        id_name, secret_name = _spell(rng, ID_HEADER), _spell(rng, SECRET_HEADER)
        if rng.random() < 0.5:
            secret = self.m.secrets["header-1"].encode()
            tags.append("headers:valid")
            headers += [(id_name.encode(), b"header-1"), (secret_name.encode(), secret)]
        else:
            tags.append("headers:invalid")
            headers += rng.choice((
                [(id_name.encode(), b"header-1"), (secret_name.encode(), b"wrong")],
                [(id_name.encode(), b"basic-1"),
                 (secret_name.encode(), self.m.secrets["basic-1"].encode())],
                [(secret_name.encode(), self.m.secrets["header-1"].encode())],
                [(id_name.encode(), b"tls-1")],
                [(id_name.encode(), b"header-\xe9"), (secret_name.encode(), b"\xff")],
            ))
        if rng.random() < 0.05:
            tags.append("dup:headers")
            headers += [h for h in headers if h[0] in (id_name.encode(), secret_name.encode())]

    def _cred_forwarded(self, rng: random.Random, tags: list[str],
                        headers: list[tuple[bytes, bytes]], *_: Any) -> None:
        cid = rng.choice(("tls-1", "tls-2"))
        pem = self.m.certs[cid]
        cert_name = _spell(rng, CERT_HEADER)
        secret_name = _spell(rng, PROXY_SECRET_HEADER)
        roll = rng.random()
        if roll < 0.5:
            value = quote(pem, safe="").encode()  # $ssl_client_escaped_cert
            good_cert = True
        elif roll < 0.6:
            value = pem.replace("\n", " ").strip().encode()  # legacy $ssl_client_cert, folded
            good_cert = True
        else:
            good_cert = False
            value = rng.choice((b"", b"(null)", b"%ZZ", b"-----BEGIN CERTIFICATE-----",
                                quote(pem[: len(pem) // 2], safe="").encode(),
                                b"\xe9" * 40, quote(pem, safe="").encode()[:-7] + b"%2",
                                b"A" * 9000))
        secret_roll = rng.random()
        secret: bytes | None = None
        if secret_roll < 0.6:
            secret = self.m.proxy_secret.encode()
        elif secret_roll < 0.85:
            secret = rng.choice((b"wrong", self.m.proxy_secret.encode()[:-1], b""))
        headers.append((cert_name.encode(), value))
        if secret is not None:
            headers.append((secret_name.encode(), secret))
        tags.append("forwarded:" + ("cert" if good_cert else "garbage")
                    + ("+secret" if secret == self.m.proxy_secret.encode() else "-secret"))
        if cert_name not in (CERT_HEADER, CERT_HEADER.lower(), CERT_HEADER.upper()):
            tags.append("forwarded:odd-spelling")
        if rng.random() < 0.15:
            # a second certificate header in another spelling (a client-sent one beside the
            # proxy's): the app sees two, or -- under WSGI -- one joined value
            other = "tls-2" if cid == "tls-1" else "tls-1"
            tags.append("forwarded:second-cert-header")
            second_name = _spell(rng, CERT_HEADER)
            headers.append((second_name.encode(), quote(self.m.certs[other], safe="").encode()))

    # -- request line -------------------------------------------------------------------------

    def _path(self, rng: random.Random, tags: list[str]) -> bytes:
        roll = rng.random()
        if roll < 0.75:
            return GUARDED.encode()
        tags.append("path:odd")
        return rng.choice((
            b"/", b"//token", b"/./token", b"/token/", b"/token/../token", b"/%74oken",
            b"/token%2F", b"/%2Ftoken", b"/token%2Fx", b"/tok%00en", b"/t%FFoken",
            b"/TOKEN", b"/token;x", b"*", b"http://127.0.0.1/token",
            b"/token/" + b"a" * rng.choice((100, 4000, 70_000)),
            b"/" + b"/" * rng.randint(1, 50) + b"token",
        ))

    def _query(self, rng: random.Random, tags: list[str], fields: list[bytes]) -> bytes | None:
        if not fields and rng.random() < 0.7:
            return None
        if rng.random() < 0.06:
            tags.append("query:encoded-names")
            _encode_names(rng, fields)
        extra = rng.choices((0, 3, 101, 150, 1000), weights=(5, 5, 2, 1, 1))[0]
        if extra > 100:
            tags.append("query:>100")
        # in place: the oracle reads the final fields from the Case
        fields += [b"q%d=1" % i for i in range(extra)]
        if rng.random() < 0.3:
            tags.append("query:odd-encoding")
            fields.append(rng.choice((b"%FF=%FE", b"a=%", b"a=%G1", b"=", b"+", b"a+b=c+d",
                                      b"\xe9=\xe9", b"client_id", b"x=%00")))
        if rng.random() < 0.1:
            tags.append("query:dup-client_id")
            fields.append(b"client_id=" + rng.choice((b"post-1", b"tls-1", b"other")))
        rng.shuffle(fields)
        sep = b";" if rng.random() < 0.1 else b"&"
        if sep == b";":
            tags.append("query:semicolon")
        return sep.join(fields)

    # -- body and framing ------------------------------------------------------------------

    def _body(self, rng: random.Random, tags: list[str],
              fields: list[bytes]) -> tuple[bytes | None, bytes]:
        if not fields and rng.random() < 0.4:
            if rng.random() < 0.8:
                return None, b""
            tags.append("body:json")
            return b"application/json", b'{"client_id": "post-1"}'
        fields.insert(0, b"grant_type=client_credentials")  # in place, as in _query
        if rng.random() < 0.1:
            tags.append("form:%FF")
            fields.append(rng.choice((b"x=%FF", b"%FF=1", b"scope=%E9%FF")))
        if rng.random() < 0.08:
            tags.append("form:raw-high-byte")
            fields.append(rng.choice((b"x=\xe9", b"\xff=1", b"scope=caf\xc3\xa9")))
        if rng.random() < 0.08:
            tags.append("form:>100")
            fields += [b"f%d=1" % i for i in range(rng.choice((100, 101, 150, 400)))]
        if rng.random() < 0.08:
            tags.append("form:dup-client_id")
            fields.append(b"client_id=" + rng.choice((b"post-1", b"basic-1", b"tls-2", b"x")))
        if rng.random() < 0.05:
            tags.append("form:odd-fields")
            fields += rng.sample([b"", b"=", b"a", b"+", b"%", b"a=%2", b"&&"], 3)
        if rng.random() < 0.03:
            tags.append("form:long-value")
            fields.append(b"pad=" + b"x" * rng.choice((4000, 9000)))
        if rng.random() < 0.03:
            tags.append("form:nul")
            fields.append(rng.choice((b"x=\x00", b"x=%00", b"\x00=1")))
        if rng.random() < 0.06:
            tags.append("form:encoded-names")
            _encode_names(rng, fields)
        rng.shuffle(fields)
        if rng.random() < 0.04:
            tags.append("form:multipart")
            return b"multipart/form-data; boundary=fuzzB", _multipart(fields)
        if rng.random() < 0.02:
            tags.append("form:bom")
            fields[0] = b"\xef\xbb\xbf" + fields[0]
        sep = b"&"
        if rng.random() < 0.08:
            tags.append("form:semicolon")
            sep = b";"
        elif rng.random() < 0.03:
            tags.append("form:mixed-separators")
            body = b"".join(f + rng.choice((b"&", b";")) for f in fields)[:-1]
            return self._form_type(rng, tags), body
        return self._form_type(rng, tags), sep.join(fields)

    def _form_type(self, rng: random.Random, tags: list[str]) -> bytes | None:
        roll = rng.random()
        if roll < 0.8:
            return b"application/x-www-form-urlencoded"
        tags.append("content-type:variant")
        return rng.choice((
            b"application/x-www-form-urlencoded; charset=UTF-8",
            b"APPLICATION/X-WWW-FORM-URLENCODED", b"application/x-www-form-urlencoded;",
            b" application/x-www-form-urlencoded ", b"application/x-www-form-urlencoded, x",
            b"text/plain", None, b"application/x-www-form-urlencodedx",
            b"application/x-www-form-urlencoded; charset=ISO-8859-1",
            b"application/x-www-form-urlencoded; charset=utf-16",
            b'application/x-www-form-urlencoded; charset="utf-8"',
            b"application/x-www-form-urlencoded; charset=utf-8; charset=latin1",
        ))

    def _framing(self, rng: random.Random, tags: list[str],
                 body: bytes) -> list[tuple[bytes, bytes]]:
        n = len(body)
        roll = rng.random()
        cl = b"Content-Length"
        if roll < 0.72:
            return [(cl, b"%d" % n)] if body or rng.random() < 0.5 else []
        kind = rng.choice(("none", "negative", "non-numeric", "repeated-same", "repeated-diff",
                           "more", "less", "chunked", "chunked", "chunked-broken",
                           "chunked+cl", "te-odd", "cl-odd-spelling"))
        tags.append(f"framing:{kind}")
        if kind == "none":
            return []
        if kind == "negative":
            return [(cl, rng.choice((b"-1", b"-0", b"-100")))]
        if kind == "non-numeric":
            return [(cl, rng.choice((b"abc", b"1e3", b"+%d" % n, b"0x10", b"%d " % n,
                                     b"%d,%d" % (n, n), b"", b"99999999999999999999")))]
        if kind == "repeated-same":
            return [(cl, b"%d" % n), (cl, b"%d" % n)]
        if kind == "repeated-diff":
            return [(cl, b"%d" % n), (cl, b"%d" % (n + 5))]
        if kind == "more":
            return [(cl, b"%d" % (n + rng.randint(1, 100)))]
        if kind == "less":
            return [(cl, b"%d" % max(0, n - rng.randint(1, 20)))]
        if kind == "cl-odd-spelling":
            return [(b"Content_Length", b"%d" % n)]
        te = b"Transfer-Encoding"
        if kind == "te-odd":
            return [(te, rng.choice((b"Chunked", b"chunked, gzip", b"gzip", b" chunked",
                                     b"chunked, chunked", b"identity")))]
        if kind == "chunked+cl":
            return [(te, b"chunked"), (cl, b"%d" % n)]
        return [(te, b"chunked")]

    def _frame_body(self, rng: random.Random, tags: list[str], body: bytes) -> bytes:
        kinds = {t.removeprefix("framing:") for t in tags if t.startswith("framing:")}
        if not kinds & {"chunked", "chunked-broken", "chunked+cl", "te-odd"}:
            return body
        out = b""
        rest = body
        while rest:
            size = rng.randint(1, max(1, len(rest)))
            chunk, rest = rest[:size], rest[size:]
            ext = b";a=b" if rng.random() < 0.1 else b""
            out += b"%x" % len(chunk) + ext + b"\r\n" + chunk + b"\r\n"
        out += b"0\r\n\r\n"
        if "chunked-broken" in kinds:
            out = rng.choice((
                out[:-5],  # no last chunk
                b"zz\r\n" + out, b"-5\r\n" + out, b"ffffffffffffffffff\r\n" + out,
                out.replace(b"\r\n", b"\n"), b"%x\r\n" % (len(body) + 10) + body + b"\r\n0\r\n\r\n",
            ))
        return out

    def _noise(self, rng: random.Random, tags: list[str]) -> list[tuple[bytes, bytes]]:
        count = rng.choices((0, rng.randint(1, 20), rng.randint(95, 105),
                             rng.randint(200, 600), rng.randint(990, 1010),
                             rng.randint(1011, 2000)),
                            weights=(35, 45, 6, 4, 6, 4))[0]
        if count > 1000:
            tags.append("headers:>1000")
        elif count > 100:
            tags.append("headers:>100")
        # Short names and values: 1000 fields are about 8 KB, under the servers' header limits.
        out = [(b"h%x" % i, b"1") for i in range(count)]
        if rng.random() < 0.05:
            tags.append("headers:large-value")
            out.append((b"X-Large", b"v" * rng.choice((4000, 12_000, 70_000))))
        if rng.random() < 0.1:
            tags.append("headers:odd-names")
            out += rng.sample([
                (b"Content_Type", b"application/x-www-form-urlencoded"),
                (b"X-Forwarded-For", b"10.0.0.1"), (b"Forwarded", b"for=10.0.0.1"),
                (b"X_Forwarded_For", b"10.0.0.1"), (b"Client-Cert", b":AAAA:"),
                (b"Authorization_", b"Basic x"), (b"x-client-id", b"post-1"),
                (b"Expect", b"100-continue"), (b"Connection", b"close"),
                (b"Connection", b"keep-alive, Upgrade"), (b"Upgrade", b"h2c"),
            ], 3)
        return out


def _encode_names(rng: random.Random, fields: list[bytes]) -> None:
    """Percent-encode letters of the credential parameter names, in place: every form
    decoder decodes names too, so ``client%5Fid`` is ``client_id``."""
    for i, field in enumerate(fields):
        name, sep, value = field.partition(b"=")
        if name in (b"client_id", b"client_secret") and rng.random() < 0.7:
            at = rng.randrange(len(name))
            fields[i] = name[:at] + b"%%%02X" % name[at] + name[at + 1:] + sep + value


def _multipart(fields: list[bytes]) -> bytes:
    """The same fields as ``multipart/form-data`` (RFC 7578), which the frameworks parse too."""
    parts = []
    for field in fields:
        name, _, value = field.partition(b"=")
        parts.append(b'--fuzzB\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
                     % (unquote_to_bytes(name).replace(b'"', b""), unquote_to_bytes(value)))
    return b"".join(parts) + b"--fuzzB--\r\n"


def _decoded(fields: list[bytes]) -> set[tuple[str, str]]:
    """(name, value) of the fields that decode as UTF-8 form encoding (RFC 6749 App. B)."""
    out = set()
    for field in fields:
        name, _, value = field.partition(b"=")
        with contextlib.suppress(UnicodeDecodeError):
            out.add((unquote_plus(name.decode("utf-8"), errors="strict"),
                     unquote_plus(value.decode("utf-8"), errors="strict")))
    return out


def _recase(rng: random.Random, name: bytes) -> bytes:
    return bytes(c ^ 0x20 if 0x41 <= (c & ~0x20) <= 0x5A and rng.random() < 0.5 else c
                 for c in name)


# -- what the servers and the app report back -------------------------------------------------


@dataclasses.dataclass
class Recorder:
    """Thread-safe log of what happened inside the server, keyed by the client's port."""

    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    events: list[tuple[int, str, dict[str, Any]]] = dataclasses.field(default_factory=list)
    server_log: Counter[str] = dataclasses.field(default_factory=Counter)

    def add(self, port: int, kind: str, **data: Any) -> None:
        with self.lock:
            self.events.append((port, kind, data))

    def drain(self) -> list[tuple[int, str, dict[str, Any]]]:
        with self.lock:
            out, self.events = self.events, []
        return out


def _traceback_head(exc: BaseException) -> str:
    """The exception line and the innermost frames: enough to tell failures apart."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in frames[-3:]]
    return f"{type(exc).__name__}: {str(exc)[:160]} at {' <- '.join(reversed(where))}"


_SERVER_CODE = ("/h11/", "/httptools/", "/uvicorn/", "/wsgiref/", "/socketserver.py",
                "/http/server.py", "/asyncio/")


def _ours(exc: BaseException) -> bool:
    """Whether an exception comes from our code (raised in clientauth, or in a library it
    called) rather than from the server, e.g. h11 refusing a response on a connection it has
    already answered 400 and must close."""
    frames = traceback.extract_tb(exc.__traceback__)
    return not frames or not any(part in frames[-1].filename for part in _SERVER_CODE)


def _form_type_of(content_type: str | None) -> bool:
    return bool(content_type) and str(content_type).split(";", 1)[0].strip().lower() == (
        "application/x-www-form-urlencoded"
    )


def asgi_app(recorder: Recorder, authenticator: clientauth.Authenticator) -> Any:
    """The middleware (guarding ``/token``) around an app that answers 200 only with an ok
    result, wrapped so that an exception leaving the middleware is recorded."""
    from starlette.requests import Request

    from clientauth.asgi import ClientAuthMiddleware

    async def endpoint(scope: Any, receive: Any, send: Any) -> None:
        port = scope["client"][1] if scope.get("client") else 0
        route = scope["path"].removeprefix(scope.get("root_path", ""))
        if route != GUARDED and not route.startswith(GUARDED + "/"):
            await _asgi_answer(send, 404, b"{}")
            return
        result = scope.get("clientauth")
        if result is None or not result.ok:
            recorder.add(port, "unguarded", path=scope["path"])
            await _asgi_answer(send, 403, b"{}")
            return
        view: dict[str, Any] = {}
        try:
            request = Request(scope, receive)
            view["query_ids"] = request.query_params.getlist("client_id")
            form = await request.form()
            view["form_ids"] = [str(v) for v in form.getlist("client_id")]
            view["form_secret"] = "client_secret" in form
            view["form_kind"] = (request.headers.get("content-type") or "").split(";")[0]
        except Exception as exc:  # the framework refusing the body is the app's business
            view["app_error"] = type(exc).__name__
        recorder.add(port, "accept", client_id=result.client_id, method=str(result.method),
                     **view)
        await _asgi_answer(send, 200, json.dumps({"client_id": result.client_id}).encode())

    middleware = ClientAuthMiddleware(endpoint, authenticator=authenticator, paths=[GUARDED],
                                      max_body_size=MAX_BODY)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        try:
            await middleware(scope, receive, send)
        except BaseException as exc:
            if not isinstance(exc, asyncio.CancelledError):
                port = scope["client"][1] if scope.get("client") else 0
                recorder.add(port, "exception", error=_traceback_head(exc), ours=_ours(exc))
            raise

    return app


async def _asgi_answer(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


class _CountingInput:
    """``wsgi.input`` that counts the bytes the middleware reads."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.count = 0

    def read(self, size: int | None = -1) -> bytes:
        data = bytes(self._stream.read() if size is None else self._stream.read(size))
        self.count += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        data = bytes(self._stream.readline(size))
        self.count += len(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")


_DECIMAL = re.compile(r"[0-9]+")


def wsgi_app(recorder: Recorder, authenticator: clientauth.Authenticator) -> Any:
    """The WSGI counterpart of :func:`asgi_app`, plus the body-read and Content-Length checks."""
    from werkzeug.wrappers import Request

    from clientauth.wsgi import ClientAuthMiddleware

    def endpoint(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        port = int(environ.get("REMOTE_PORT") or 0)
        route = environ.get("PATH_INFO") or "/"
        if route != GUARDED and not route.startswith(GUARDED + "/"):
            start_response("404 Not Found", [("content-type", "application/json")])
            return [b"{}"]
        counting = environ.get("fuzz.input")
        if counting is not None:  # what the middleware read before calling us
            environ["fuzz.read_by_middleware"] = counting.count
        result = environ.get("clientauth")
        if result is None or not result.ok:
            recorder.add(port, "unguarded", path=route)
            start_response("403 Forbidden", [("content-type", "application/json")])
            return [b"{}"]
        view: dict[str, Any] = {}
        try:
            request = Request(environ)
            view["query_ids"] = request.args.getlist("client_id")
            view["form_ids"] = request.form.getlist("client_id")
            view["form_secret"] = "client_secret" in request.form
            view["form_kind"] = request.mimetype
        except Exception as exc:
            view["app_error"] = type(exc).__name__
        recorder.add(port, "accept", client_id=result.client_id, method=str(result.method),
                     **view)
        body = json.dumps({"client_id": result.client_id}).encode()
        start_response("200 OK", [("content-type", "application/json"),
                                  ("content-length", str(len(body)))])
        return [body]

    middleware = ClientAuthMiddleware(endpoint, authenticator=authenticator, paths=[GUARDED],
                                      max_body_size=MAX_BODY)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        port = int(environ.get("REMOTE_PORT") or 0)
        counting = _CountingInput(environ["wsgi.input"])
        environ["wsgi.input"] = environ["fuzz.input"] = counting
        statuses: list[str] = []

        def spy(status: str, headers: Any, exc_info: Any = None) -> Any:
            statuses.append(status)
            return start_response(status, headers, exc_info)

        length = environ.get("CONTENT_LENGTH")
        try:
            out = middleware(environ, spy)
        except BaseException as exc:
            recorder.add(port, "exception", error=_traceback_head(exc), ours=_ours(exc))
            raise
        read = environ.get("fuzz.read_by_middleware", counting.count)
        if read > MAX_BODY + 1:
            recorder.add(port, "overread", read=read, content_length=length)
        route = environ.get("PATH_INFO") or "/"
        guarded = route == GUARDED or route.startswith(GUARDED + "/")
        if (guarded and _form_type_of(environ.get("CONTENT_TYPE")) and length
                and not _DECIMAL.fullmatch(length.strip())
                and not (statuses and statuses[0][:3] in ("400", "413", "411"))):
            recorder.add(port, "bad-content-length", content_length=length,
                         status=statuses[0][:3] if statuses else None)
        return out

    return app


# -- servers ----------------------------------------------------------------------------------


class _LogCounter(logging.Handler):
    def __init__(self, recorder: Recorder) -> None:
        super().__init__(logging.WARNING)
        self.recorder = recorder

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().splitlines()[0][:80]
        if record.exc_info and record.exc_info[1] is not None:
            message += f" [{_traceback_head(record.exc_info[1])}]"
        with self.recorder.lock:
            self.recorder.server_log[message] += 1


@contextlib.contextmanager
def uvicorn_server(app: Any, http: str, recorder: Recorder) -> Iterator[int]:
    """uvicorn on 127.0.0.1 in a daemon thread; its warnings and errors go to ``recorder``."""
    import uvicorn
    from harness import free_port, uvicorn_thread

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http=http, lifespan="off",
                            log_level="warning", access_log=False, proxy_headers=False)
    # Counted, not printed: thousands of "Invalid HTTP request received." lines are expected.
    logger = logging.getLogger("uvicorn.error")
    saved = logger.handlers[:], logger.propagate
    logger.handlers[:] = [_LogCounter(recorder)]
    logger.propagate = False
    try:
        with uvicorn_thread(config):
            yield port
    finally:
        logger.handlers[:], logger.propagate = saved


class _Handler(WSGIRequestHandler):
    """wsgiref's handler with the client port in the environ (to match events to requests),
    a read timeout, and its log lines and tracebacks kept instead of printed."""

    timeout = REQUEST_TIMEOUT
    recorder: Recorder

    def get_environ(self) -> dict[str, Any]:
        env: dict[str, Any] = super().get_environ()
        env["REMOTE_PORT"] = str(self.client_address[1])
        return env

    def get_stderr(self) -> Any:
        self._stderr = io.StringIO()
        return self._stderr

    def handle(self) -> None:
        try:
            super().handle()
        finally:
            stderr = getattr(self, "_stderr", None)
            text = stderr.getvalue().strip() if stderr is not None else ""
            if text:  # wsgiref printed a traceback: keep its last line
                with self.recorder.lock:
                    self.recorder.server_log["stderr: " + text.splitlines()[-1][:80]] += 1

    def log_message(self, format: str, *args: Any) -> None:
        message = (format % args)[:80]
        if message.startswith("code "):  # send_error: the server's own refusal
            with self.recorder.lock:
                self.recorder.server_log["wsgiref " + message.split(",")[0]] += 1


@contextlib.contextmanager
def wsgiref_server(app: Any, recorder: Recorder) -> Iterator[int]:
    """wsgiref.simple_server on 127.0.0.1 in a daemon thread, stopped at the end."""
    handler = type("Handler", (_Handler,), {"recorder": recorder})
    server: WSGIServer = make_server("127.0.0.1", 0, app, handler_class=handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="wsgiref-fuzz", daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(REQUEST_TIMEOUT)
        assert not thread.is_alive(), "wsgiref did not stop"


# -- the client side --------------------------------------------------------------------------


def send_raw(port: int, raw: bytes) -> tuple[int, str, int | None]:
    """Send ``raw`` on a new connection, half-close, read the first response.
    Returns (local port, outcome, status): outcome is ``response``, ``closed`` (EOF, no
    response), ``reset`` or ``timeout``."""
    deadline = time.monotonic() + REQUEST_TIMEOUT
    with socket.create_connection(("127.0.0.1", port), timeout=REQUEST_TIMEOUT) as sock:
        local = int(sock.getsockname()[1])
        with contextlib.suppress(OSError):  # the server may answer and close before we finish
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
        data = b""
        outcome = "closed"
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                outcome = "timeout"
                break
            except ConnectionResetError:
                outcome = "reset"
                break
            if not chunk:
                break
            data += chunk
            if _complete(data):
                break
        match = re.match(rb"HTTP/1\.[01] (\d{3})", _final(data))
        if match:
            return local, "response", int(match.group(1))
        return local, outcome, None


def _final(data: bytes) -> bytes:
    """``data`` without interim (1xx) responses, such as 100 Continue (RFC 9110 15.2)."""
    while re.match(rb"HTTP/1\.[01] 1\d\d", data) and b"\r\n\r\n" in data:
        data = data.partition(b"\r\n\r\n")[2]
    return data


def _complete(data: bytes) -> bool:
    head, sep, body = _final(data).partition(b"\r\n\r\n")
    if not sep:
        return False
    match = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    return match is not None and len(body) >= int(match.group(1))


# -- a run ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Failure:
    kind: str
    signature: str
    case: int
    tags: list[str]
    raw_head: str
    count: int = 1


@dataclasses.dataclass
class Report:
    variant: str
    seed: int
    sent: int = 0
    outcomes: Counter[str] = dataclasses.field(default_factory=Counter)
    accepts: Counter[str] = dataclasses.field(default_factory=Counter)
    failures: dict[tuple[str, str], Failure] = dataclasses.field(default_factory=dict)
    server_log: Counter[str] = dataclasses.field(default_factory=Counter)
    seconds: float = 0.0

    def fail(self, kind: str, signature: str, case: Case) -> None:
        key = (kind, signature)
        if key in self.failures:
            self.failures[key].count += 1
            return
        self.failures[key] = Failure(kind, signature, case.index, list(case.tags),
                                     repr(case.raw[:240]))

    def summary(self) -> str:
        lines = [f"{self.variant}: seed={self.seed} requests={self.sent} "
                 f"in {self.seconds:.1f}s; outcomes: "
                 + ", ".join(f"{k}={v}" for k, v in sorted(self.outcomes.items()))]
        if self.accepts:
            lines.append("  accepted: " + ", ".join(f"{k}={v}"
                                                    for k, v in sorted(self.accepts.items())))
        for message, count in self.server_log.most_common(8):
            lines.append(f"  server log x{count}: {message}")
        for failure in self.failures.values():
            lines.append(f"  FAIL {failure.kind} x{failure.count}: {failure.signature}\n"
                         f"    first: case {failure.case} tags={failure.tags}\n"
                         f"    request: {failure.raw_head}")
        return "\n".join(lines)


def check_case(report: Report, case: Case, *, valid: set[tuple[str, str]], outcome: str,
               status: int | None, events: list[tuple[str, dict[str, Any]]],
               allow_query: bool) -> None:
    """Apply the oracles of the module docstring to one request."""
    label = str(status) if status is not None else outcome
    report.outcomes[label] += 1
    if status == 500:
        report.fail("status-500", "500 Internal Server Error", case)
    for kind, data in events:
        if kind == "exception":
            report.fail("exception" if data["ours"] else "server-exception", data["error"],
                        case)
        elif kind == "unguarded":
            report.fail("unguarded", f"guarded route {data['path']!r} reached without ok result",
                        case)
        elif kind == "overread":
            report.fail("overread", f"middleware read {data['read']} body bytes > "
                        f"{MAX_BODY + 1} (Content-Length {data['content_length']!r})", case)
        elif kind == "bad-content-length":
            report.fail("bad-content-length", f"form with Content-Length "
                        f"{data['content_length']!r} answered {data['status']}", case)
        elif kind == "accept":
            cid, method = data["client_id"], data["method"]
            report.accepts[f"{cid}/{method}"] += 1
            if (cid, method) not in valid:
                report.fail("false-accept", f"accepted {cid} by {method} without valid "
                            "credentials for it", case)
            _check_divergence(report, case, cid=cid, method=method, view=data,
                              allow_query=allow_query)
    if status == 200 and not any(kind == "accept" for kind, _ in events):
        report.fail("unrecorded-200", "a 200 the app did not record", case)


def _check_divergence(report: Report, case: Case, *, cid: str, method: str,
                      view: dict[str, Any], allow_query: bool) -> None:
    if "app_error" in view:
        return
    # multipart/form-data: clientauth reads no such body, the frameworks' form() does
    kind = ("divergence-multipart" if str(view.get("form_kind", "")).startswith("multipart/")
            else "divergence")
    others = sorted({v for v in view.get("form_ids", []) if v != cid})
    if others:
        report.fail(kind, f"accepted {cid} while the framework's form says "
                    f"client_id={others[0]!r}", case)
    elif len(view.get("form_ids", [])) > 1:
        report.fail(kind, "accepted while the framework's form repeats client_id", case)
    if view.get("form_secret") and method != POST:
        report.fail(kind, f"accepted {cid} by {method} while the framework's form "
                    "carries a client_secret", case)
    if allow_query:
        qothers = sorted({v for v in view.get("query_ids", []) if v != cid})
        if qothers:
            report.fail("divergence", f"accepted {cid} while the framework's query says "
                        f"client_id={qothers[0]!r}", case)


def run_variant(variant: str, material: Material, *, count: int, seconds: float,
                start: int = 0, progress: Callable[[int], None] | None = None) -> Report:
    """Send up to ``count`` generated requests (indexes ``start``...) to one server variant,
    for at most ``seconds``; the same index yields the same request on every variant."""
    adapter, http, allow_query = VARIANTS[variant]
    recorder = Recorder()
    auth = material.authenticator(allow_query=allow_query)
    generator = Generator(material)
    report = Report(variant, material.seed)
    started = time.monotonic()
    if adapter == "asgi":
        assert http is not None
        server = uvicorn_server(asgi_app(recorder, auth), http, recorder)
    else:
        server = wsgiref_server(wsgi_app(recorder, auth), recorder)
    pending: dict[int, tuple[Case, set[tuple[str, str]], str, int | None]] = {}
    by_port: dict[int, int] = {}
    late: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    with server as port:
        for index in range(start, start + count):
            if time.monotonic() - started > seconds:
                break
            case = generator.case(index)
            valid = generator.valid_for(case, adapter, allow_query)
            local, outcome, status = send_raw(port, case.raw)
            by_port[local] = index
            pending[index] = (case, valid, outcome, status)
            report.sent += 1
            for ev_port, kind, data in recorder.drain():
                late.setdefault(by_port.get(ev_port, -1), []).append((kind, data))
            if progress is not None:
                progress(report.sent)
        time.sleep(0.2)  # let a last pipelined leftover finish before the server stops
    for ev_port, kind, data in recorder.drain():
        late.setdefault(by_port.get(ev_port, -1), []).append((kind, data))
    for index, (case, valid, outcome, status) in pending.items():
        check_case(report, case, valid=valid, outcome=outcome, status=status,
                   events=late.get(index, []), allow_query=allow_query)
    for kind, data in late.get(-1, []):
        report.fail(kind, f"event from an unknown connection: {data}",
                    Case(-1, b"", [], [], [], []))
    report.server_log = recorder.server_log
    report.seconds = time.monotonic() - started
    return report
