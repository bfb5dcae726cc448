"""Revocation checking against real revocation services on 127.0.0.1.

The fixture builds a small CA in ``tmp_path`` with an OpenSSL ``index.txt`` database, produces
its CRL with ``openssl ca -gencrl`` and answers OCSP with ``openssl ocsp`` (responder mode,
``-reqin``/``-respout``, one process per request) behind a stdlib HTTP server bound to
127.0.0.1 -- OpenSSL 3.0's own ``-port`` listener binds every interface, which these tests must
not do. CRLs "supplied as files/bytes" are built with cryptography's CRL builder.

Everything is relative to the *real* clock: OpenSSL stamps thisUpdate with the current time.
"""

from __future__ import annotations

import http.server
import inspect
import os
import socket
import subprocess
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

import clientauth
from certs import Issued, issue, name
from clientauth import revocation as revocation_module
from clientauth.exceptions import ConfigurationError
from clientauth.pki import PKIVerifier
from clientauth.result import Failure
from clientauth.revocation import RevocationChecker, RevocationState
from misbehaving import (
    MisbehavingServer,
    drip_body,
    drip_headers,
    huge,
    ocsp_responder,
    ok,
    redirect,
    stall,
)

REAL_NOW = datetime.now(UTC).replace(microsecond=0)

# The services below listen on 127.0.0.1, which the fetch address policy refuses unless the
# operator allows it. Looked up rather than passed blindly so that the regression tests of
# this module can also be run against code that predates the policy (and fail there).
_ALLOW_LOOPBACK: dict[str, Any] = (
    {"allow_addresses": ["127.0.0.1"]}
    if "allow_addresses" in inspect.signature(RevocationChecker).parameters
    else {}
)


def Checker(*args: Any, **kwargs: Any) -> RevocationChecker:
    """A RevocationChecker allowed to fetch from 127.0.0.1."""
    return RevocationChecker(*args, **{**_ALLOW_LOOPBACK, **kwargs})


def _clock() -> Any:
    # Live, not REAL_NOW: OpenSSL stamps responses with the time it answers, which in a long
    # suite run is well after this module was imported; a frozen clock would see them as
    # "too recent". Certificates are still issued relative to REAL_NOW (valid for days).
    return lambda: datetime.now(UTC)


def _client(cn: str) -> clientauth.Client:
    return clientauth.Client.from_metadata(
        {
            "client_id": cn,
            "token_endpoint_auth_method": "tls_client_auth",
            "tls_client_auth_subject_dn": f"CN={cn}",
        }
    )


def _free_closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Handler(http.server.BaseHTTPRequestHandler):
    root: Path

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        target = self.root / self.path.lstrip("/")
        if self.path != "/crl.der" or not target.exists():
            self.send_error(404)
            return
        body = target.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/pkix-crl")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/ocsp":
            self.send_error(404)
            return
        request = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with tempfile.TemporaryDirectory(dir=self.root) as work:
            req, resp = Path(work, "req.der"), Path(work, "resp.der")
            req.write_bytes(request)
            # openssl ocsp in responder mode answers one request from the CA database.
            subprocess.run(
                ["openssl", "ocsp", "-index", str(self.root / "index.txt"),
                 "-CA", str(self.root / "ca.pem"), "-rsigner", str(self.root / "ocsp.pem"),
                 "-rkey", str(self.root / "ocsp.key"), "-ndays", "1",
                 "-reqin", str(req), "-respout", str(resp)],
                check=True, capture_output=True, timeout=20,
            )
            body = resp.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/ocsp-response")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _index_line(cert: x509.Certificate, revoked_at: datetime | None) -> str:
    expiry = cert.not_valid_after_utc.strftime("%y%m%d%H%M%SZ")
    serial = format(cert.serial_number, "X")
    serial = serial if len(serial) % 2 == 0 else "0" + serial
    subject = "/" + "/".join(a.rfc4514_string() for a in cert.subject)
    if revoked_at is None:
        return f"V\t{expiry}\t\t{serial}\tunknown\t{subject}\n"
    return f"R\t{expiry}\t{revoked_at.strftime('%y%m%d%H%M%SZ')}\t{serial}\tunknown\t{subject}\n"


