"""Direct RFC 8705 mutual TLS with uvicorn -- no proxy: the client certificate reaches the app.

    python examples/direct_mtls_uvicorn.py           # self-check: start uvicorn with TLS on
                                                     # 127.0.0.1, one request with a
                                                     # client certificate, stop; exit 0
    python examples/direct_mtls_uvicorn.py --serve   # serve on https://127.0.0.1:8443 and
                                                     # print the curl command to try

A throw-away PKI is generated into a temporary directory at start-up: a server certificate
for 127.0.0.1, a client root CA, one ``tls_client_auth`` client (``CN=payments``) and one
pinned ``self_signed_tls_client_auth`` client. The TLS layer only lets in certificates that
chain to a file of accepted certificates (``ssl_ca_certs``): the client root *and* every
pinned self-signed certificate go into it (Python's ssl has no verify callback; see
``clientauth.servers.uvicorn``). Needs ``pip install 'clientauth[uvicorn]'``; the self-check's
client is the standard library's ``http.client``.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import ssl
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import clientauth
from clientauth.asgi import ClientAuthMiddleware
from clientauth.servers import uvicorn as mtls


async def whoami(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The protected app: says which client called, and how it proved it."""
    result = scope["clientauth"]
    body = json.dumps({"client_id": result.client_id, "method": result.method,
                       "source": result.source, "x5t#S256": result.thumbprint}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def make_certificate(directory: Path, stem: str, cn: str, *, issuer: Any = None,
                     ca: bool = False, server: bool = False) -> Any:
    """Write ``stem.pem`` / ``stem.key``; returns (certificate, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    signer_cert, signer_key = issuer if issuer else (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer_cert.subject if signer_cert else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        # RFC 5280 4.2.1.1/4.2.1.2 key identifiers: the web PKI profile clientauth's
        # verifier follows requires them.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            signer_key.public_key()), critical=False)
    )
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    if not ca:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
    cert = builder.sign(signer_key, hashes.SHA256())
    (directory / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / f"{stem}.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return cert, key


def build(directory: Path) -> tuple[Any, dict[str, Any]]:
    """The PKI on disk, the guarded app, and the direct-mTLS server settings."""
    server_ca = make_certificate(directory, "server-ca", "Example Server CA", ca=True)
    make_certificate(directory, "server", "localhost", issuer=server_ca, server=True)
    client_ca = make_certificate(directory, "client-ca", "Example Client Root CA", ca=True)
    make_certificate(directory, "payments", "payments", issuer=client_ca)
    device, _ = make_certificate(directory, "device", "device-42")  # self-signed
    device_pem = device.public_bytes(serialization.Encoding.PEM).decode()
    # What the TLS handshake accepts: the client root plus each pinned self-signed cert.
    (directory / "accepted-clients.pem").write_text(
        (directory / "client-ca.pem").read_text() + device_pem)

    registry = clientauth.load_clients([
        {"client_id": "payments", "token_endpoint_auth_method": "tls_client_auth",
         "tls_client_auth_subject_dn": "CN=payments"},
        {"client_id": "device-42", "token_endpoint_auth_method": "self_signed_tls_client_auth",
         "tls_client_certificates": [device_pem]},
    ])
    auth = clientauth.Authenticator(registry, trust_anchors=[client_ca[0]])
    app = ClientAuthMiddleware(whoami, authenticator=auth)
    settings = {
        "ssl_certfile": str(directory / "server.pem"),
        "ssl_keyfile": str(directory / "server.key"),
        "ssl_ca_certs": str(directory / "accepted-clients.pem"),
        "client_cert_required": True,
    }
    return app, settings


def get(directory: Path, stem: str, port: int, path: str) -> tuple[int, dict[str, Any]]:
    """GET ``path`` presenting the certificate ``stem``: (status, JSON body)."""
    context = ssl.create_default_context(cafile=str(directory / "server-ca.pem"))
    context.load_cert_chain(str(directory / f"{stem}.pem"), str(directory / f"{stem}.key"))
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def self_test() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        app, settings = build(directory)
        config = mtls.config(app, host="127.0.0.1", port=0, log_level="warning",
                             lifespan="off", **settings)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 15
            while not server.started:
                assert thread.is_alive(), "uvicorn exited during start-up"
                assert time.monotonic() < deadline, "uvicorn did not start in time"
                time.sleep(0.02)
            port = server.servers[0].sockets[0].getsockname()[1]
            for stem, expected in (("payments", "payments"), ("device", "device-42")):
                status, body = get(directory, stem, port, "/whoami")
                assert status == 200, body
                assert body["client_id"] == expected, body
                assert body["source"] == "tls", body
                print(f"direct mTLS: {stem} certificate -> {body['client_id']} "
                      f"({body['method']})")
        finally:
            server.should_exit = True
            thread.join(10)
    print("direct_mtls_uvicorn example -- ok")


def serve() -> None:
    directory = Path(tempfile.mkdtemp(prefix="clientauth-mtls-"))
    app, settings = build(directory)
    print(f"certificates in {directory}")
    print(f"try: curl --cacert {directory}/server-ca.pem --cert {directory}/payments.pem "
          f"--key {directory}/payments.key https://127.0.0.1:8443/whoami")
    mtls.run(app, host="127.0.0.1", port=8443, **settings)


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve()
    else:
        self_test()
