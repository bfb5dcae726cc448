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
import os
import socket
import subprocess
import tempfile
import threading
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
from clientauth.exceptions import ConfigurationError
from clientauth.pki import PKIVerifier
from clientauth.result import Failure
from clientauth.revocation import RevocationChecker, RevocationState

REAL_NOW = datetime.now(UTC).replace(microsecond=0)


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
        check = lab.verifier(RevocationChecker("hard-fail")).verify(
            lab.path(lab.good), _client("good"))
        assert check.ok, check.detail
        assert check.detail == ""

    def test_good_via_fetched_crl(self, lab: RevocationLab) -> None:
        """A certificate absent from the fetched openssl CRL authenticates, and the status
        carries the CRL's nextUpdate so a cached decision cannot outlive it."""
        status = RevocationChecker("hard-fail").check(
            lab.path(lab.good_crl_only), datetime.now(UTC)
        )
        assert status.state is RevocationState.GOOD, status.detail
        assert status.next_update == lab.served_crl.next_update_utc

    def test_revoked_via_ocsp(self, lab: RevocationLab) -> None:
        """A certificate the OCSP responder reports revoked fails with REVOKED."""
        check = lab.verifier(RevocationChecker("soft-fail")).verify(
            lab.path(lab.revoked_ocsp), _client("revoked-ocsp"))
        assert check.failure is Failure.REVOKED
        assert "OCSP" in check.detail

    def test_revoked_via_fetched_crl(self, lab: RevocationLab) -> None:
        """A certificate listed on the CRL at its distribution point fails with REVOKED."""
        check = lab.verifier(RevocationChecker("soft-fail")).verify(
            lab.path(lab.revoked_crl), _client("revoked-crl"))
        assert check.failure is Failure.REVOKED
        assert "CRL" in check.detail

    def test_responder_down_soft_fail_passes(self, lab: RevocationLab) -> None:
        """soft-fail: an unreachable responder leaves the status unknown, which is accepted
        and said in the detail."""
        check = lab.verifier(RevocationChecker("soft-fail", timeout=2)).verify(
            lab.path(lab.responder_down), _client("responder-down"))
        assert check.ok
        assert "unknown" in check.detail

    def test_responder_down_hard_fail_fails(self, lab: RevocationLab) -> None:
        """hard-fail: the same unreachable responder fails with REVOCATION_UNKNOWN."""
        check = lab.verifier(RevocationChecker("hard-fail", timeout=2)).verify(
            lab.path(lab.responder_down), _client("responder-down"))
        assert check.failure is Failure.REVOCATION_UNKNOWN

    def test_undeclared_is_good(self, lab: RevocationLab) -> None:
        """A certificate naming no CRL or OCSP location has nothing to check, even in
        hard-fail mode (pyhanko-certvalidator's hard-fail semantics)."""
        status = RevocationChecker("hard-fail").check(lab.path(lab.plain), datetime.now(UTC))
        assert status.good


class TestSupplied:
    """CRLs handed to the checker as files, bytes or objects, with fetching off."""

    def test_revoked_via_crl_file(self, lab: RevocationLab, tmp_path: Path) -> None:
        """A supplied CRL file revokes a certificate that names no distribution point."""
        crl = lab.crl([lab.revoked_listed], this_update=REAL_NOW - timedelta(hours=1),
                      next_update=REAL_NOW + timedelta(days=1))
        path = tmp_path / "ca.crl"
        path.write_bytes(crl.public_bytes(Encoding.PEM))
        checker = RevocationChecker("hard-fail", crls=[path], fetch=False)
        check = lab.verifier(checker).verify(lab.path(lab.revoked_listed),
                                             _client("revoked-listed"))
        assert check.failure is Failure.REVOKED

    def test_openssl_crl_as_bytes(self, lab: RevocationLab) -> None:
        """The openssl-generated CRL supplied as DER bytes revokes what it lists."""
        der = (lab.dir / "crl.der").read_bytes()
        checker = RevocationChecker("hard-fail", crls=[der], fetch=False)
        assert checker.check(lab.path(lab.revoked_crl), datetime.now(UTC)).revoked
        assert checker.check(lab.path(lab.good_crl_only), datetime.now(UTC)).good

    def test_good_with_crl_object(self, lab: RevocationLab) -> None:
        """A certificate absent from a supplied x509.CertificateRevocationList is good."""
        crl = lab.crl([lab.revoked_listed], this_update=REAL_NOW - timedelta(hours=1),
                      next_update=REAL_NOW + timedelta(days=1))
        checker = RevocationChecker("hard-fail", crls=[crl], fetch=False)
        assert checker.check(lab.path(lab.plain), datetime.now(UTC)).good

    def test_expired_crl_is_unknown(self, lab: RevocationLab) -> None:
        """A CRL past its nextUpdate proves nothing (RFC 5280 6.3.3 (a)(2)): unknown, so
        hard-fail refuses and soft-fail accepts with a note."""
        crl = lab.crl([], this_update=REAL_NOW - timedelta(days=3),
                      next_update=REAL_NOW - timedelta(days=2))
        hard = RevocationChecker("hard-fail", crls=[crl], fetch=False)
        assert hard.check(lab.path(lab.good_crl_only), datetime.now(UTC)).unknown
        check = lab.verifier(hard).verify(lab.path(lab.good_crl_only), _client("good-crl"))
        assert check.failure is Failure.REVOCATION_UNKNOWN
        soft = RevocationChecker("soft-fail", crls=[crl], fetch=False)
        check = lab.verifier(soft).verify(lab.path(lab.good_crl_only), _client("good-crl"))
        assert check.ok
        assert "soft-fail" in check.detail

    def test_off_checks_nothing(self, lab: RevocationLab) -> None:
        """mode="off": even a revoked certificate passes; nothing is fetched."""
        check = lab.verifier(RevocationChecker("off")).verify(
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
        checker = RevocationChecker("hard-fail", crls=[crl], fetch=False)

        async def inside() -> bool:
            return checker.check(lab.path(lab.revoked_listed), datetime.now(UTC)).revoked

        assert asyncio.run(inside())

    def test_environment_is_clean(self) -> None:
        """The no_proxy fixture applies (guards the live-service tests above)."""
        assert os.environ.get("NO_PROXY") == "127.0.0.1"