class RevocationLab:
    """A CA with live CRL and OCSP services on 127.0.0.1, and leaves in every state."""

    def __init__(self, root: Path, port: int) -> None:
        self.dir = root
        self.base = f"http://127.0.0.1:{port}"
        crl_url, ocsp_url = f"{self.base}/crl.der", f"{self.base}/ocsp"
        down = f"http://127.0.0.1:{_free_closed_port()}/ocsp"
        valid = {"not_before": REAL_NOW - timedelta(days=1),
                 "not_after": REAL_NOW + timedelta(days=30)}
        self.ca = issue(name("Revocation Test CA"), ca=True, **valid)
        self.responder = issue(name("OCSP Responder"), issuer=self.ca,
                               eku=[ExtendedKeyUsageOID.OCSP_SIGNING], **valid)

        def leaf(cn: str, **kw: Any) -> Issued:
            return issue(name(cn), issuer=self.ca, **valid, **kw)

        self.good = leaf("good", crl_url=crl_url, ocsp_url=ocsp_url)
        self.good_crl_only = leaf("good-crl", crl_url=crl_url)
        self.revoked_ocsp = leaf("revoked-ocsp", ocsp_url=ocsp_url)
        self.revoked_crl = leaf("revoked-crl", crl_url=crl_url)
        self.revoked_listed = leaf("revoked-listed")  # no URLs: only a supplied CRL knows
        self.plain = leaf("plain")  # no URLs, not revoked
        self.responder_down = leaf("responder-down", ocsp_url=down)
        revoked_at = REAL_NOW - timedelta(hours=1)
        lines = [_index_line(self.good.cert, None), _index_line(self.good_crl_only.cert, None),
                 _index_line(self.revoked_ocsp.cert, revoked_at),
                 _index_line(self.revoked_crl.cert, revoked_at),
                 _index_line(self.revoked_listed.cert, revoked_at)]
        (root / "index.txt").write_text("".join(lines))
        (root / "index.txt.attr").write_text("unique_subject = no\n")
        (root / "crlnumber").write_text("01\n")
        self.ca.write(root, "ca")
        self.responder.write(root, "ocsp")
        (root / "ca.cnf").write_text(
            "[ca]\ndefault_ca = d\n[d]\n"
            f"database = {root}/index.txt\ncrlnumber = {root}/crlnumber\n"
            "default_md = sha256\ndefault_crl_days = 1\n"
        )
        subprocess.run(
            ["openssl", "ca", "-gencrl", "-batch", "-config", str(root / "ca.cnf"),
             "-cert", str(root / "ca.pem"), "-keyfile", str(root / "ca.key"),
             "-out", str(root / "crl.pem")],
            check=True, capture_output=True, timeout=30,
        )
        crl = x509.load_pem_x509_crl((root / "crl.pem").read_bytes())
        (root / "crl.der").write_bytes(crl.public_bytes(Encoding.DER))
        self.served_crl = crl

    def crl(self, revoked: list[Issued], *, this_update: datetime, next_update: datetime
            ) -> x509.CertificateRevocationList:
        """A CRL built with cryptography (the "supplied as a file/bytes" cases)."""
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.ca.cert.subject)
            .last_update(this_update)
            .next_update(next_update)
            .add_extension(x509.CRLNumber(7), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca.key.public_key()),
                critical=False,
            )
        )
        for item in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(item.cert.serial_number)
                .revocation_date(this_update)
                .build()
            )
        return builder.sign(self.ca.key, hashes.SHA256())

    def path(self, leaf: Issued) -> list[x509.Certificate]:
        return [leaf.cert, self.ca.cert]

    def verifier(self, checker: RevocationChecker) -> PKIVerifier:
        return PKIVerifier([self.ca.cert], now=_clock(), revocation=checker)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RevocationLab]:
    """The CA, its openssl-generated CRL, and the HTTP front end for CRL + OCSP."""
    root = tmp_path_factory.mktemp("revocation-ca")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    _Handler.root = root
    port = server.server_address[1]
    built = RevocationLab(root, int(port))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield built
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests to 127.0.0.1 must not go through an environment proxy."""
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")


pytestmark = pytest.mark.usefixtures("no_proxy")


class TestFetched:
    """CRLs and OCSP responses fetched from the URLs in the certificates."""

    def test_good_via_ocsp(self, lab: RevocationLab) -> None:
        """A certificate the live OCSP responder reports good authenticates."""
        check = lab.verifier(Checker("hard-fail")).verify(
            lab.path(lab.good), _client("good"))
        assert check.ok, check.detail
        assert check.detail == ""

    def test_good_via_fetched_crl(self, lab: RevocationLab) -> None:
        """A certificate absent from the fetched openssl CRL authenticates, and the status
        carries the CRL's nextUpdate so a cached decision cannot outlive it."""
        status = Checker("hard-fail").check(
            lab.path(lab.good_crl_only), datetime.now(UTC)
        )
        assert status.state is RevocationState.GOOD, status.detail
        assert status.next_update == lab.served_crl.next_update_utc

    def test_revoked_via_ocsp(self, lab: RevocationLab) -> None:
        """A certificate the OCSP responder reports revoked fails with REVOKED."""
        check = lab.verifier(Checker("soft-fail")).verify(
            lab.path(lab.revoked_ocsp), _client("revoked-ocsp"))
        assert check.failure is Failure.REVOKED
        assert "OCSP" in check.detail

    def test_revoked_via_fetched_crl(self, lab: RevocationLab) -> None:
        """A certificate listed on the CRL at its distribution point fails with REVOKED."""
        check = lab.verifier(Checker("soft-fail")).verify(
            lab.path(lab.revoked_crl), _client("revoked-crl"))
        assert check.failure is Failure.REVOKED
        assert "CRL" in check.detail

    def test_responder_down_soft_fail_passes(self, lab: RevocationLab) -> None:
        """soft-fail: an unreachable responder leaves the status unknown, which is accepted
        and said in the detail."""
        check = lab.verifier(Checker("soft-fail", timeout=2)).verify(
            lab.path(lab.responder_down), _client("responder-down"))
        assert check.ok
        assert "unknown" in check.detail

    def test_responder_down_hard_fail_fails(self, lab: RevocationLab) -> None:
        """hard-fail: the same unreachable responder fails with REVOCATION_UNKNOWN."""
        check = lab.verifier(Checker("hard-fail", timeout=2)).verify(
            lab.path(lab.responder_down), _client("responder-down"))
        assert check.failure is Failure.REVOCATION_UNKNOWN

    def test_undeclared_is_good(self, lab: RevocationLab) -> None:
        """A certificate naming no CRL or OCSP location has nothing to check, even in
        hard-fail mode (pyhanko-certvalidator's hard-fail semantics)."""
        status = Checker("hard-fail").check(lab.path(lab.plain), datetime.now(UTC))
        assert status.good


