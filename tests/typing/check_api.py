"""Never executed: mypy --strict checks that the public API types as a user would use it."""

from __future__ import annotations

from datetime import datetime

from cryptography import x509

import clientauth


def _usage(cert: x509.Certificate, now: datetime) -> None:
    registry: clientauth.ClientRegistry = clientauth.load_clients("clients.json")
    secret: str = clientauth.generate_secret()
    stored: str = clientauth.hash_secret(secret)
    auth = clientauth.Authenticator(
        registry,
        trust_anchors=[cert],
        intermediates=[b"DER"],
        now=lambda: now,
        forwarded=clientauth.ForwardedCertificates("nginx", trusted_proxies=["10.0.0.0/8"]),
    )
    request = clientauth.ClientRequest(
        [("authorization", "Basic ..."), (b"x", b"y")], form={"client_id": "a"}, peer="10.0.0.1"
    )
    result: clientauth.AuthResult = auth.authenticate(request)
    ok: bool = result.ok
    cid: str | None = result.client_id
    method: clientauth.AuthMethod | None = result.method
    failure: clientauth.Failure | None = result.failure
    error: str | None = result.error
    thumb: str | None = result.thumbprint
    certs: list[x509.Certificate] = clientauth.parse_forwarded("haproxy", "MII...")
    _hop: list[x509.Certificate] = clientauth.parse_forwarded(
        "envoy", "Hash=...", element_by="spiffe://mesh/edge"
    )
    _by_proxy = clientauth.ForwardedCertificates(
        "envoy", trusted_proxies=["10.0.0.0/8"], element_by="spiffe://mesh/edge"
    )
    claims: dict[str, object] = clientauth.bind_claims({"sub": "a"}, cert)
    clientauth.check_binding(claims, cert)
    x5t: str = clientauth.certificate_thumbprint(cert)
    _pinned = clientauth.ForwardedCertificates(
        "nginx", proxy_certificates=[cert, x5t, "-----BEGIN CERTIFICATE-----..."]
    )
    _pins: tuple[str, ...] = _pinned.proxy_certificates
    try:
        clientauth.check_binding({}, cert)
    except clientauth.BindingMismatch as exc:
        _err: clientauth.ClientAuthError = exc
    del ok, cid, method, failure, error, thumb, certs, x5t, stored


def _assertions(registry: clientauth.ClientRegistry, now: datetime) -> None:
    """Client assertions (RFC 7523): audience, replay store, jwks_uri keys."""
    from datetime import timedelta

    from clientauth.replay_sql import SQLReplayStore

    shared: clientauth.ReplayStore = SQLReplayStore("sqlite:///jti.db", now=lambda: now)
    auth = clientauth.Authenticator(
        registry,
        audience=["https://as.example", "https://as.example/token"],
        replay=shared,
        assertion_leeway=timedelta(seconds=10),
        assertion_max_lifetime=timedelta(minutes=2),
        jwks_keys=clientauth.JwksKeys(timeout=2.0, allow_addresses=["10.0.0.0/8"]),
    )
    _memory: clientauth.ReplayStore = clientauth.MemoryReplayStore(max_entries=1000)
    _own = clientauth.AssertionVerifier(audience="https://as.example")
    result = auth.authenticate(clientauth.ClientRequest(form={"client_assertion": "..."}))
    method: bool = result.method is clientauth.AuthMethod.PRIVATE_KEY_JWT
    bound: bool = clientauth.Client.from_metadata({}).tls_client_certificate_bound_access_tokens
    del method, bound
