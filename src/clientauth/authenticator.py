"""Request -> registered method -> verifier -> :class:`~clientauth.AuthResult`.

The :class:`Authenticator` is configured once and shared by every request (thread- and
task-safe). It never raises for anything a client sends: malformed credentials, garbage
certificates and unknown ids all become failed results. It raises only for programming
errors (a wrong argument type) and for a registry that cannot be read (a database that is
down): :class:`~clientauth.RegistryUnavailable`, because "the registry is unavailable" must not
be reported as "the client is unknown". The adapters answer it with 503.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import NoReturn, Protocol, TypeVar

from cryptography import x509

from . import audit
from ._cache import LRU
from ._clock import clock_setting
from ._presented import NO_CERTIFICATES, PresentedChain, read_certificates
from ._x509 import CertificateLike
from .assertion import (
    DEFAULT_ASSERTION_LEEWAY,
    DEFAULT_ASSERTION_LIFETIME,
    REPLAYED,
    AssertionVerifier,
    JwksKeys,
    ParsedAssertion,
    Unreplayed,
    parse_assertion,
)
from .audit import AuditEvent, AuditHook
from .clients import Client, ClientRegistry, MemoryRegistry
from .exceptions import ConfigurationError, CredentialsError, ParseError, RegistryUnavailable
from .forwarded import ForwardedCertificates
from .jwks import JwksFetcher
from .pinned import PinnedVerifier
from .pki import PKIVerifier
from .pki import _refused_leaf as refused_leaf
from .pki import _san_required as san_required
from .registry.file import FileRegistry
from .replay import ReplayStore
from .request import (
    MAX_CLIENT_ID_LENGTH,
    ClientRequest,
    CredentialOptions,
    Presented,
    basic_value,
    extract_credentials,
    lone_authorization,
)
from .result import AuthMethod, AuthResult, CertificateCheck, Failure, Notice
from .revocation import RevocationChecker
from .secret import DUMMY_HASH, generate_secret, hash_secret
from .secret import verify_secret as _verify  # the one secret check (timing-equalised)

__all__ = ["Authenticator", "CertificateVerifier", "PresentedChain", "read_certificates"]

MAX_CACHED_SUCCESSES = 1024
"""Success results remembered per :class:`Authenticator` for the secret methods (see
``Authenticator._secret_success``); a bounded LRU, so removed clients age out."""

_BASIC = AuthMethod.CLIENT_SECRET_BASIC

_SuccessKey = tuple[str, AuthMethod, str | None]
"""The client id, its registered secret method and the credential's source: all a plain
secret success holds."""

class CertificateVerifier(Protocol):
    """What the authenticator needs from a certificate verifier (PKI or pinned).

    ``verify(chain, client)`` is all that is required. A verifier whose ``verify`` also takes
    a keyword parameter named ``leaf_thumbprint`` (as :meth:`PinnedVerifier.verify
    <clientauth.PinnedVerifier.verify>` does) is given the ``x5t#S256`` of ``chain[0]``
    (RFC 8705 3.1) as well, computed by the authenticator from that same certificate object
    for :attr:`AuthResult.thumbprint <clientauth.AuthResult.thumbprint>` -- never a value
    taken from the request -- so it need not hash the leaf again. Whether it does is read
    once from its signature, when the :class:`Authenticator` is built.
    """

    def verify(self, chain: Sequence[x509.Certificate], client: Client) -> CertificateCheck:
        """Decide whether ``chain`` (leaf first) proves ``client``; never raise for bad input."""
        ...


class Authenticator:
    """Authenticate clients against a registry with the method each client registered.

    ``trust_anchors`` / ``intermediates`` / ``max_chain_depth`` / ``revocation`` /
    ``require_san`` configure the default PKI verifier (``tls_client_auth``; see
    :class:`~clientauth.PKIVerifier`); ``jwks`` / ``check_pinned_validity`` the default
    pinned verifier (``self_signed_tls_client_auth``); pass ``pki=`` / ``pinned=`` to supply
    your own (a :class:`CertificateVerifier`), configured there: a setting of the default
    verifier given beside it would be ignored, so it is refused
    (:class:`~clientauth.ConfigurationError`), as are ``replay`` / ``jwks_keys`` /
    ``assertion_leeway`` / ``assertion_max_lifetime`` beside ``assertions=`` or without an
    ``audience``. ``forwarded`` accepts certificates from a trusted TLS-terminating proxy.
    ``now`` is a callable returning an aware datetime (default: the system clock).

    ``id_header`` / ``secret_header`` name the custom headers of ``client_secret_header``
    (``None`` for both disables them); ``allow_query_credentials`` reads id and secret from the
    query string (RFC 6749 2.3.1 forbids it: opt in only for legacy clients).
    ``identify_by_certificate`` lets a request without ``client_id`` be matched to a client by
    its certificate's registered name or pin.

    ``audience`` (the issuer identifier and/or the token endpoint URL; a string or a
    sequence) is what a client assertion's ``aud`` must name; ``replay`` keeps used ``jti``
    values (default: in memory, one process -- share a
    :class:`~clientauth.replay.SQLReplayStore` between hosts); ``assertion_leeway``,
    ``assertion_max_lifetime`` and ``jwks_keys`` configure the
    :class:`~clientauth.assertion.AssertionVerifier` (pass ``assertions=`` to supply your
    own). There is no default audience: a :class:`~clientauth.MemoryRegistry` or
    :class:`~clientauth.registry_file.FileRegistry` holding ``private_key_jwt`` or
    ``client_secret_jwt`` clients without one is refused here; any other registry (SQL) is
    checked when such a client first authenticates (:class:`~clientauth.ConfigurationError`).

    ``audit`` receives one :class:`~clientauth.audit.AuditEvent` per authentication (events
    also go to the ``clientauth.audit`` logger); a success whose credential expires within
    ``expiry_warning`` (default 14 days; ``None`` disables) adds a ``credential_expiring``
    event.
    """

    def __init__(
        self,
        registry: ClientRegistry,
        *,
        trust_anchors: Iterable[CertificateLike] = (),
        intermediates: Iterable[CertificateLike] = (),
        forwarded: ForwardedCertificates | None = None,
        now: Callable[[], datetime] | None = None,
        max_chain_depth: int | None = None,
        revocation: RevocationChecker | None = None,
        require_san: bool = False,
        pki: CertificateVerifier | None = None,
        pinned: CertificateVerifier | None = None,
        jwks: JwksFetcher | None = None,
        check_pinned_validity: bool = True,
        audit: AuditHook | None = None,
        expiry_warning: timedelta | None = timedelta(days=14),
        id_header: str | None = "client_id",
        secret_header: str | None = "client_secret",
        allow_query_credentials: bool = False,
        identify_by_certificate: bool = True,
        audience: str | Sequence[str] | None = None,
        replay: ReplayStore | None = None,
        assertion_leeway: timedelta = DEFAULT_ASSERTION_LEEWAY,
        assertion_max_lifetime: timedelta = DEFAULT_ASSERTION_LIFETIME,
        jwks_keys: JwksKeys | None = None,
        assertions: AssertionVerifier | None = None,
    ) -> None:
        if not isinstance(registry, ClientRegistry):
            raise ConfigurationError("registry must implement get() and find_by_certificate()")
        if now is not None and not callable(now):
            raise ConfigurationError("now must be a callable returning an aware datetime")
        if forwarded is not None and not isinstance(forwarded, ForwardedCertificates):
            raise ConfigurationError("forwarded must be a ForwardedCertificates")
        self._registry = registry
        self._now: Callable[[], datetime] = clock_setting(now)  # every reading checked
        self._options = CredentialOptions(
            id_header=id_header, secret_header=secret_header, allow_query=allow_query_credentials
        )
        self._forwarded = forwarded
        self._lone_basic_reads = _lone_basic_reads(self._options, forwarded)
        self._identify_by_certificate = bool(identify_by_certificate)
        self._secret_successes: LRU[_SuccessKey, AuthResult] = LRU(
            MAX_CACHED_SUCCESSES
        )
        # The same results, for the lone Basic header (_lone_basic): keyed by the client id alone,
        # the method and the source being client_secret_basic and "authorization".
        self._basic_successes: LRU[str, AuthResult] = LRU(MAX_CACHED_SUCCESSES)
        if audit is not None and not callable(audit):
            raise ConfigurationError("audit must be a callable taking an AuditEvent")
        if expiry_warning is not None and (
            not isinstance(expiry_warning, timedelta) or expiry_warning < timedelta(0)
        ):
            raise ConfigurationError("expiry_warning must be a non-negative timedelta or None")
        self._audit = audit
        self._expiry_warning = expiry_warning
        if pki is not None:
            _refuse_dropped("pki", "PKIVerifier", {
                "trust_anchors": ("trust_anchors", bool(trust_anchors)),
                "intermediates": ("intermediates", bool(intermediates)),
                "max_chain_depth": ("max_chain_depth", max_chain_depth is not None),
                "revocation": ("revocation", revocation is not None),
                "require_san": ("require_san", bool(require_san)),
            })
        if pinned is not None:
            # True is the default and cannot be told from not passing it: only False is refused.
            _refuse_dropped("pinned", "PinnedVerifier", {
                "jwks": ("jwks", jwks is not None),
                "check_pinned_validity": ("check_validity", check_pinned_validity is not True),
            })
        if (
            revocation is not None
            and revocation.enabled
            and forwarded is not None
            and forwarded.trust_proxy_verification
        ):
            # Revocation is checked on the path validated here; with the proxy's flag standing
            # in for that path there is none, and skipping the check silently would accept a
            # revoked certificate. The proxy can check revocation itself (nginx ssl_crl /
            # ssl_ocsp, HAProxy crl-file, Apache SSLCARevocationFile).
            raise ConfigurationError(
                "revocation checking needs the chain validated locally: it cannot be combined "
                "with trust_proxy_verification (check revocation in the proxy, or verify locally)"
            )
        self._pki: CertificateVerifier = pki if pki is not None else PKIVerifier(
            trust_anchors,
            intermediates=intermediates,
            now=self._now,
            max_chain_depth=max_chain_depth,
            revocation=revocation,
            require_san=require_san,
        )
        # PKIVerifier(require_san=True) is a rule about the leaf and the registration, not the
        # path: the proxy's flag must not lift it either.
        self._require_san = isinstance(self._pki, PKIVerifier) and self._pki._require_san
        self._pinned: CertificateVerifier = pinned if pinned is not None else PinnedVerifier(
            now=self._now, check_validity=check_pinned_validity, jwks=jwks
        )
        self._pki_takes_thumbprint = _takes_thumbprint(self._pki, "pki")
        self._pinned_takes_thumbprint = _takes_thumbprint(self._pinned, "pinned")
        self._assertions = _assertion_verifier(
            registry, assertions, audience, replay, assertion_leeway, assertion_max_lifetime,
            jwks_keys, self._now,
        )

    @property
    def allow_query_credentials(self) -> bool:
        """Whether id and secret are read from the query string (adapters parse it only then)."""
        return self._options.allow_query

    @property
    def credential_header_names(self) -> tuple[str, ...]:
        """The custom id/secret header names, as configured (empty when disabled)."""
        return tuple(n for n in (self._options.id_header, self._options.secret_header) if n)

    def __repr__(self) -> str:
        return f"Authenticator(registry={self._registry!r}, forwarded={self._forwarded!r})"

    # -- the flow ----------------------------------------------------------------------

    def authenticate(self, request: ClientRequest) -> AuthResult:
        """Who is calling, and did it prove it? Never raises for client input; raises
        :class:`~clientauth.RegistryUnavailable` when the registry cannot be read."""
        if not isinstance(request, ClientRequest):
            raise ConfigurationError("authenticate() takes a clientauth.ClientRequest")
        # The request nearly every confidential client sends, a Basic header and no
        # certificate (neither from the TLS layer nor from a proxy), takes a shortcut
        # (issue 18); every other request, and every one the shortcut declines, goes
        # through the steps of _authenticate.
        if not request.tls_chain and (
            self._forwarded is None or self._forwarded._carries_nothing(request)
        ):
            authorization = lone_authorization(request, self._options)
            if authorization is not None:
                lone = self._lone_basic(authorization, request.peer)
                if lone is not None:
                    return lone
        result = self._authenticate(request)
        if audit.wanted(self._audit, result.ok):
            self._emit(result, request.peer)
        return result

    def _lone_basic(self, authorization: str, peer: str | None) -> AuthResult | None:
        """What :meth:`authenticate` answers -- audit events included -- for a request
        whose only header that clientauth reads is this one ``Authorization`` value: no
        other Authorization, id or secret header, no header the ``forwarded`` policy reads
        (:attr:`_lone_basic_reads`), no certificate, form or query credentials, nothing
        unreadable. ``None`` when the value is not a plain Basic one (:func:`~clientauth.
        request.basic_value`): the request then takes the general path.

        Called by :meth:`authenticate`, and by an adapter that scanned the raw headers itself
        (the ASGI middleware), so that such a request is neither decoded into a
        :class:`ClientRequest` nor scanned a second time (issue 18).

        Decides itself the outcomes nearly every such request has -- a client registered for
        client_secret_basic, whose secrets do not expire, proved its secret or sent a wrong
        one, or no client has the id -- with the work the general path spends on them (every
        stored secret verified; an unknown id against the same dummy client); any other
        client is decided by :meth:`_decide` with what was read. The
        :class:`~clientauth.request.Presented` is built only when a result needs it.
        ``tests/test_request_presented.py`` and ``tests/test_asgi_lone_basic.py`` check the
        outcomes and events equal the general path's, ``tests/test_timing.py`` that the work
        is equal."""
        credentials = basic_value(authorization)
        if credentials is None:
            return None
        client_id, secret = credentials
        try:
            found = self._registry.get(client_id)
            error = None
        except Exception as exc:  # any registry failure is "unavailable", whatever its type
            error = _unavailable("get", exc)
        if error is not None:
            # Raised outside the handler, as in _lookup.
            self._raise_unavailable(error, _basic_presented(client_id, secret), NO_CERTIFICATES,
                                    peer)
        # An unknown id takes the very same steps as a wrong secret, against the dummy
        # client (as in _decide): the two cannot be told apart by time.
        client = found if found is not None else _DUMMY_CLIENTS[_BASIC]
        if client.token_endpoint_auth_method is _BASIC and not client.secrets_expire:
            matched = False
            # Every stored secret is verified (no early exit), as in _check_secret.
            for stored in client.secrets:
                if _verify(secret, stored.hash):
                    matched = True
            if matched and found is not None:
                remembered = self._basic_successes.peek(client_id)
                result = (
                    self._basic_success(client, secret) if remembered is None else remembered
                )
            else:
                context = _Context(_basic_presented(client_id, secret), NO_CERTIFICATES)
                result = (
                    context.unknown_client(_BASIC) if found is None
                    else context.bad_secret(client, _BASIC)
                )
        else:
            context = _Context(_basic_presented(client_id, secret), NO_CERTIFICATES)
            result = self._decide(found, context, None, peer)
        if audit.wanted(self._audit, result.ok):
            self._emit(result, peer)
        return result

    def _basic_success(self, client: Client, secret: str) -> AuthResult:
        """The success :meth:`_lone_basic` remembers for ``client`` (built on its first): what
        :meth:`_secret_success` builds for (client id, client_secret_basic, "authorization"),
        kept here alone rather than in both caches."""
        presented = _basic_presented(client.client_id, secret)
        success = _Context(presented, NO_CERTIFICATES).succeed(client, _BASIC, expires_at=None)
        self._basic_successes.put(client.client_id, success)
        return success

    def _emit(self, result: AuthResult, peer: str | None) -> None:
        """The audit events of ``result``, and a ``credential_expiring`` one when due."""
        now = self._now()
        audit.emit(AuditEvent.from_result(result, peer=peer, time=now), self._audit)
        if (
            result.ok
            and result.expires_at is not None
            and self._expiry_warning is not None
            and result.expires_at - now <= self._expiry_warning
        ):
            audit.emit(
                AuditEvent.from_result(result, peer=peer, time=now, event="credential_expiring"),
                self._audit,
            )

    def _authenticate(self, request: ClientRequest) -> AuthResult:
        assertion: ParsedAssertion | None = None
        try:
            presented = extract_credentials(request, self._options)
        except CredentialsError as exc:
            return AuthResult.failed(exc.kind, exc.reason)
        certs = read_certificates(request, self._forwarded)
        if isinstance(certs, AuthResult):
            return certs
        context = _Context(presented, certs)
        if presented.assertion is not None:
            read = _read_assertion(context)
            if isinstance(read, AuthResult):
                return read
            assertion, context = read
            presented = context.presented

        client_id = presented.client_id
        if client_id is None:
            if not certs.chain:
                return context.fail(Failure.NO_CREDENTIALS, "no client credentials in the request")
            if not self._identify_by_certificate:
                return context.fail(
                    Failure.NO_CREDENTIALS,
                    "no client_id sent (identification by certificate is off)",
                )
            candidates = self._lookup(
                "find_by_certificate", self._registry.find_by_certificate, certs.chain[0],
                presented, certs, request.peer,
            )
            if not candidates:
                return context.fail(
                    Failure.UNKNOWN_CLIENT, "no registered client matches the certificate"
                )
            if len(candidates) > 1:
                ids = ", ".join(sorted(c.client_id for c in candidates)[:5])
                return context.fail(
                    Failure.AMBIGUOUS_CLIENT,
                    f"the certificate matches several clients ({ids}); send client_id",
                )
            return self._decide(candidates[0], context, assertion, request.peer)
        found = self._lookup(
            "get", self._registry.get, client_id, presented, certs, request.peer
        )
        return self._decide(found, context, assertion, request.peer)

    def _decide(
        self,
        client: Client | None,
        context: _Context,
        assertion: ParsedAssertion | None,
        peer: str | None,
    ) -> AuthResult:
        """The outcome for ``client`` (``None``: the registry has no client of the id the
        request names), by the method it registered."""
        presented = context.presented
        if client is None:
            if presented.method is not None:
                # Unknown ids go through the very same secret check, against a dummy
                # client whose hash nothing matches: they cannot be told apart by time.
                return self._check_secret(
                    _DUMMY_CLIENTS[presented.method], context, unknown=True
                )
            return context.unknown_client(None)
        registered = client.token_endpoint_auth_method
        if registered.uses_assertion or assertion is not None:
            return self._check_assertion(client, context, assertion, peer)
        if registered.uses_secret:
            return self._check_secret(client, context)
        return self._check_certificate(client, context)

    def _lookup(  # noqa: PLR0917 - the read, and what to audit if it fails
        self,
        name: str,
        call: Callable[[_Arg], _Found],
        arg: _Arg,
        presented: Presented,
        certs: PresentedChain,
        peer: str | None,
    ) -> _Found:
        """A registry read; any exception it raises becomes :class:`RegistryUnavailable`
        (audited as ``registry_unavailable``), raised without the original: its text may hold
        the statement's parameters (a client id, a name digest)."""
        try:
            return call(arg)
        except Exception as exc:  # any registry failure is "unavailable", whatever its type
            error = _unavailable(name, exc)
        # Raised here, outside the handler, so that neither __cause__ nor __context__ holds
        # the registry's exception.
        self._raise_unavailable(error, presented, certs, peer)

    def _raise_unavailable(
        self,
        error: RegistryUnavailable,
        presented: Presented,
        certs: PresentedChain,
        peer: str | None,
    ) -> NoReturn:
        """Audit ``error`` (``registry_unavailable``) and raise it."""
        if audit.wanted(self._audit, False):
            event = _unavailable_event(presented, certs, error, peer, self._now())
            audit.emit(event, self._audit)
        raise error

    def _check_secret(
        self, client: Client, context: _Context, *, unknown: bool = False
    ) -> AuthResult:
        presented = context.presented
        method = client.token_endpoint_auth_method
        if presented.method is None:
            if context.certs.chain:
                return context.fail(
                    Failure.METHOD_NOT_ALLOWED,
                    f"client {client.client_id!r} authenticates with {method.value}, "
                    "not a certificate",
                    client=client,
                )
            return context.fail(
                Failure.MISSING_SECRET,
                f"client {client.client_id!r} authenticates with {method.value}; no secret sent",
                client=client,
            )
        if presented.method is not method:
            if presented.secret is not None:
                # Spend the one hash every other refusal of a presented secret spends, so that
                # "registered, wrong method" cannot be told from "unknown id" by time.
                _verify(presented.secret, DUMMY_HASH)
            return context.wrong_method(client, presented.method)
        if presented.secret is None:
            if unknown:
                return context.unknown_client(method)
            return context.fail(
                Failure.MISSING_SECRET, "empty client secret", client=client, method=method
            )
        # The clock is read only when it can matter (an expiring secret).
        now = self._now() if client.secrets_expire else None
        matched = expired = False
        expiry: datetime | None = None
        # Check every stored secret (no early exit): the work does not depend on which matched.
        for stored in client.secrets:
            if _verify(presented.secret, stored.hash):
                if now is not None and stored.expired(now):
                    expired = True
                else:
                    matched = True
                    expiry = stored.expires_at
        if not matched:
            if unknown:
                return context.unknown_client(method)
            if expired:
                return context.fail(
                    Failure.EXPIRED_SECRET,
                    f"client {client.client_id!r} presented a secret that has expired",
                    client=client,
                    method=method,
                )
            return context.bad_secret(client, method)
        if expiry is None:
            return self._secret_success(client, presented, context.certs)
        return context.succeed(client, method, expires_at=expiry)

    def _secret_success(
        self, client: Client, presented: Presented, certs: PresentedChain
    ) -> AuthResult:
        """The success of a secret method whose secret does not expire, built once per
        (client id, method, source) when no certificate came with it.

        Such a result is a function of those three alone (no certificate, no expiry, no
        notice, no detail: ``tests/test_authenticator_successes.py`` fails if
        :class:`~clientauth.AuthResult` gains a field), and a frozen result can be shared.
        Building one costs more than the secret's hash (issue 18). Only a request that
        proved the secret reaches this, so the entries are bounded by the registered
        clients, and by :data:`MAX_CACHED_SUCCESSES`."""
        method = client.token_endpoint_auth_method
        if certs is not NO_CERTIFICATES and (
            certs.chain or certs.notices or certs.thumbprint is not None
        ):
            return _Context(presented, certs).succeed(client, method, expires_at=None)
        key = (client.client_id, method, presented.source)
        result = self._secret_successes.peek(key)
        if result is None:
            result = _Context(presented, certs).succeed(client, method, expires_at=None)
            self._secret_successes.put(key, result)
        return result

    def _check_assertion(
        self,
        client: Client,
        context: _Context,
        assertion: ParsedAssertion | None,
        peer: str | None,
    ) -> AuthResult:
        """RFC 7523 client assertions. A certificate presented too is not a second method
        (FAPI 2.0: private_key_jwt authenticates, mutual TLS binds tokens, RFC 8705 3): the
        result carries its chain and thumbprint."""
        presented = context.presented
        method = client.method
        if not method.uses_assertion:
            return context.fail(
                Failure.METHOD_NOT_ALLOWED,
                f"client {client.client_id!r} is registered for {method.value}, "
                "not a client assertion",
                client=client,
            )
        if presented.method is not None:
            return context.wrong_method(client, presented.method)
        if assertion is None:
            return context.fail(
                Failure.MISSING_ASSERTION,
                f"client {client.client_id!r} authenticates with {method.value}; "
                "no client_assertion sent",
                client=client,
            )
        verifier = self._assertions
        if verifier is None:
            raise ConfigurationError(
                f"client {client.client_id!r} uses {method.value}, but this Authenticator has "
                "no audience: pass Authenticator(..., audience=<issuer identifier and/or token "
                "endpoint URL>)"
            )
        outcome = verifier.check(assertion, client)
        if not isinstance(outcome, Unreplayed):
            return context.fail(outcome[0], outcome[1], client=client)
        # The replay store is shared state: a store that cannot answer is an outage (503),
        # never an accept. Only this call is wrapped: a fault in the checks above must not
        # pass for an outage.
        replay = verifier.replay
        fresh = self._lookup(
            "replay_store.use",
            lambda u: replay.use(client.client_id, u.jti, u.until),
            outcome,
            context.presented,
            context.certs,
            peer,
        )
        if not fresh:
            return context.fail(*REPLAYED, client=client)
        return context.succeed(client, method, expires_at=None)

    def _check_certificate(self, client: Client, context: _Context) -> AuthResult:
        method = client.method
        certs = context.certs
        if context.presented.method is not None:
            return context.wrong_method(client, context.presented.method)
        if not certs.chain:
            return context.fail(
                Failure.MISSING_CERTIFICATE,
                f"client {client.client_id!r} authenticates with {method.value}; "
                "no client certificate presented",
                client=client,
                method=method,
            )
        proxy_verified_only = False
        if method is AuthMethod.TLS_CLIENT_AUTH:
            if certs.proxy_verified and not client.trust_anchors:
                check = _check_proxy_verified(
                    certs.chain, client, self._now(), require_san=self._require_san
                )
                proxy_verified_only = True
            else:
                # A client that registered its own anchors (tls_client_auth_trust_anchors) is
                # always verified here: the proxy validated against *its* CA list, which says
                # nothing about this client's, so its flag must not widen what was registered.
                check = _verify_certificate(self._pki, self._pki_takes_thumbprint, certs, client)
        else:
            check = _verify_certificate(
                self._pinned, self._pinned_takes_thumbprint, certs, client
            )
        if not check.ok:
            # A verifier that says "no" without a reason is treated as an untrusted chain.
            failure = check.failure or Failure.UNTRUSTED_CHAIN
            return context.fail(failure, check.detail, client=client, method=method)
        return context.succeed(
            client,
            method,
            expires_at=check.expires_at,
            chain=check.chain,
            proxy_verified_only=proxy_verified_only,
            check=check,
        )