class TestSupplied:
    """CRLs handed to the checker as files, bytes or objects, with fetching off."""

    def test_revoked_via_crl_file(self, lab: RevocationLab, tmp_path: Path) -> None:
        """A supplied CRL file revokes a certificate that names no distribution point."""
        crl = lab.crl([lab.revoked_listed], this_update=REAL_NOW - timedelta(hours=1),
                      next_update=REAL_NOW + timedelta(days=1))
        path = tmp_path / "ca.crl"
        path.write_bytes(crl.public_bytes(Encoding.PEM))
        checker = Checker("hard-fail", crls=[path], fetch=False)
        check = lab.verifier(checker).verify(lab.path(lab.revoked_listed),
                                             _client("revoked-listed"))
        assert check.failure is Failure.REVOKED

    def test_openssl_crl_as_bytes(self, lab: RevocationLab) -> None:
        """The openssl-generated CRL supplied as DER bytes revokes what it lists."""
        der = (lab.dir / "crl.der").read_bytes()
        checker = Checker("hard-fail", crls=[der], fetch=False)
        assert checker.check(lab.path(lab.revoked_crl), datetime.now(UTC)).revoked
        assert checker.check(lab.path(lab.good_crl_only), datetime.now(UTC)).good

    def test_good_with_crl_object(self, lab: RevocationLab) -> None:
        """A certificate absent from a supplied x509.CertificateRevocationList is good."""
        crl = lab.crl([lab.revoked_listed], this_update=REAL_NOW - timedelta(hours=1),
                      next_update=REAL_NOW + timedelta(days=1))
        checker = Checker("hard-fail", crls=[crl], fetch=False)
        assert checker.check(lab.path(lab.plain), datetime.now(UTC)).good

    def test_expired_crl_is_unknown(self, lab: RevocationLab) -> None:
        """A CRL past its nextUpdate proves nothing (RFC 5280 6.3.3 (a)(2)): unknown, so
        hard-fail refuses and soft-fail accepts with a note."""
        crl = lab.crl([], this_update=REAL_NOW - timedelta(days=3),
                      next_update=REAL_NOW - timedelta(days=2))
        hard = Checker("hard-fail", crls=[crl], fetch=False)
        assert hard.check(lab.path(lab.good_crl_only), datetime.now(UTC)).unknown
        check = lab.verifier(hard).verify(lab.path(lab.good_crl_only), _client("good-crl"))
        assert check.failure is Failure.REVOCATION_UNKNOWN
        soft = Checker("soft-fail", crls=[crl], fetch=False)
        check = lab.verifier(soft).verify(lab.path(lab.good_crl_only), _client("good-crl"))
        assert check.ok
        assert "soft-fail" in check.detail

    def test_off_checks_nothing(self, lab: RevocationLab) -> None:
        """mode="off": even a revoked certificate passes; nothing is fetched."""
        check = lab.verifier(Checker("off")).verify(
            lab.path(lab.revoked_ocsp), _client("revoked-ocsp"))
        assert check.ok


