"""Certificates made the way people make them: with the ``openssl`` command line.

tests/certs.py builds certificates with cryptography, always well-formed; these come from
``openssl req`` / ``openssl x509 -req`` with and without the extensions people forget, so the
tests see what users' certificates look like (OpenSSL 3.0's ``x509 -req`` without ``-extfile``
issues version 1, ``req -x509`` adds no keyUsage). EC P-256 keys: fast to generate.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

EXTENSIONS = """
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ca_no_key_usage]
basicConstraints = critical, CA:TRUE
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ca_no_cert_sign]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
[ca_no_basic_constraints]
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ca_server_eku]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
[ca_pathlen0]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
[self_signed_client]
basicConstraints = critical, CA:FALSE
extendedKeyUsage = clientAuth
"""

_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]


@dataclass(frozen=True)
class Made:
    """One certificate made by openssl: its files and the parsed certificate."""

    cert_path: Path
    key_path: Path

    @property
    def cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_path.read_bytes())

    @property
    def pem(self) -> str:
        return self.cert_path.read_text()


class OpenSSL:
    """Runs the openssl CLI in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.config = directory / "extensions.cnf"
        self.config.write_text(EXTENSIONS)

    def _run(self, *args: str) -> None:
        proc = subprocess.run(["openssl", *args], cwd=self.directory, capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, f"openssl {' '.join(args)}: {proc.stderr}"

    def root(self, stem: str, subject: str, *, key_usage: bool = True,
             section: str | None = None, days: int = 30) -> Made:
        """``openssl req -x509``: a self-signed certificate; with ``key_usage`` the
        keyUsage the recipe in docs/mtls.md asks for, without it openssl's default (none)."""
        extra: list[str] = []
        if key_usage:
            extra += ["-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign"]
        if section is not None:
            extra += ["-config", str(self.config), "-extensions", section]
        self._run("req", "-x509", *_KEY, "-keyout", f"{stem}.key", "-out", f"{stem}.pem",
                  "-subj", subject, "-days", str(days), *extra)
        return Made(self.directory / f"{stem}.pem", self.directory / f"{stem}.key")

    def issue(self, stem: str, subject: str, issuer: Made, *, section: str | None,
              days: int = 10) -> Made:
        """``openssl req`` + ``openssl x509 -req``; ``section=None`` gives no -extfile (the
        version 1 certificate OpenSSL 3.0 makes then)."""
        self._run("req", *_KEY, "-keyout", f"{stem}.key", "-out", f"{stem}.csr",
                  "-subj", subject)
        extra = [] if section is None else ["-extfile", str(self.config), "-extensions", section]
        self._run("x509", "-req", "-in", f"{stem}.csr", "-CA", str(issuer.cert_path),
                  "-CAkey", str(issuer.key_path), "-set_serial", str(_serial(stem)),
                  "-days", str(days), "-out", f"{stem}.pem", *extra)
        return Made(self.directory / f"{stem}.pem", self.directory / f"{stem}.key")


def _serial(stem: str) -> int:
    # Distinct, positive serials without a serial file (RFC 5280 4.1.2.2).
    return int.from_bytes(hashlib.sha256(stem.encode()).digest()[:8], "big") | 1