class _Context:
    """What one request presented; builds its results. Never changed once built.

    A plain slotted class rather than a frozen dataclass: one is built per request, and a
    frozen dataclass's ``__init__`` (``object.__setattr__`` per field) costs more than the
    Basic header parse (benchmarks/bench_peers.py, issue 18)."""

    __slots__ = ("certs", "presented")

    def __init__(self, presented: Presented, certs: PresentedChain) -> None:
        self.presented = presented
        self.certs = certs

    def unknown_client(self, method: AuthMethod | None) -> AuthResult:
        """No client of the presented id is registered (its secret checked all the same)."""
        return self.fail(
            Failure.UNKNOWN_CLIENT,
            f"no client {self.presented.client_id!r} registered",
            method=method,
        )

    def bad_secret(self, client: Client, method: AuthMethod) -> AuthResult:
        """The client sent a secret that none of its stored secrets matches."""
        return self.fail(
            Failure.BAD_SECRET,
            f"wrong secret for client {client.client_id!r}",
            client=client,
            method=method,
        )

    def wrong_method(self, client: Client, presented: AuthMethod) -> AuthResult:
        """The client sent a credential of another method than the one it registered."""
        return self.fail(
            Failure.METHOD_NOT_ALLOWED,
            f"client {client.client_id!r} is registered for {client.method.value}, "
            f"not {presented.value}",
            client=client,
            method=presented,
        )

    def fail(
        self,
        failure: Failure,
        detail: str,
        *,
        client: Client | None = None,
        method: AuthMethod | None = None,
    ) -> AuthResult:
        certs = self.certs
        if method is None and client is not None:
            method = client.method
        if method is None:
            method = self.presented.method
        if certs.ignored:
            detail = f"{detail}; {certs.ignored}"
        return AuthResult.failed(
            failure,
            detail,
            client_id=client.client_id if client else self.presented.client_id,
            method=method,
            source=self.presented.source
            if self.presented.method or self.presented.assertion is not None
            else (certs.source or self.presented.source),
            certificate=certs.chain[0] if certs.chain else None,
            chain=certs.chain,
            thumbprint=certs.thumbprint,
            notices=certs.notices,
        )

    def succeed(
        self,
        client: Client,
        method: AuthMethod,
        *,
        expires_at: datetime | None,
        chain: tuple[x509.Certificate, ...] = (),
        proxy_verified_only: bool = False,
        check: CertificateCheck | None = None,
    ) -> AuthResult:
        certs = self.certs
        notices = certs.notices
        if proxy_verified_only:
            notices = (*notices, Notice.PROXY_VERIFIED_ONLY)
        if check is not None:
            # What the verifier accepted with reservations (a soft-fail revocation check)
            # stays visible on the result and in the audit event.
            notices = (*notices, *check.notices)
        return AuthResult._build(
            True,
            client.client_id,
            method,
            None,
            None,
            check.detail if check is not None else "",
            certs.chain[0] if certs.chain else None,
            chain or certs.chain,
            certs.thumbprint,
            expires_at,
            self.presented.source if method.uses_secret or method.uses_assertion else certs.source,
            notices,
        )