class TestCaching:
    """The verified-chain cache respects revocation information's nextUpdate."""

    def test_cache_expires_at_next_update(self, lab: RevocationLab) -> None:
        """A cached acceptance is not reused past the CRL's nextUpdate: the checker runs again."""
        crl = lab.crl([], this_update=REAL_NOW - timedelta(hours=1),
                      next_update=REAL_NOW + timedelta(minutes=2))
        calls: list[datetime] = []

        class Counting(RevocationChecker):
            __slots__ = ()

            def check(self, path: Any, now: datetime) -> Any:
                calls.append(now)
                return super().check(path, now)

        moment = [REAL_NOW]
        verifier = PKIVerifier([lab.ca.cert], now=lambda: moment[0],
                               revocation=Counting("soft-fail", crls=[crl], fetch=False))
        chain, client = lab.path(lab.plain), _client("plain")
        assert verifier.verify(chain, client).ok
        assert verifier.verify(chain, client).ok
        assert len(calls) == 1
        moment[0] = REAL_NOW + timedelta(minutes=3)
        check = verifier.verify(chain, client)
        assert len(calls) == 2
        assert check.ok  # stale CRL -> unknown -> soft-fail accepts
        assert "unknown" in check.detail


class TestConfiguration:
    """Settings are validated when the checker is built."""

    @pytest.mark.parametrize(
        "kwargs",
        [{"mode": "strict"}, {"timeout": 0}, {"timeout": 31}, {"timeout": True},
         {"fetch": "yes"}, {"crls": "a.crl"}, {"crls": [b"not a crl"]}, {"crls": [42]},
         {"crls": ["/nonexistent/x.crl"]}, {"ocsps": [b"junk"]}],
    )
    def test_bad_settings_raise(self, kwargs: dict[str, Any]) -> None:
        """Every bad setting raises ConfigurationError at construction."""
        with pytest.raises(ConfigurationError):
            RevocationChecker(**kwargs)

    def test_pki_verifier_rejects_other_checker_types(self) -> None:
        """PKIVerifier(revocation=...) takes a RevocationChecker only."""
        with pytest.raises(ConfigurationError):
            PKIVerifier(revocation=object())  # type: ignore[arg-type]

    def test_checker_is_usable_inside_event_loop(self, lab: RevocationLab) -> None:
        """check() works when called from a coroutine (an ASGI app calling it directly)."""
        import asyncio

        crl = lab.crl([lab.revoked_listed], this_update=REAL_NOW - timedelta(hours=1),
                      next_update=REAL_NOW + timedelta(days=1))
        checker = Checker("hard-fail", crls=[crl], fetch=False)

        async def inside() -> bool:
            return checker.check(lab.path(lab.revoked_listed), datetime.now(UTC)).revoked

        assert asyncio.run(inside())

    def test_environment_is_clean(self) -> None:
        """The no_proxy fixture applies (guards the live-service tests above)."""
        assert os.environ.get("NO_PROXY") == "127.0.0.1"


