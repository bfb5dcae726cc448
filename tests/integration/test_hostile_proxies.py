"""Hostile certificates through each real proxy (nginx, HAProxy, Apache httpd, Caddy).

What must hold: a client certificate that the proxy's TLS stack accepts and forwards, but
whose subject cryptography cannot read (it parses lazily), never makes the app answer 500.
Either the proxy refuses the handshake, or the app answers 401 with a failed result. The
certificate is assembled with tests/vectors/hostile/generate.py and issued by the
integration PKI's trusted intermediate, so the proxy's chain check passes.

A BIT STRING under CN is the variant real TLS stacks carry: OpenSSL (nginx, HAProxy, Apache
httpd) forwards it, Go (Caddy) refuses the handshake; on 0.1.0 the app answered 500 behind
the first three. A UTF8String that is not UTF-8 is refused by OpenSSL itself (Python's ssl
cannot even load it to present it); the in-process corpus covers that one.
"""

from __future__ import annotations

import base64
import importlib.util
import ssl
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from harness import APP_MARKER, ItPki, RunningProxy

GENERATOR = Path(__file__).parent.parent / "vectors" / "hostile" / "generate.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hostile_generate", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _hostile_identity(it_pki: ItPki, stem: str, subject_value: bytes) -> tuple[str, str]:
    """(cert path, key path): a leaf with ``subject_value`` as its CN, issued by the trusted
    intermediate, followed by that intermediate."""
    g = _generator()
    issuer = it_pki.intermediate
    der = g.certificate(
        subject=g.name(g.rdn(g.attribute(g.ORG, g.utf8(b"Example Corp"))),
                       g.rdn(g.attribute(g.CN, subject_value))),
        issuer=issuer.cert.subject.public_bytes(),
        extensions=[g.KU_DEFAULT, g.EKU_DEFAULT],
        signer=issuer.key,
    )
    text = base64.b64encode(der).decode("ascii")
    pem = "-----BEGIN CERTIFICATE-----\n" + "\n".join(
        text[i : i + 64] for i in range(0, len(text), 64)
    ) + "\n-----END CERTIFICATE-----\n"
    cert_path = it_pki.directory / f"{stem}.pem"
    key_path = it_pki.directory / f"{stem}.key"
    cert_path.write_text(pem + issuer.pem)
    key_path.write_bytes(g.LEAF_KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return str(cert_path), str(key_path)


HOSTILE_CN: dict[str, Callable[[ModuleType], bytes]] = {
    "cn-bitstring": lambda g: g.bit_string(b"client-1"),
}


@pytest.mark.parametrize("variant", sorted(HOSTILE_CN))
def test_hostile_subject_never_500(
    proxy: RunningProxy, it_pki: ItPki, variant: str
) -> None:
    """The proxy refuses the handshake, or the app answers 401: never a 500, never ok."""
    g = _generator()
    cert_path, key_path = _hostile_identity(it_pki, f"hostile-{variant}", HOSTILE_CN[variant](g))
    context = ssl.create_default_context(cafile=it_pki.server_ca_path)
    context.load_cert_chain(cert_path, key_path)
    with httpx.Client(verify=context, timeout=10.0) as client:
        for data in ({"client_id": "client-1"}, None):
            try:
                response = client.post(f"{proxy.url}/auth/{proxy.spec.fmt}", data=data)
            except httpx.TransportError:
                continue  # the proxy's TLS stack refused the certificate: nothing forwarded
            assert response.status_code != 500, response.text
            if APP_MARKER not in response.headers:
                assert response.status_code == 400, response.text  # the proxy's own refusal
                continue
            assert response.status_code == 401, response.text
            payload = response.json()
            assert not payload["ok"]
            assert payload["failure"] in {"forwarded_header_invalid", "malformed_certificate"}