def _basic_presented(client_id: str, secret: str) -> Presented:
    """What :func:`~clientauth.request.basic_only` presents for these credentials."""
    return Presented._of(client_id, secret, _BASIC, "authorization")


def _unavailable_event(
    presented: Presented,
    certs: PresentedChain,
    error: RegistryUnavailable,
    peer: str | None,
    now: datetime,
) -> AuditEvent:
    """The audit event of a registry (or replay store) that could not be read."""
    return AuditEvent(
        event="registry_unavailable",
        time=now,
        ok=False,
        client_id=presented.client_id,
        method=presented.method.value if presented.method else None,
        failure=None,
        error="temporarily_unavailable",
        thumbprint=certs.thumbprint,
        source=presented.source if presented.method else (certs.source or presented.source),
        peer=peer,
        expires_at=None,
        notices=tuple(n.value for n in certs.notices),
        detail=str(error),
    )


_DUMMY_CLIENTS = {
    # Never registered nor shown: a valid id is all it needs. Its hash is of a random secret
    # nobody ever sees, same scheme (and cost) as DUMMY_HASH; a Client stores hash text.
    method: Client.from_metadata({
        "client_id": "clientauth-unknown-client", "token_endpoint_auth_method": method.value,
        "client_secret_hash": hash_secret(generate_secret()),
    })
    for method in AuthMethod
    if method.uses_secret
}