# -- issue 13: hostile and slow revocation hosts -------------------------------------------------


class HostileLab:
    """A CA whose leaves point their CRL and OCSP URLs at a MisbehavingServer on 127.0.0.1;
    CRLs and OCSP answers are signed by the CA key with cryptography (no openssl)."""

    def __init__(self, server: MisbehavingServer) -> None:
        self.server = server
        self.valid = {"not_before": REAL_NOW - timedelta(days=1),
                      "not_after": REAL_NOW + timedelta(days=30)}
        self.ca = issue(name("Hostile Test CA"), ca=True, **self.valid)

    def leaf(self, cn: str, *, crl: list[str] = (), ocsp: str | None = None  # type: ignore[assignment]
             ) -> Issued:
        extra: list[tuple[x509.ExtensionType, bool]] = []
        if crl:
            # One distribution point per URL, as some CAs publish (RFC 5280 4.2.1.13).
            extra.append((x509.CRLDistributionPoints([
                x509.DistributionPoint([x509.UniformResourceIdentifier(self.server.url(p))],
                                       None, None, None) for p in crl]), False))
        return issue(name(cn), issuer=self.ca, extra=extra,
                     ocsp_url=self.server.url(ocsp) if ocsp else None, **self.valid)

    def crl_der(self, revoked: list[Issued]) -> bytes:
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.ca.cert.subject)
            .last_update(datetime.now(UTC) - timedelta(hours=1))
            .next_update(datetime.now(UTC) + timedelta(days=1))
            .add_extension(x509.CRLNumber(1), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca.key.public_key()),
                critical=False,
            )
        )
        for item in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(item.cert.serial_number)
                .revocation_date(datetime.now(UTC) - timedelta(hours=1))
                .build()
            )
        return builder.sign(self.ca.key, hashes.SHA256()).public_bytes(Encoding.DER)

    def responder(self, revoked: list[Issued] = ()) -> Any:  # type: ignore[assignment]
        return ocsp_responder(self.ca, [r.cert.serial_number for r in revoked],
                              now=lambda: datetime.now(UTC))

    def path(self, leaf: Issued) -> list[x509.Certificate]:
        return [leaf.cert, self.ca.cert]

    def verifier(self, checker: RevocationChecker, now: Any = None) -> PKIVerifier:
        return PKIVerifier([self.ca.cert], now=now or _clock(), revocation=checker)


@pytest.fixture
def hostile() -> Iterator[HostileLab]:
    server = MisbehavingServer()
    try:
        yield HostileLab(server)
    finally:
        server.close()


def _timed(fn: Any) -> tuple[Any, float]:
    start = time.monotonic()
    value = fn()
    return value, time.monotonic() - start


