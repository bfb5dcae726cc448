"""Audit events: one per authentication, expiry warnings, hooks, never a secret."""

from __future__ import annotations

import base64
import logging
from datetime import timedelta

import pytest

import clientauth
from certs import NOW, Pki, clock
from clientauth import AuditEvent, Authenticator, ClientRequest

SECRET = clientauth.generate_secret()
EPOCH = int(NOW.timestamp())


def basic(cid: str, secret: str) -> tuple[str, str]:
    return ("authorization", "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode())


@pytest.fixture
def registry() -> clientauth.MemoryRegistry:
    return clientauth.load_clients([
        {"client_id": "steady", "client_secret_hash": clientauth.hash_secret(SECRET)},
        {"client_id": "expiring", "client_secret_hash": clientauth.hash_secret(SECRET),
         "client_secret_expires_at": EPOCH + 3 * 86400},
        {"client_id": "mtls", "token_endpoint_auth_method": "tls_client_auth",
         "tls_client_auth_subject_dn": "CN=mtls"},
    ])


class TestEvents:
    def test_one_event_per_authentication(self, registry: clientauth.MemoryRegistry) -> None:
        """Success and failure each emit exactly one authentication event with the fields."""
        events: list[AuditEvent] = []
        auth = Authenticator(registry, now=clock(NOW), audit=events.append)
        auth.authenticate(ClientRequest([basic("steady", SECRET)], peer="192.0.2.7"))
        auth.authenticate(ClientRequest([basic("steady", "wrong")], peer="192.0.2.8"))
        auth.authenticate(ClientRequest())
        assert [e.event for e in events] == ["authentication"] * 3
        ok, bad, empty = events
        assert (ok.ok, ok.client_id, ok.method, ok.source, ok.peer) == (
            True, "steady", "client_secret_basic", "authorization", "192.0.2.7")
        assert (bad.ok, bad.failure, bad.error) == (False, "bad_secret", "invalid_client")
        assert (empty.client_id, empty.failure) == (None, "no_credentials")
        assert ok.time == NOW

    def test_certificate_fields(self, registry: clientauth.MemoryRegistry, pki: Pki) -> None:
        """A certificate authentication records the thumbprint and source."""
        events: list[AuditEvent] = []
        auth = Authenticator(registry, trust_anchors=[pki.root.cert], now=clock(NOW),
                             audit=events.append)
        leaf = pki.leaf("mtls")
        auth.authenticate(ClientRequest(form={"client_id": "mtls"},
                                        tls_chain=pki.chain_for(leaf)))
        (event,) = events
        assert event.ok and event.source == "tls"
        assert event.thumbprint == clientauth.certificate_thumbprint(leaf.cert)

    def test_expiry_warning(self, registry: clientauth.MemoryRegistry) -> None:
        """A credential expiring within the window adds a credential_expiring event."""
        events: list[AuditEvent] = []
        auth = Authenticator(registry, now=clock(NOW), audit=events.append,
                             expiry_warning=timedelta(days=7))
        auth.authenticate(ClientRequest([basic("expiring", SECRET)]))
        assert [e.event for e in events] == ["authentication", "credential_expiring"]
        assert events[1].expires_at == NOW + timedelta(days=3)
        events.clear()
        Authenticator(registry, now=clock(NOW), audit=events.append,
                      expiry_warning=timedelta(days=1)).authenticate(
            ClientRequest([basic("expiring", SECRET)]))
        assert [e.event for e in events] == ["authentication"]

    def test_failing_hook_does_not_change_outcome(
        self, registry: clientauth.MemoryRegistry, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A hook that raises is logged; the authentication result stands."""
        def broken(event: AuditEvent) -> None:
            raise RuntimeError("sink down")

        auth = Authenticator(registry, audit=broken)
        with caplog.at_level(logging.ERROR, logger="clientauth.audit"):
            assert auth.authenticate(ClientRequest([basic("steady", SECRET)])).ok
        assert "audit hook failed" in caplog.text

    def test_bad_settings(self, registry: clientauth.MemoryRegistry) -> None:
        """audit must be callable; expiry_warning a non-negative timedelta."""
        with pytest.raises(clientauth.ConfigurationError):
            Authenticator(registry, audit="log")  # type: ignore[arg-type]
        with pytest.raises(clientauth.ConfigurationError):
            Authenticator(registry, expiry_warning=timedelta(days=-1))


class TestLogging:
    def test_structured_extra_fields(
        self, registry: clientauth.MemoryRegistry, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Events reach the clientauth.audit logger with extra fields; INFO ok, WARNING refused."""
        auth = Authenticator(registry, now=clock(NOW))
        with caplog.at_level(logging.INFO, logger="clientauth.audit"):
            auth.authenticate(ClientRequest([basic("steady", SECRET)]))
            auth.authenticate(ClientRequest([basic("steady", "nope")]))
        ok, bad = caplog.records
        assert ok.levelno == logging.INFO and bad.levelno == logging.WARNING
        assert ok.clientauth_client_id == "steady"  # type: ignore[attr-defined]
        assert bad.clientauth_failure == "bad_secret"  # type: ignore[attr-defined]
        assert bad.clientauth_audit["ok"] is False  # type: ignore[attr-defined]

    def test_no_secret_or_hash_anywhere(
        self, registry: clientauth.MemoryRegistry, caplog: pytest.LogCaptureFixture
    ) -> None:
        """No log record or event, at DEBUG, contains the secret or its stored hash."""
        stored = registry.get("steady")
        assert stored is not None
        events: list[AuditEvent] = []
        auth = Authenticator(registry, audit=events.append)
        with caplog.at_level(logging.DEBUG):
            for secret in (SECRET, SECRET + "x", "y" + SECRET):
                auth.authenticate(ClientRequest([basic("steady", secret)]))
                auth.authenticate(ClientRequest(form={"client_id": "steady",
                                                      "client_secret": secret}))
        text = caplog.text + repr([r.__dict__ for r in caplog.records]) + repr(events)
        assert SECRET not in text
        digest = stored.metadata["client_secret_hash"].split("$")[-1]
        assert digest not in text

    def test_library_is_silent_by_default(self) -> None:
        """With no logging configured, refusals print nothing (NullHandler on 'clientauth')."""
        import subprocess
        import sys

        code = ("import clientauth;"
                "a=clientauth.Authenticator(clientauth.load_clients([]));"
                "a.authenticate(clientauth.ClientRequest())")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert proc.returncode == 0 and proc.stderr == ""


class TestIgnoredForwardedHeader:
    """Issue 16 finding 4: a forwarded certificate header sent by an untrusted peer (a
    spoofing attempt) is named in ``detail`` and in the audit log line, so it never reads as
    a client that simply sent no certificate."""

    @pytest.fixture
    def auth(self, registry: clientauth.MemoryRegistry) -> Authenticator:
        forwarded = clientauth.ForwardedCertificates("nginx", trusted_proxies=["127.0.0.1/32"])
        return Authenticator(registry, forwarded=forwarded, now=clock(NOW))

    def spoofed(self, form: dict[str, str] | None) -> ClientRequest:
        return ClientRequest([("x-ssl-client-cert", "-----BEGIN%20CERTIFICATE-----")],
                             form=form, peer="203.0.113.9")

    @pytest.mark.parametrize("form", [{"client_id": "mtls"}, None], ids=["client_id", "none"])
    def test_detail_and_log_line_name_the_header(
        self, auth: Authenticator, form: dict[str, str] | None, caplog: pytest.LogCaptureFixture,
    ) -> None:
        """detail and the WARNING line both say which header was ignored and why; the
        response body (fixed phrases) does not."""
        with caplog.at_level(logging.INFO, logger="clientauth.audit"):
            result = auth.authenticate(self.spoofed(form))
        assert not result.ok
        assert clientauth.Notice.UNTRUSTED_FORWARDED_HEADER in result.notices
        assert "x-ssl-client-cert" in result.detail
        assert "ignored" in result.detail and "not a trusted proxy" in result.detail
        [record] = caplog.records
        message = record.getMessage()
        assert "x-ssl-client-cert" in message and "ignored" in message
        assert record.clientauth_detail == result.detail  # type: ignore[attr-defined]

    def test_plain_missing_certificate_unchanged(self, auth: Authenticator) -> None:
        """Without a forwarded header the detail says only that no certificate came."""
        result = auth.authenticate(ClientRequest(form={"client_id": "mtls"}, peer="203.0.113.9"))
        assert result.failure is clientauth.Failure.MISSING_CERTIFICATE
        assert "ignored" not in result.detail
        assert "forwarded" not in result.detail

    def test_log_line_escapes_control_characters(self) -> None:
        """A detail quoted in the log line cannot forge a second line."""
        event = AuditEvent(event="authentication", time=NOW, ok=False, client_id=None,
                           method=None, failure="unknown_client", error="invalid_client",
                           thumbprint=None, source="form", peer=None, expires_at=None,
                           detail="no client 'x'\nclientauth.audit forged line")
        assert "\n" not in event.message()
        assert "\\n" in event.message()