def _assertion_verifier(  # noqa: PLR0917 - the Authenticator's settings, passed on
    registry: ClientRegistry,
    given: AssertionVerifier | None,
    audience: str | Sequence[str] | None,
    replay: ReplayStore | None,
    leeway: timedelta,
    max_lifetime: timedelta,
    keys: JwksKeys | None,
    now: Callable[[], datetime],
) -> AssertionVerifier | None:
    # The settings that configure only the default verifier (the defaults are not "given").
    settings = {
        "replay": ("replay", replay is not None),
        "jwks_keys": ("keys", keys is not None),
        "assertion_leeway": ("leeway", leeway != DEFAULT_ASSERTION_LEEWAY),
        "assertion_max_lifetime": ("max_lifetime", max_lifetime != DEFAULT_ASSERTION_LIFETIME),
    }
    if given is not None:
        if not isinstance(given, AssertionVerifier):
            raise ConfigurationError("assertions must be a clientauth.AssertionVerifier")
        _refuse_dropped("assertions", "AssertionVerifier", {
            "audience": ("audience", audience is not None),
            **settings,
        })
        return given
    if audience is not None:
        return AssertionVerifier(
            audience=audience, replay=replay, leeway=leeway, max_lifetime=max_lifetime,
            keys=keys, now=now,
        )
    given_settings = [ours for ours, (_, present) in settings.items() if present]
    if given_settings:
        # Without an audience no assertion verifier is built: these would configure nothing.
        raise ConfigurationError(
            f"{', '.join(given_settings)}: only the client assertion verifier uses "
            f"{'these settings' if len(given_settings) > 1 else 'this setting'}, and it "
            "needs an audience: pass Authenticator(..., audience=...) -- the issuer "
            "identifier and/or the token endpoint URL"
        )
    if isinstance(registry, MemoryRegistry | FileRegistry):
        # Registries held in memory are checked now; a SQL registry is not read at
        # construction (it may be large, or down): its first assertion client raises.
        for client in registry:
            if client.method.uses_assertion:
                raise ConfigurationError(
                    f"client {client.client_id!r} uses {client.method.value}: an assertion "
                    "must name this server in aud, so pass Authenticator(..., audience=...) "
                    "-- the issuer identifier and/or the token endpoint URL (no default)"
                )
    return None