class TestHostileHosts:
    """Issue 13, findings 1, 3, 4 and 9: every fetch is bounded, whatever the host does."""

    @pytest.mark.parametrize("where", ["crl-body", "ocsp-headers"])
    def test_dripping_host_costs_one_deadline(self, hostile: HostileLab, where: str) -> None:
        """Finding 1: a host dripping one byte every 50 ms (each read well within the
        timeout) is cut off at the check's one deadline (1 s), not after ~15 s."""
        if where == "crl-body":
            leaf = hostile.leaf("drip-crl", crl=["/crl"])
            hostile.server.routes["/crl"] = drip_body(hostile.crl_der([]), 0.05)
        else:
            leaf = hostile.leaf("drip-ocsp", ocsp="/ocsp")
            hostile.server.routes["/ocsp"] = drip_headers(b"\x30\x03\x0a\x01\x00", 0.05)
        check, elapsed = _timed(lambda: hostile.verifier(Checker("soft-fail", timeout=1)).verify(
            hostile.path(leaf), _client(leaf.cert.subject.rfc4514_string()[3:])))
        assert elapsed < 1.6
        assert check.ok
        assert "unknown" in check.detail
        assert "timeout" in check.detail

    def test_huge_crl_refused_with_bounded_memory(self, hostile: HostileLab) -> None:
        """Finding 3: a 256 MiB CRL body (no Content-Length) is refused at the 64 MiB cap of
        supplied CRL files; peak memory stays near the cap instead of the whole body."""
        leaf = hostile.leaf("huge-crl", crl=["/crl"])
        hostile.server.routes["/crl"] = huge(256 * 1024 * 1024, announce=False)
        tracemalloc.start()
        try:
            status = Checker("hard-fail", timeout=20).check(hostile.path(leaf), datetime.now(UTC))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 100 * 1024 * 1024
        assert status.unknown
        assert "larger than" in status.detail

    def test_announced_huge_crl_refused_before_reading(self, hostile: HostileLab) -> None:
        """Finding 3: an announced oversize CRL is refused without reading the body."""
        leaf = hostile.leaf("huge-announced", crl=["/crl"])
        hostile.server.routes["/crl"] = huge(256 * 1024 * 1024, announce=True)
        status, elapsed = _timed(lambda: Checker("hard-fail", timeout=20).check(
            hostile.path(leaf), datetime.now(UTC)))
        assert status.unknown
        assert "larger than" in status.detail
        assert elapsed < 1.0

    def test_at_most_two_requests_per_certificate(self, hostile: HostileLab) -> None:
        """Finding 4: a leaf naming an OCSP responder and ten distribution points costs at
        most two requests, whatever fails."""
        paths = [f"/crl{i}" for i in range(10)]
        leaf = hostile.leaf("many-urls", crl=paths, ocsp="/ocsp")  # every route answers 404
        status = Checker("soft-fail", timeout=5).check(hostile.path(leaf), datetime.now(UTC))
        assert status.unknown
        assert hostile.server.total <= 2
        assert "at most 2 requests per certificate" in status.detail

    def test_redirect_not_followed(self, hostile: HostileLab) -> None:
        """Finding 4: a distribution point that redirects elsewhere is not followed."""
        leaf = hostile.leaf("redirected", crl=["/crl"])
        hostile.server.routes["/crl"] = redirect(hostile.server.url("/elsewhere.crl"))
        hostile.server.routes["/elsewhere.crl"] = ok(hostile.crl_der([]))
        status = Checker("hard-fail", timeout=5).check(hostile.path(leaf), datetime.now(UTC))
        assert status.unknown
        assert "redirect refused" in status.detail
        assert hostile.server.hits["/elsewhere.crl"] == 0

    def test_loopback_urls_refused_by_default(self, hostile: HostileLab) -> None:
        """Finding 9: URLs from certificates may not reach 127.0.0.1 unless allowed."""
        leaf = hostile.leaf("internal", crl=["/crl"], ocsp="/ocsp")
        hostile.server.routes["/crl"] = ok(hostile.crl_der([]))
        hostile.server.routes["/ocsp"] = hostile.responder()
        status = RevocationChecker("hard-fail", timeout=5).check(
            hostile.path(leaf), datetime.now(UTC))
        assert status.unknown
        assert "address policy" in status.detail
        assert hostile.server.total == 0

    def test_metadata_address_never_contacted(self, hostile: HostileLab) -> None:
        """Finding 9: an OCSP URL at 169.254.169.254 is refused without connecting."""
        leaf = issue(name("metadata"), issuer=hostile.ca,
                     ocsp_url="http://169.254.169.254/latest/meta-data/", **hostile.valid)
        status, elapsed = _timed(lambda: RevocationChecker("hard-fail", timeout=5).check(
            hostile.path(leaf), datetime.now(UTC)))
        assert status.unknown
        assert "link-local" in status.detail
        assert elapsed < 1.0

    def test_slow_host_costs_one_deadline_per_retry_period(self, hostile: HostileLab) -> None:
        """A slow host costs one deadline per retry period, not one per request: of eight
        concurrent checks one fetches, the others answer at once; later checks reuse the
        failure until FETCH_RETRY_AFTER has passed."""
        leaf = hostile.leaf("slow", crl=["/crl"])
        hostile.server.routes["/crl"] = stall(5.0)
        checker = Checker("soft-fail", timeout=1)
        times: list[float] = []
        lock = threading.Lock()
        barrier = threading.Barrier(8)

        def one() -> None:
            barrier.wait()
            status, elapsed = _timed(lambda: checker.check(hostile.path(leaf), datetime.now(UTC)))
            assert status.unknown
            with lock:
                times.append(elapsed)

        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert len(times) == 8
        assert sorted(times)[-2] < 0.5  # only one of the eight waited for the host
        assert max(times) < 1.6
        status, elapsed = _timed(lambda: checker.check(hostile.path(leaf), datetime.now(UTC)))
        assert elapsed < 0.5
        assert "retried after" in status.detail
        assert hostile.server.hits["/crl"] == 1