def _read_assertion(context: _Context) -> tuple[ParsedAssertion, _Context] | AuthResult:
    """Decode the assertion once; the client is its ``sub`` unless ``client_id`` is sent,
    which must then be the same (RFC 7521 4.2)."""
    presented = context.presented
    try:
        parsed = parse_assertion(presented.assertion or "")
    except ParseError as exc:
        return context.fail(Failure.INVALID_ASSERTION, exc.reason)
    subject = parsed.subject
    if presented.client_id is not None:
        if subject is not None and subject != presented.client_id:
            return context.fail(
                Failure.CONFLICTING_CLIENT_ID,
                "client_id and the assertion's sub name different clients (RFC 7521 4.2)",
            )
        return parsed, context
    if subject is None or not subject or len(subject) > MAX_CLIENT_ID_LENGTH or (
        not subject.isprintable()
    ):
        return context.fail(
            Failure.INVALID_ASSERTION, "iss/sub: no usable sub claim, and no client_id sent"
        )
    presented = Presented(subject, None, None, presented.source, presented.assertion)
    return parsed, _Context(presented, context.certs)


LoneBasicReads = tuple[frozenset[bytes], bool, bytes | None]
"""What :attr:`Authenticator._lone_basic_reads` holds: lower-cased header names other than
``authorization`` that the authenticator reads, whether it reads any name with a ``_`` too (a
``forwarded`` policy: another spelling of one of its names), and a name prefix it reads
(Apache's numbered chain headers), all as the bytes an ASGI server passes."""


def _lone_basic_reads(
    options: CredentialOptions, forwarded: ForwardedCertificates | None
) -> LoneBasicReads | None:
    """The header names whose presence takes a request off :meth:`Authenticator._lone_basic`
    (a lone Basic header), or ``None`` when no request may take it: query credentials are
    read, or the ``forwarded`` policy has no quick check (a ``_`` in one of its names)."""
    if options.allow_query:
        return None
    names = {name.encode("ascii") for name in options.header_names if name is not None}
    if forwarded is None:
        return frozenset(names), False, None
    if forwarded._quick is None:
        return None
    quick_names, prefix = forwarded._quick
    names.update(name.encode("ascii") for name in quick_names)
    return frozenset(names), True, None if prefix is None else prefix.encode("ascii")


def _refuse_dropped(name: str, builds: str, settings: dict[str, tuple[str, bool]]) -> None:
    """With ``name=`` supplying a verifier, the settings that would have configured the
    default ``builds`` have nowhere to go: refuse them, saying where they belong, rather than
    drop them silently. ``settings``: Authenticator keyword -> (``builds`` keyword, given?)."""
    given = [(ours, theirs) for ours, (theirs, present) in settings.items() if present]
    if given:
        names = ", ".join(ours for ours, _ in given)
        where = ", ".join(f"{theirs}=..." for _, theirs in given)
        raise ConfigurationError(
            f"Authenticator({name}=...) would ignore {names}: they configure the default "
            f"{builds}; pass them to your own verifier ({builds}({where})) instead"
        )