class TestConservativeAnswers:
    """Issue 13, findings 5-7: soft-fail is visible, short-lived, and revoked always wins."""

    def test_soft_fail_acceptance_is_visible(self, hostile: HostileLab) -> None:
        """Finding 5: a certificate accepted with status unknown carries the
        revocation_unknown notice and a detail on the result, and in the audit event."""
        leaf = hostile.leaf("unknown-status", ocsp="/ocsp")  # the route answers 404
        events: list[Any] = []
        auth = clientauth.Authenticator(
            clientauth.load_clients([{
                "client_id": "unknown-status", "token_endpoint_auth_method": "tls_client_auth",
                "tls_client_auth_subject_dn": "CN=unknown-status"}]),
            trust_anchors=[hostile.ca.cert], revocation=Checker("soft-fail", timeout=2),
            now=_clock(), audit=events.append,
        )
        result = auth.authenticate(clientauth.ClientRequest(
            [], form={"client_id": "unknown-status"}, tls_chain=hostile.path(leaf)))
        assert result.ok
        assert "revocation_unknown" in [str(n) for n in result.notices]
        assert "unknown" in result.detail and "HTTP status 404" in result.detail
        assert events and "revocation_unknown" in events[-1].notices
        assert "revocation_unknown" in events[-1].as_dict()["notices"]

    def test_unknown_not_cached_like_good(self, hostile: HostileLab,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
        """Finding 6: a soft-fail acceptance is re-examined within UNKNOWN_RECHECK_AFTER
        (30 s), so a responder that comes back and says revoked is heeded long before the
        5-minute verified-chain TTL."""
        monkeypatch.setattr(revocation_module, "FETCH_RETRY_AFTER", 0.0, raising=False)
        leaf = hostile.leaf("comes-back", ocsp="/ocsp")  # 404 first: unknown
        offset = [timedelta(0)]
        verifier = hostile.verifier(Checker("soft-fail", timeout=2),
                                    now=lambda: datetime.now(UTC) + offset[0])
        client = _client("comes-back")
        assert verifier.verify(hostile.path(leaf), client).ok
        hostile.server.routes["/ocsp"] = hostile.responder(revoked=[leaf])
        offset[0] = timedelta(seconds=31)
        check = verifier.verify(hostile.path(leaf), client)
        assert check.failure is Failure.REVOKED

    def test_revoked_crl_beats_good_ocsp(self, hostile: HostileLab) -> None:
        """Finding 7: the responder says good, the CRL at the distribution point lists the
        certificate: revoked."""
        leaf = hostile.leaf("split-verdict", crl=["/crl"], ocsp="/ocsp")
        hostile.server.routes["/ocsp"] = hostile.responder()
        hostile.server.routes["/crl"] = ok(hostile.crl_der([leaf]))
        status = Checker("soft-fail", timeout=5).check(hostile.path(leaf), datetime.now(UTC))
        assert status.revoked, status.detail
        assert "CRL" in status.detail

    def test_supplied_crl_always_consulted(self, hostile: HostileLab) -> None:
        """Finding 7: an operator-supplied CRL that lists the certificate wins over a live
        OCSP "good"."""
        leaf = hostile.leaf("supplied-wins", ocsp="/ocsp")
        hostile.server.routes["/ocsp"] = hostile.responder()
        checker = Checker("soft-fail", timeout=5, crls=[hostile.crl_der([leaf])])
        status = checker.check(hostile.path(leaf), datetime.now(UTC))
        assert status.revoked, status.detail

    def test_good_needs_no_revoked_source(self, hostile: HostileLab) -> None:
        """Both sources reachable and good: good, from both."""
        leaf = hostile.leaf("both-good", crl=["/crl"], ocsp="/ocsp")
        hostile.server.routes["/ocsp"] = hostile.responder()
        hostile.server.routes["/crl"] = ok(hostile.crl_der([]))
        status = Checker("hard-fail", timeout=5).check(hostile.path(leaf), datetime.now(UTC))
        assert status.good, status.detail
        assert hostile.server.total == 2