def _takes_thumbprint(verifier: CertificateVerifier, name: str) -> bool:
    """Does ``verifier.verify`` take the keyword ``leaf_thumbprint`` (see
    :class:`CertificateVerifier`)? Read once, here, not per request."""
    method = getattr(verifier, "verify", None)
    if not callable(method):
        raise ConfigurationError(
            f"{name} must be a certificate verifier with a verify(chain, client) method"
        )
    try:
        parameter = inspect.signature(method).parameters.get("leaf_thumbprint")
    except (TypeError, ValueError):  # a callable without a readable signature (a builtin)
        return False
    return parameter is not None and parameter.kind in {
        inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD
    }


def _verify_certificate(
    verifier: CertificateVerifier, takes_thumbprint: bool, certs: PresentedChain, client: Client
) -> CertificateCheck:
    if takes_thumbprint and certs.thumbprint is not None:
        # Computed from certs.chain[0] itself (never read from the request): the verifier
        # need not hash the leaf a second time, the dominant cost of a pinned verify.
        verify: Callable[..., CertificateCheck] = verifier.verify
        return verify(certs.chain, client, leaf_thumbprint=certs.thumbprint)
    return verifier.verify(certs.chain, client)


def _check_proxy_verified(
    chain: Sequence[x509.Certificate], client: Client, now: datetime, *, require_san: bool
) -> CertificateCheck:
    """Opt-in (``trust_proxy_verification``): the proxy's verify flag stands in for the path
    to a *global* anchor -- signatures, issuers, name constraints, path length. Everything
    that can be decided from the leaf alone is still decided here, exactly as
    :class:`~clientauth.PKIVerifier` decides it: parseable extensions and RFC 5280 4.2.1.6
    (an empty subject needs a critical SAN), not a CA (4.2.1.9), the validity period
    (4.1.2.5), ``id-kp-clientAuth`` when an EKU is present (4.2.1.12), a key strong enough to
    prove anything, and the registered name (RFC 8705 2.1.2), in a SAN with ``require_san``."""
    leaf = chain[0]
    # X.509 times have one-second resolution (RFC 5280 4.1.2.5), as in PKIVerifier.
    at = datetime.fromtimestamp(int(now.timestamp()), UTC)
    refused = refused_leaf(leaf, at)  # the leaf checks, and the key strength
    if refused is not None:
        return refused
    name = client.registered_name
    if name is None:
        return CertificateCheck.failed(
            Failure.NAME_MISMATCH,
            f"client {client.client_id!r} registered no certificate name (RFC 8705 2.1.2)",
        )
    if require_san:
        refused_name = san_required(leaf, name.field)
        if refused_name is not None:
            return CertificateCheck.failed(Failure.NAME_MISMATCH, refused_name)
    if not name.matches(leaf):
        return CertificateCheck.failed(
            Failure.NAME_MISMATCH, f"registered {name.field} not in the certificate"
        )
    return CertificateCheck.passed(tuple(chain), expires_at=leaf.not_valid_after_utc)


_Arg = TypeVar("_Arg")
_Found = TypeVar("_Found")


def _unavailable(lookup: str, exc: Exception) -> RegistryUnavailable:
    """The error for a failed registry read: the lookup's name and the exception's type and
    SQL state, never its text (which may carry the statement's parameters)."""
    sqlstate = getattr(exc, "sqlstate", None) or getattr(getattr(exc, "orig", None),
                                                         "sqlstate", None)
    if not (isinstance(sqlstate, str) and len(sqlstate) == 5 and sqlstate.isalnum()):
        sqlstate = None  # SQLSTATE is five characters (ISO 9075); anything else is not one
    kind = type(exc).__name__
    return RegistryUnavailable(
        f"client registry unavailable: {lookup}() raised {kind}"
        + (f" (SQLSTATE {sqlstate})" if sqlstate else ""),
        error_type=kind,
        sqlstate=sqlstate,
    )
