"""Registered clients: RFC 7591 / RFC 8705 client metadata, the registry protocol, and the
embedded in-memory registry.

Metadata names follow RFC 7591 section 2 and RFC 8705 section 2.1.2. Fields that are ours
(no RFC defines them) are:

``client_secret_hash``
    A stored hash of the client secret (see :func:`clientauth.hash_secret`), or a list of them.
    A clear-text ``client_secret`` is refused: the registry holds no usable secret, except
    the MAC key of a ``client_secret_jwt`` client (below).
``client_secrets``
    Several live secrets for rotation: ``[{"hash": ..., "expires_at": <epoch seconds or 0>,
    "created_at": ..., "label": ...}]`` (``created_at`` and ``label`` optional).
``tls_client_certificates``
    Self-signed method: pinned certificates as PEM strings.
``tls_client_certificate_thumbprints``
    Self-signed method: pinned certificates as ``x5t#S256`` thumbprints.
``tls_client_auth_trust_anchors``
    PKI method: trust anchors for this client only (PEM), pinned by certificate and key.

Client assertions (RFC 7523, :mod:`clientauth.assertion`): a ``private_key_jwt`` client
registers its public keys in ``jwks`` or ``jwks_uri``; a ``client_secret_jwt`` client its
RFC 7591 ``client_secret``, the one clear-text secret a registry holds (the MAC key must be
usable, not hashed), refused for every other method and never shown. Optional
``token_endpoint_auth_signing_alg`` restricts either to one algorithm.
``tls_client_certificate_bound_access_tokens`` (RFC 8705 3.4) is read for every method.

A :class:`Client` is a value: its metadata document is the one source of truth, every typed
attribute (secrets, registered name, pins, anchors, index keys) is computed from it once, when
the client is built, and two clients are equal when their documents are. The lifecycle rules
(rotate a secret with an overlap, revoke secrets, pin and unpin certificates) are operations
that return a new client; the CLI (``clientauth client ...``) is a thin shell over them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets as _stdlib_secrets
import threading
import urllib.parse
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol, runtime_checkable

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ._clock import system_now
from ._jwk import (
    ASYMMETRIC_ALGORITHMS,
    HMAC_ALGORITHMS,
    AssertionKey,
    hmac_key,
    key_fits,
    key_from_jwk,
)
from ._x509 import certificate_thumbprint, is_ca, load_certificate, load_x5c
from .exceptions import ClientMetadataError, ConfigurationError, ParseError
from .names import NAME_FIELDS, RegisteredName, certificate_name_keys
from .request import MAX_CLIENT_ID_LENGTH  # one limit for registration and requests
from .result import AuthMethod
from .secret import SecretHash, generate_secret, hash_secret, parse_secret_hash

__all__ = [
    "MAX_CLIENT_ID_LENGTH",
    "MAX_REGISTRY_FILE_SIZE",
    "MAX_SECRETS_PER_CLIENT",
    "THUMBPRINT_INDEX",
    "Client",
    "ClientRegistry",
    "IndexKey",
    "MemoryRegistry",
    "StoredSecret",
    "certificate_index_keys",
    "load_clients",
]

MAX_REGISTRY_FILE_SIZE = 64 * 1024 * 1024
"""Largest client metadata JSON file :func:`load_clients` reads, in bytes."""

MAX_SECRETS_PER_CLIENT = 16
"""Most secrets :meth:`Client.rotate_secret` lets one client hold: every request checks each
of them (no early exit), so each one costs a hash per request."""

THUMBPRINT_INDEX = "x5t#S256"
"""The field of a thumbprint :data:`IndexKey` (not a name field: never collides with one)."""

IndexKey = tuple[str, Hashable]
"""A key under which a registry indexes a client for lookup by certificate: a
``(name field, normalised name)`` pair of :func:`clientauth.names.certificate_name_keys`, or
``("x5t#S256", thumbprint)``."""

_METHODS = {m.value: m for m in AuthMethod}
_UNSUPPORTED_METHODS = {
    "none": "public clients do not authenticate; clientauth only handles clients that prove "
    "their identity",
}
_DEFAULT_METHOD = AuthMethod.CLIENT_SECRET_BASIC.value  # RFC 7591 2
_THUMBPRINT_FIELD = "tls_client_certificate_thumbprints"
_CERTIFICATES_FIELD = "tls_client_certificates"
_ANCHORS_FIELD = "tls_client_auth_trust_anchors"
_SECRET_FIELDS = ("client_secret_hash", "client_secret_expires_at", "client_secrets")
_X5T_S256_LENGTH = 43  # base64url of 32 bytes, no padding
# RFC 7518 6.2.2 (EC d), 6.3.2 (RSA d p q dp dq qi oth), 6.4 (oct k); RFC 8037 2 (OKP d).
_PRIVATE_JWK_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_MAX_KID_SHOWN = 64  # characters of a key's "kid" quoted in an error message
_SIGNING_ALG_FIELD = "token_endpoint_auth_signing_alg"
_BOUND_TOKENS_FIELD = "tls_client_certificate_bound_access_tokens"
# RFC 7518 3.2: the HMAC key must be at least as long as the hash output (HS256: 32 octets).
_MIN_CLIENT_SECRET_BYTES = 32


# -- stored secrets -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class StoredSecret:
    """One live secret of a client: its stored hash, optional expiry, and our bookkeeping
    (``label``: a handle for revocation; ``created_at``: when it was issued, as stored).

    Build one from its stored text with :meth:`parse`, or issue a new secret with
    :meth:`issue`; ``text`` (the stored hash string) is what lets a client holding it be
    written back. Equal by content; the repr shows neither the hash nor anything derived
    from it.
    """

    hash: SecretHash = dataclasses.field(repr=False)
    expires_at: datetime | None = None
    label: str | None = dataclasses.field(default=None, kw_only=True)
    created_at: object = dataclasses.field(default=None, kw_only=True, repr=False)
    text: str | None = dataclasses.field(default=None, kw_only=True, repr=False)

    def __repr__(self) -> str:
        return (
            f"StoredSecret(scheme={self.hash.scheme!r}, expires_at={self.expires_at!r}, "
            f"label={self.label!r})"
        )

    def _identity(self) -> tuple[object, ...]:
        # The stored text is the content; a hash object built without it is only itself.
        stored: object = self.text if self.text is not None else id(self.hash)
        return (stored, self.expires_at, self.label, json.dumps(self.created_at, default=repr))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StoredSecret):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    @classmethod
    def parse(
        cls,
        text: str,
        expires_at: datetime | None = None,
        *,
        label: str | None = None,
        created_at: object = None,
    ) -> StoredSecret:
        """A stored secret from its hash text (what ``client_secret_hash`` holds). Raises
        :class:`~clientauth.ConfigurationError` (never quoting the hash) when it is not one."""
        if expires_at is not None and expires_at.tzinfo is None:
            raise ConfigurationError("expires_at must be an aware datetime")
        return cls(
            parse_secret_hash(text), expires_at, label=label, created_at=created_at, text=text
        )

    @classmethod
    def issue(
        cls,
        *,
        expires_in: timedelta | None = None,
        now: datetime | None = None,
        generate: Callable[[], str] = generate_secret,
    ) -> tuple[str, StoredSecret]:
        """A new secret: ``(clear text, stored form)``. Give the clear text to the client
        once; store only the second. ``generate`` and ``now`` are injectable for tests."""
        moment = now if now is not None else system_now()
        secret = generate()
        expires = None if not expires_in else _whole_seconds(moment + expires_in)
        stored = cls.parse(
            hash_secret(secret),
            expires,
            # A handle for revocation by label; random, so it says nothing about the secret.
            label="s-" + _stdlib_secrets.token_hex(4),
            created_at=int(moment.timestamp()),
        )
        return secret, stored

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def issued_at(self) -> datetime | None:
        """When the secret was issued (``created_at``: epoch seconds or ISO 8601 text), or
        ``None`` when not recorded. ``created_at`` is ours and stored as written (a hand-edited
        registry may hold anything): one that is no time raises
        :class:`~clientauth.ConfigurationError` rather than being guessed at."""
        if self.created_at is None:
            return None
        moment = parse_moment(self.created_at)
        if moment is None:
            raise ConfigurationError(
                f"secret {self.label or '(unlabelled)'!r} has a created_at that is neither "
                "seconds since the epoch nor an ISO 8601 time"
            )
        return moment

    def to_entry(self) -> dict[str, Any]:
        """This secret as a ``client_secrets`` entry. Needs :attr:`text`."""
        if self.text is None:
            raise ConfigurationError(
                "a StoredSecret built from a parsed hash object cannot be stored: build it "
                "with StoredSecret.parse(text) or StoredSecret.issue()"
            )
        entry: dict[str, Any] = {
            "hash": self.text,
            "expires_at": 0 if self.expires_at is None else int(self.expires_at.timestamp()),
        }
        if self.created_at is not None:
            entry["created_at"] = self.created_at
        if self.label is not None:
            entry["label"] = self.label
        return entry


def parse_moment(value: object) -> datetime | None:
    """An epoch number or an ISO 8601 string as an aware datetime; ``None`` otherwise."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            moment = datetime.fromisoformat(value.strip())
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _whole_seconds(moment: datetime) -> datetime:
    # Expiries are stored as whole epoch seconds (RFC 7591 2): round down, never extend.
    return datetime.fromtimestamp(int(moment.timestamp()), UTC)


# -- the client -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, eq=False, init=False)
class Client:
    """A registered client: a value built from one metadata document.

    Build with :meth:`from_metadata` (validates the document), or with the constructor from
    typed fields; ``dataclasses.replace(client, secrets=...)`` works too. Every path writes
    the typed fields into the metadata document and validates it, so what a client does and
    what a registry stores of it never disagree; every attribute is computed once, here.
    Equal (and hashed) by content: the canonical form of :meth:`to_metadata`.

    ``registered_name`` is the one RFC 8705 name a ``tls_client_auth`` client registered;
    ``pinned_thumbprints`` holds the ``x5t#S256`` of every certificate a
    ``self_signed_tls_client_auth`` client pinned (from ``tls_client_certificates``, ``jwks``
    ``x5c`` entries and ``tls_client_certificate_thumbprints``); ``index_keys`` are the keys a
    registry finds this client under for a request that sends no client_id
    (:func:`certificate_index_keys` gives a certificate's).
    """

    client_id: str
    token_endpoint_auth_method: AuthMethod
    secrets: tuple[StoredSecret, ...] = dataclasses.field(default=(), repr=False)
    registered_name: RegisteredName | None = None
    pinned_certificates: tuple[x509.Certificate, ...] = dataclasses.field(default=(), repr=False)
    pinned_thumbprints: frozenset[str] = dataclasses.field(default=frozenset(), repr=False)
    jwks_uri: str | None = None
    trust_anchors: tuple[x509.Certificate, ...] = dataclasses.field(default=(), repr=False)
    metadata: Mapping[str, Any] = dataclasses.field(
        default_factory=lambda: MappingProxyType({}), repr=False
    )
    """The metadata document, read-only (nested objects and lists too)."""
    secrets_expire: bool = dataclasses.field(init=False, repr=False)
    """Whether any stored secret has an expiry (else the clock need not be read)."""
    index_keys: frozenset[IndexKey] = dataclasses.field(init=False, repr=False)
    signing_alg: str | None = dataclasses.field(init=False, repr=False)
    """``token_endpoint_auth_signing_alg``: the one algorithm this client's assertions may
    use, or ``None`` (any the method allows)."""
    assertion_keys: tuple[AssertionKey, ...] = dataclasses.field(init=False, repr=False)
    """Keys that check this client's assertions: the public keys of an inline ``jwks``
    (``private_key_jwt``) or the ``client_secret`` (``client_secret_jwt``); empty otherwise
    (keys at a ``jwks_uri`` are fetched when needed)."""
    tls_client_certificate_bound_access_tokens: bool = dataclasses.field(init=False, repr=False)
    """RFC 8705 3.4: the tokens issued to this client must be bound to its certificate."""
    _canonical: str | None = dataclasses.field(init=False, repr=False)

    def __init__(  # noqa: PLR0917 - the dataclass signature, kept for existing callers
        self,
        client_id: str,
        token_endpoint_auth_method: AuthMethod | str,
        secrets: Iterable[StoredSecret] = (),
        registered_name: RegisteredName | None = None,
        pinned_certificates: Iterable[x509.Certificate] = (),
        pinned_thumbprints: Iterable[str] = frozenset(),
        jwks_uri: str | None = None,
        trust_anchors: Iterable[x509.Certificate] = (),
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        document = _thaw_document(MappingProxyType({}) if metadata is None else metadata)
        method = _METHODS.get(str(token_endpoint_auth_method))
        if method is None:
            raise ClientMetadataError(
                f"unknown authentication method {str(token_endpoint_auth_method)!r}",
                client_id=client_id if isinstance(client_id, str) else None,
                field="token_endpoint_auth_method",
            )
        document["client_id"] = client_id
        # RFC 7591 2: absent means client_secret_basic; written only when it says otherwise,
        # so that replace() of an unchanged client is the very same document.
        if document.get("token_endpoint_auth_method", _DEFAULT_METHOD) != method.value:
            document["token_endpoint_auth_method"] = method.value
        # What the document already says; each typed field that differs is written into it.
        base = _parse(document, None, complete=False)
        given = _Parsed(
            client_id,
            method,
            tuple(secrets),
            registered_name,
            tuple(pinned_certificates),
            frozenset(pinned_thumbprints),
            jwks_uri,
            tuple(trust_anchors),
        )
        _write_fields(document, base, given)
        parsed = _parse(document, None, complete=True)
        if given.pinned_certificates != base.pinned_certificates and set(
            parsed.pinned_certificates
        ) != set(given.pinned_certificates):
            raise ClientMetadataError(
                "pinned_certificates and pinned_thumbprints disagree: every pinned "
                "certificate's thumbprint must be pinned",
                client_id=client_id,
                field=_THUMBPRINT_FIELD,
            )
        if given.pinned_thumbprints not in (base.pinned_thumbprints, parsed.pinned_thumbprints):
            raise ClientMetadataError(
                "pinned_thumbprints must hold the thumbprint of every pinned certificate",
                client_id=client_id,
                field=_THUMBPRINT_FIELD,
            )
        self._assign(document, parsed)

    def _assign(self, document: dict[str, Any], parsed: _Parsed) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "client_id", parsed.client_id)
        setattr_(self, "token_endpoint_auth_method", parsed.method)
        setattr_(self, "secrets", parsed.secrets)
        setattr_(self, "registered_name", parsed.registered_name)
        setattr_(self, "pinned_certificates", parsed.pinned_certificates)
        setattr_(self, "pinned_thumbprints", parsed.pinned_thumbprints)
        setattr_(self, "jwks_uri", parsed.jwks_uri)
        setattr_(self, "trust_anchors", parsed.trust_anchors)
        setattr_(self, "metadata", _freeze(document))
        setattr_(self, "secrets_expire", any(s.expires_at is not None for s in parsed.secrets))
        setattr_(self, "index_keys", _index_keys(parsed))
        setattr_(self, "signing_alg", parsed.signing_alg)
        setattr_(self, "assertion_keys", parsed.assertion_keys)
        setattr_(self, "tls_client_certificate_bound_access_tokens", parsed.bound_tokens)
        setattr_(self, "_canonical", None)  # computed on first comparison (not per request)

    @classmethod
    def _build(cls, document: dict[str, Any], index: int | None) -> Client:
        parsed = _parse(document, index, complete=True)
        client = object.__new__(cls)
        client._assign(document, parsed)
        return client

    def _content(self) -> str:
        text = self._canonical
        if text is None:
            # Idempotent: two threads racing here store the same text.
            text = _canonical(self.metadata)
            object.__setattr__(self, "_canonical", text)
        return text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Client):
            return NotImplemented
        return self is other or self._content() == other._content()

    def __hash__(self) -> int:
        return hash(self._content())

    @property
    def method(self) -> AuthMethod:
        """Short alias of ``token_endpoint_auth_method``."""
        return self.token_endpoint_auth_method

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any], *, index: int | None = None) -> Client:
        """Validate one client's metadata and build the :class:`Client`.

        Raises :class:`~clientauth.ClientMetadataError` naming the client and the field.
        """
        if not isinstance(metadata, Mapping):
            raise ClientMetadataError("client metadata must be a JSON object", index=index)
        return cls._build(_thaw_document(metadata, index), index)

    def to_metadata(self) -> dict[str, Any]:
        """The client's metadata document, a fresh mutable copy (secret hashes included, as
        stored -- treat the output like the registry file itself)."""
        thawed: dict[str, Any] = _thaw(self.metadata)
        return thawed

    def _with_document(self, document: dict[str, Any]) -> Client:
        return type(self)._build(document, None)

    # -- secrets ---------------------------------------------------------------------------

    def secret_labels(self) -> tuple[str, ...]:
        """A label per secret, in order: its ``label``, else ``#1``, ``#2``... (position)."""
        return tuple(s.label or f"#{i + 1}" for i, s in enumerate(self.secrets))

    def rotate_secret(
        self, new: StoredSecret, *, keep_old_for: timedelta, now: datetime | None = None
    ) -> Client:
        """This client with ``new`` added (last) and every older secret expiring within
        ``keep_old_for`` (``timedelta(0)`` revokes them now). An old secret's life is only
        ever shortened, never extended; expired ones are dropped. Refused for a method
        without secrets and beyond :data:`MAX_SECRETS_PER_CLIENT` secrets."""
        self._require_secret_method()
        if not isinstance(keep_old_for, timedelta) or keep_old_for < timedelta(0):
            raise ConfigurationError("keep_old_for must be a non-negative timedelta")
        if not isinstance(new, StoredSecret):
            raise ConfigurationError("new must be a StoredSecret (StoredSecret.issue())")
        moment = now if now is not None else system_now()
        deadline = _whole_seconds(moment + keep_old_for)
        kept: list[StoredSecret] = []
        if keep_old_for:
            for old in self.secrets:
                if old.expired(moment):
                    continue
                expires = deadline if old.expires_at is None else min(old.expires_at, deadline)
                kept.append(dataclasses.replace(old, expires_at=expires))
        secrets = (*kept, new)
        if len(secrets) > MAX_SECRETS_PER_CLIENT:
            raise ConfigurationError(
                f"client {self.client_id!r} would hold more than {MAX_SECRETS_PER_CLIENT} "
                "secrets: revoke some first"
            )
        return dataclasses.replace(self, secrets=secrets)

    def revoke_secrets(
        self,
        *,
        label: str | None = None,
        secret: str | bytes | None = None,
        expired: bool = False,
        all_but_newest: bool = False,
        now: datetime | None = None,
    ) -> Client:
        """This client without the secrets chosen by exactly one of: ``label`` (a secret's
        label, or ``#n`` for the n-th), ``secret`` (its clear text), ``expired`` (every
        secret expired at ``now``), ``all_but_newest`` (every secret but the latest issued;
        secrets without ``created_at`` count as oldest, ties go to the later entry).

        Returns the client unchanged (equal) when nothing matched; refuses to leave the
        client without a secret."""
        self._require_secret_method()
        chosen = [label is not None, secret is not None, expired, all_but_newest]
        if sum(chosen) != 1:
            raise ConfigurationError(
                "choose exactly one of label, secret, expired, all_but_newest"
            )
        secrets = self.secrets
        if label is not None:
            drop = {i for i, s in enumerate(secrets) if label in (s.label, f"#{i + 1}")}
        elif secret is not None:
            presented = secret.encode("utf-8", "surrogateescape") if isinstance(
                secret, str
            ) else secret
            # Every hash is checked (no early exit), like a request would.
            drop = {i for i, s in enumerate(secrets) if s.hash.verify(presented)}
        elif expired:
            moment = now if now is not None else system_now()
            drop = {i for i, s in enumerate(secrets) if s.expired(moment)}
        else:
            issued = []
            for s in secrets:
                try:
                    moment_ = s.issued_at()
                except ConfigurationError as exc:
                    raise ConfigurationError(f"client {self.client_id!r}: {exc}") from None
                issued.append(moment_.timestamp() if moment_ is not None else float("-inf"))
            newest = max(range(len(secrets)), key=lambda i: (issued[i], i))
            drop = {i for i in range(len(secrets)) if i != newest}
        if not drop:
            return self
        keep = tuple(s for i, s in enumerate(secrets) if i not in drop)
        if not keep:
            raise ConfigurationError(
                f"that would leave client {self.client_id!r} without a secret: rotate a new "
                "secret in first, or remove the client"
            )
        return dataclasses.replace(self, secrets=keep)

    def _require_secret_method(self) -> None:
        if not self.method.uses_secret:
            raise ConfigurationError(
                f"client {self.client_id!r} authenticates with {self.method.value}: "
                "it has no secret"
            )

    # -- pinned certificates ---------------------------------------------------------------

    def pin_certificate(
        self, certificate: x509.Certificate | str, *, replace: bool = False
    ) -> Client:
        """This client with ``certificate`` (or an ``x5t#S256`` thumbprint) pinned; with
        ``replace``, every other pin (PEM, thumbprint, ``jwks`` ``x5c`` key) is dropped.
        Unchanged (equal) when it is already pinned and ``replace`` is not set. Applies to
        ``self_signed_tls_client_auth`` only."""
        if self.method is not AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH:
            raise ConfigurationError(
                f"client {self.client_id!r} uses {self.method.value}: pinning applies to "
                "self_signed_tls_client_auth (a tls_client_auth client is identified by its "
                "registered name and trust anchors)"
            )
        thumbprint = (
            certificate if isinstance(certificate, str) else certificate_thumbprint(certificate)
        )
        if thumbprint in self.pinned_thumbprints and not replace:
            return self
        document = self.to_metadata()
        if replace:
            _drop_pins(document, lambda _thumb, _is_cert: True)
        if isinstance(certificate, str):
            document[_THUMBPRINT_FIELD] = [*_as_list(document.get(_THUMBPRINT_FIELD)), thumbprint]
        else:
            document[_CERTIFICATES_FIELD] = [
                *_as_list(document.get(_CERTIFICATES_FIELD)), _pem(certificate)
            ]
        return self._with_document(document)

    def unpin_certificate(self, certificate: x509.Certificate | str) -> Client:
        """This client without ``certificate`` (or that ``x5t#S256``) wherever it is pinned.
        Unchanged (equal) when it is not pinned; refuses to leave the client without a pin
        (pin the new certificate first, or use ``pin_certificate(..., replace=True)``)."""
        thumbprint = (
            certificate if isinstance(certificate, str) else certificate_thumbprint(certificate)
        )
        if thumbprint not in self.pinned_thumbprints:
            return self
        document = self.to_metadata()
        _drop_pins(document, lambda thumb, _is_cert: thumb == thumbprint)
        try:
            return self._with_document(document)
        except ClientMetadataError:
            raise ConfigurationError(
                f"that would leave client {self.client_id!r} without a pinned certificate: "
                "pin the new one first, or pin it with replace"
            ) from None


def certificate_index_keys(certificate: x509.Certificate) -> frozenset[IndexKey]:
    """The keys a certificate is looked up under: it identifies a client (request without
    client_id) exactly when they meet that client's :attr:`Client.index_keys`."""
    thumbprint = certificate_thumbprint(certificate)
    return certificate_name_keys(certificate) | {(THUMBPRINT_INDEX, thumbprint)}


def _index_keys(parsed: _Parsed) -> frozenset[IndexKey]:
    # The one definition of "which certificate names index a client" (MemoryRegistry, the
    # SQL index and its lookup all use it): the registered name of a tls_client_auth client
    # (RFC 8705 2.1.2), the pinned thumbprints of a self_signed_tls_client_auth client (2.2).
    if parsed.method is AuthMethod.TLS_CLIENT_AUTH and parsed.registered_name is not None:
        name = parsed.registered_name
        return frozenset({(name.field, name.key)})
    if parsed.method is AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH:
        return frozenset((THUMBPRINT_INDEX, t) for t in parsed.pinned_thumbprints)
    return frozenset()


@runtime_checkable
class ClientRegistry(Protocol):
    """Where the authenticator finds clients. Implementations must be thread-safe."""

    def get(self, client_id: str) -> Client | None:
        """The client registered under ``client_id``, or ``None``."""
        ...

    def find_by_certificate(self, certificate: x509.Certificate) -> Sequence[Client]:
        """Clients whose registered certificate name (``tls_client_auth``) or pinned
        certificate (``self_signed_tls_client_auth``) this certificate carries. Used only
        when a request sends no client_id; more than one result is refused as ambiguous."""
        ...


class MemoryRegistry:
    """The embedded registry: clients held in memory, indexed by id and by certificate name.

    Reads are lock-free (a new index is swapped in on every change); :meth:`add`,
    :meth:`replace` and :meth:`remove` are serialised. Thread-safe.
    """

    def __init__(self, clients: Iterable[Client] = ()) -> None:
        self._lock = threading.Lock()
        self._state = _Index.build(_unique(clients))

    def get(self, client_id: str) -> Client | None:
        return self._state.by_id.get(client_id)

    def find_by_certificate(self, certificate: x509.Certificate) -> Sequence[Client]:
        by_key = self._state.by_key
        found: dict[str, Client] = {}
        for key in certificate_index_keys(certificate):
            for client in by_key.get(key, ()):
                found[client.client_id] = client
        return tuple(found.values())

    def add(self, client: Client) -> None:
        """Register a new client; a duplicate id raises :class:`ClientMetadataError`."""
        with self._lock:
            if client.client_id in self._state.by_id:
                raise ClientMetadataError(
                    "duplicate client_id", client_id=client.client_id, field="client_id"
                )
            self._state = _Index.build([*self._state.by_id.values(), client])

    def replace(self, client: Client) -> None:
        """Replace (or add) a client, e.g. after rotating or revoking a secret."""
        with self._lock:
            rest = [c for c in self._state.by_id.values() if c.client_id != client.client_id]
            self._state = _Index.build([*rest, client])

    def update(self, client_id: str, change: Callable[[Client], Client]) -> Client | None:
        """Apply ``change`` to the registered client (e.g.
        ``lambda c: c.rotate_secret(...)``) and store the result; returns the new client, or
        ``None`` when ``client_id`` is not registered. Same contract as
        :meth:`clientauth.registry_file.FileRegistry.update`."""
        with self._lock:
            current = self._state.by_id.get(client_id)
            if current is None:
                return None
            new = change(current)
            if not isinstance(new, Client) or new.client_id != client_id:
                raise ClientMetadataError(
                    "an update must return the same client", client_id=client_id,
                    field="client_id",
                )
            rest = [c for c in self._state.by_id.values() if c.client_id != client_id]
            self._state = _Index.build([*rest, new])
            return new

    def remove(self, client_id: str) -> None:
        """Remove a client; unknown ids are ignored."""
        with self._lock:
            self._state = _Index.build(
                [c for c in self._state.by_id.values() if c.client_id != client_id]
            )

    def __iter__(self) -> Iterator[Client]:
        return iter(tuple(self._state.by_id.values()))

    def __len__(self) -> int:
        return len(self._state.by_id)

    def __contains__(self, client_id: object) -> bool:
        return client_id in self._state.by_id

    def __repr__(self) -> str:
        return f"MemoryRegistry({len(self)} clients)"


@dataclasses.dataclass(frozen=True, slots=True)
class _Index:
    by_id: Mapping[str, Client]
    by_key: Mapping[IndexKey, tuple[Client, ...]]

    @classmethod
    def build(cls, clients: Iterable[Client]) -> _Index:
        by_id: dict[str, Client] = {}
        by_key: dict[IndexKey, list[Client]] = {}
        for client in clients:
            by_id[client.client_id] = client
            for key in client.index_keys:
                by_key.setdefault(key, []).append(client)
        return cls(
            MappingProxyType(by_id),
            MappingProxyType({k: tuple(v) for k, v in by_key.items()}),
        )


def check_client(client: object) -> Client:
    """``client`` itself when it is a :class:`Client`; what every registry's write methods
    accept (a metadata dict goes through :func:`load_clients` or :meth:`Client.from_metadata`
    first)."""
    if not isinstance(client, Client):
        raise ConfigurationError(f"expected a Client, got {type(client).__name__}")
    return client


def _unique(clients: Iterable[Client]) -> list[Client]:
    seen: set[str] = set()
    out: list[Client] = []
    for client in clients:
        check_client(client)
        if client.client_id in seen:
            raise ClientMetadataError(
                "duplicate client_id", client_id=client.client_id, field="client_id"
            )
        seen.add(client.client_id)
        out.append(client)
    return out


def load_clients(
    source: str | os.PathLike[str] | Sequence[Mapping[str, Any]] | Mapping[str, Any],
) -> MemoryRegistry:
    """Load and validate client metadata into a :class:`MemoryRegistry`.

    ``source`` is a path to a JSON file, or the already-parsed document. The document is a
    list of client metadata objects, or an object ``{"clients": [...]}``. Every problem raises
    :class:`~clientauth.ClientMetadataError` naming the client (or entry number) and field;
    nothing is loaded unless everything is valid.
    """
    document = (
        read_registry_file(source)[0] if isinstance(source, str | os.PathLike) else source
    )
    if isinstance(document, Mapping):
        if set(document) != {"clients"}:
            raise ClientMetadataError(
                'a registry document is a list of clients or {"clients": [...]}'
            )
        document = document["clients"]
    if isinstance(document, str | bytes) or not isinstance(document, Sequence):
        raise ClientMetadataError("expected a list of client metadata objects")
    clients = [_parse_client(entry, i) for i, entry in enumerate(document)]
    return MemoryRegistry(clients)


def read_registry_file(path: str | os.PathLike[str]) -> tuple[object, os.stat_result]:
    """A registry file's JSON document, read within :data:`MAX_REGISTRY_FILE_SIZE`, and the
    ``fstat`` of the very file that was read (a reloading registry compares it later).
    Every problem is a :class:`~clientauth.ConfigurationError` naming the file, never its
    content. The one reader of registry files (``load_clients`` and ``FileRegistry``)."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as fh:
            stat = os.fstat(fh.fileno())
            data = fh.read(MAX_REGISTRY_FILE_SIZE + 1)
    except OSError as exc:
        raise ConfigurationError(f"cannot read client registry {name!r}: {exc.strerror}") from None
    except ValueError:  # open() refuses a path with a NUL byte
        raise ConfigurationError("client registry path is not a valid file name") from None
    if len(data) > MAX_REGISTRY_FILE_SIZE:
        raise ConfigurationError(f"client registry {name!r} exceeds {MAX_REGISTRY_FILE_SIZE} bytes")
    try:
        return json.loads(data), stat
    except (ValueError, RecursionError) as exc:
        raise ConfigurationError(f"client registry {name!r} is not valid JSON: {exc}") from None


# -- the document ---------------------------------------------------------------------------


def _thaw_document(metadata: Mapping[str, Any], index: int | None = None) -> dict[str, Any]:
    """A private, mutable, JSON-only copy of a metadata document (a client never shares
    its document with the caller)."""
    client_id = metadata.get("client_id")
    try:
        # A JSON round trip is the fast deep copy (C code) of the usual input, a parsed JSON
        # document; anything else (a read-only view, tuples, foreign types) goes the long way.
        copied = json.loads(json.dumps(metadata, ensure_ascii=False))
    except (TypeError, ValueError, RecursionError):
        pass
    else:
        if isinstance(copied, dict):
            return copied
    try:
        document: dict[str, Any] = _thaw(metadata)
    except RecursionError:
        raise ClientMetadataError(
            "metadata nested too deeply",
            client_id=client_id if isinstance(client_id, str) else None,
            index=index,
        ) from None
    except _NotJson as exc:
        raise ClientMetadataError(
            f"metadata must hold JSON values only, found {exc.args[0]}",
            client_id=client_id if isinstance(client_id, str) else None,
            index=index,
        ) from None
    return document


class _NotJson(Exception):
    """A value with no JSON form (the message names its type)."""


def _thaw(value: Any) -> Any:
    if isinstance(value, str | bool | int | float) or value is None:
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _NotJson(f"a {type(key).__name__} key")
            out[key] = _thaw(item)
        return out
    if isinstance(value, list | tuple):
        return [_thaw(item) for item in value]
    raise _NotJson(f"a {type(value).__name__}")


def _freeze(value: Any) -> Any:
    kind = type(value)  # only what _thaw_document produces: exact dicts and lists
    if kind is dict:
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if kind is list:
        return tuple(map(_freeze, value))
    return value


def _canonical(metadata: Mapping[str, Any]) -> str:
    return json.dumps(_thaw(metadata), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value) if isinstance(value, list | tuple) else [value]


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(Encoding.PEM).decode("ascii")


def _write_fields(document: dict[str, Any], base: _Parsed, given: _Parsed) -> None:
    """Write into ``document`` each typed field of ``given`` that differs from what the
    document says (``base``); the rest of the document is kept as it is."""
    if given.secrets != base.secrets:
        for field in _SECRET_FIELDS:
            document.pop(field, None)
        if given.secrets:
            document["client_secrets"] = [s.to_entry() for s in given.secrets]
    if given.registered_name != base.registered_name:
        for field in NAME_FIELDS:
            document.pop(field, None)
        if given.registered_name is not None:
            document[given.registered_name.field] = given.registered_name.value
    if given.jwks_uri != base.jwks_uri:
        document.pop("jwks_uri", None)
        if given.jwks_uri is not None:
            document["jwks_uri"] = given.jwks_uri
    if given.trust_anchors != base.trust_anchors:
        document.pop(_ANCHORS_FIELD, None)
        if given.trust_anchors:
            document[_ANCHORS_FIELD] = [_pem(c) for c in given.trust_anchors]
    if given.pinned_certificates != base.pinned_certificates:
        wanted = {certificate_thumbprint(c): c for c in given.pinned_certificates}
        _drop_pins(document, lambda thumb, is_cert: is_cert and thumb not in wanted)
        present = {
            certificate_thumbprint(c)
            for c in _parse(document, None, complete=False).pinned_certificates
        }
        extra = [_pem(c) for t, c in wanted.items() if t not in present]
        if extra:
            document[_CERTIFICATES_FIELD] = [*_as_list(document.get(_CERTIFICATES_FIELD)), *extra]
    if given.pinned_thumbprints != base.pinned_thumbprints:
        keep = given.pinned_thumbprints
        _drop_pins(document, lambda thumb, _is_cert: thumb not in keep)
        pinned = _parse(document, None, complete=False).pinned_thumbprints
        missing = sorted((t for t in keep if t not in pinned), key=repr)
        if missing:
            document[_THUMBPRINT_FIELD] = [*_as_list(document.get(_THUMBPRINT_FIELD)), *missing]


def _drop_pins(document: dict[str, Any], drop: Callable[[str, bool], bool]) -> None:
    """Remove the pins ``drop(thumbprint, is_certificate)`` selects, wherever they are:
    ``tls_client_certificates``, ``tls_client_certificate_thumbprints``, ``jwks`` keys."""
    pems = [
        p for p in _as_list(document.get(_CERTIFICATES_FIELD))
        if not (isinstance(p, str) and drop(certificate_thumbprint(load_certificate(p)), True))
    ]
    thumbs = [
        t for t in _as_list(document.get(_THUMBPRINT_FIELD))
        if not (isinstance(t, str) and drop(t, False))
    ]
    for field, values in ((_CERTIFICATES_FIELD, pems), (_THUMBPRINT_FIELD, thumbs)):
        document.pop(field, None)
        if values:
            document[field] = values
    jwks = document.get("jwks")
    if isinstance(jwks, dict) and isinstance(jwks.get("keys"), list):
        keys = [k for k in jwks["keys"] if not _jwk_dropped(k, drop)]
        if keys:
            document["jwks"] = {**jwks, "keys": keys}
        else:
            document.pop("jwks")


def _jwk_dropped(key: object, drop: Callable[[str, bool], bool]) -> bool:
    x5c = key.get("x5c") if isinstance(key, dict) else None
    try:
        pinned = load_x5c(x5c)  # checked at registration; a stored oddity pins nothing
    except ParseError:
        return False
    return drop(certificate_thumbprint(pinned), True)


# -- validation -----------------------------------------------------------------------------


class _Parsed(NamedTuple):
    client_id: str
    method: AuthMethod
    secrets: tuple[StoredSecret, ...]
    registered_name: RegisteredName | None
    pinned_certificates: tuple[x509.Certificate, ...]
    pinned_thumbprints: frozenset[str]
    jwks_uri: str | None
    trust_anchors: tuple[x509.Certificate, ...]
    signing_alg: str | None = None
    assertion_keys: tuple[AssertionKey, ...] = ()
    bound_tokens: bool = False


def _parse_client(metadata: object, index: int | None) -> Client:
    if not isinstance(metadata, Mapping):
        raise ClientMetadataError("client metadata must be a JSON object", index=index)
    return Client._build(_thaw_document(metadata, index), index)


def _parse(metadata: Mapping[str, Any], index: int | None, *, complete: bool) -> _Parsed:
    """Validate every field present; with ``complete``, also that the method has what it
    needs (a secret, a registered name, a pin)."""
    client_id = metadata.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        raise ClientMetadataError(
            "client_id is required and must be a non-empty string", index=index, field="client_id"
        )
    if len(client_id) > MAX_CLIENT_ID_LENGTH or not client_id.isprintable():
        raise ClientMetadataError(
            f"client_id must be printable and at most {MAX_CLIENT_ID_LENGTH} characters",
            index=index,
            field="client_id",
        )

    def fail(field: str, message: str) -> ClientMetadataError:
        return ClientMetadataError(message, client_id=client_id, field=field)

    # RFC 7591 section 2: token_endpoint_auth_method defaults to client_secret_basic.
    raw_method = metadata.get("token_endpoint_auth_method", _DEFAULT_METHOD)
    if not isinstance(raw_method, str):
        raise fail("token_endpoint_auth_method", "must be a string")
    if raw_method in _UNSUPPORTED_METHODS:
        raise fail(
            "token_endpoint_auth_method", f"{raw_method!r}: {_UNSUPPORTED_METHODS[raw_method]}"
        )
    method = _METHODS.get(raw_method)
    if method is None:
        raise fail(
            "token_endpoint_auth_method",
            f"unknown authentication method {raw_method!r}; expected one of "
            + ", ".join(sorted(_METHODS)),
        )

    assertion_keys = _parse_client_secret(metadata, method, fail, complete=complete)
    secrets = _parse_secrets(metadata, fail)
    if secrets and method is AuthMethod.CLIENT_SECRET_JWT:
        raise fail(
            "client_secret_hash",
            "client_secret_jwt checks a MAC keyed with the client_secret itself: a hash "
            "cannot; register client_secret (or prefer private_key_jwt)",
        )
    if secrets and method is AuthMethod.PRIVATE_KEY_JWT:
        raise fail(
            "client_secret_hash",
            "private_key_jwt proves the client with its private key: it has no secret",
        )
    if complete and method.uses_secret and not secrets:
        raise fail(
            "client_secret_hash",
            f"{method.value} needs a secret: set client_secret_hash (clientauth.hash_secret)",
        )

    names = [f for f in NAME_FIELDS if metadata.get(f) is not None]
    if len(names) > 1:
        raise fail(
            names[1],
            "RFC 8705 2.1.2: register exactly one certificate name, found " + ", ".join(names),
        )
    registered_name: RegisteredName | None = None
    if names:
        value = metadata[names[0]]
        if not isinstance(value, str) or not value:
            raise fail(names[0], "must be a non-empty string")
        try:
            registered_name = RegisteredName.parse(names[0], value)
        except ParseError as exc:
            raise fail(names[0], exc.reason) from None
    if complete and method is AuthMethod.TLS_CLIENT_AUTH and registered_name is None:
        raise fail(
            "tls_client_auth_subject_dn",
            "tls_client_auth needs exactly one of " + ", ".join(NAME_FIELDS),
        )

    trust_anchors = _parse_pem_list(metadata, _ANCHORS_FIELD, fail)
    for anchor in trust_anchors:
        if not is_ca(anchor):  # unparseable extensions (None) included
            raise fail(_ANCHORS_FIELD, "a trust anchor must be a CA certificate")

    pinned = _parse_pem_list(metadata, _CERTIFICATES_FIELD, fail)
    if "jwks" in metadata and "jwks_uri" in metadata:
        raise fail("jwks_uri", "RFC 7591 2: jwks and jwks_uri must not both be present")
    pinned += _parse_jwks_x5c(metadata.get("jwks"), fail)
    thumbprints = {certificate_thumbprint(c) for c in pinned}
    thumbprints |= _parse_thumbprints(metadata.get(_THUMBPRINT_FIELD), fail)
    jwks_uri = _parse_jwks_uri(metadata.get("jwks_uri"), fail)
    if method is AuthMethod.PRIVATE_KEY_JWT:
        assertion_keys = _parse_jwks_keys(metadata.get("jwks"), fail)
        if complete and not (assertion_keys or jwks_uri):
            raise fail(
                "jwks",
                "private_key_jwt needs the client's public signing keys: jwks (with at least "
                "one usable RSA, EC or OKP key) or jwks_uri",
            )
    signing_alg = _parse_signing_alg(metadata.get(_SIGNING_ALG_FIELD), method, fail)
    if signing_alg is not None:
        for key in assertion_keys:
            why = key_fits(key, signing_alg)
            if why is not None and key.kty == "oct":
                raise fail(_SIGNING_ALG_FIELD, f"{signing_alg}: {why}")
    bound = metadata.get(_BOUND_TOKENS_FIELD, False)
    if not isinstance(bound, bool):
        raise fail(_BOUND_TOKENS_FIELD, "must be true or false (RFC 8705 3.4)")
    if (
        complete
        and method is AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH
        and not (thumbprints or jwks_uri)
    ):
        raise fail(
            _CERTIFICATES_FIELD,
            "self_signed_tls_client_auth needs a pinned certificate: tls_client_certificates, "
            f"{_THUMBPRINT_FIELD}, jwks with x5c, or jwks_uri",
        )

    return _Parsed(
        client_id,
        method,
        tuple(secrets),
        registered_name,
        tuple(pinned),
        frozenset(thumbprints),
        jwks_uri,
        tuple(trust_anchors),
        signing_alg,
        assertion_keys,
        bound,
    )


def _parse_client_secret(
    metadata: Mapping[str, Any], method: AuthMethod, fail: Any, *, complete: bool
) -> tuple[AssertionKey, ...]:
    """The MAC key of a client_secret_jwt client. Its value is never quoted in an error."""
    if "client_secret" not in metadata:
        if complete and method is AuthMethod.CLIENT_SECRET_JWT:
            raise fail(
                "client_secret",
                "client_secret_jwt needs client_secret, the MAC key (RFC 7591 2); "
                "private_key_jwt keeps no secret on the server and is preferred",
            )
        return ()
    if method is not AuthMethod.CLIENT_SECRET_JWT:
        raise fail(
            "client_secret",
            "a clear-text secret is refused; store client_secret_hash (clientauth.hash_secret)"
            " -- only client_secret_jwt keeps client_secret, as its MAC key",
        )
    secret = metadata["client_secret"]
    if not isinstance(secret, str) or not secret.isprintable():
        raise fail("client_secret", "must be a printable string")
    if len(secret.encode("utf-8")) < _MIN_CLIENT_SECRET_BYTES:
        raise fail(
            "client_secret",
            f"must be at least {_MIN_CLIENT_SECRET_BYTES} bytes: an HS256 key as long as the "
            "hash (RFC 7518 3.2); clientauth.generate_secret() makes one",
        )
    return (hmac_key(secret),)


def _parse_jwks_keys(jwks: object, fail: Any) -> tuple[AssertionKey, ...]:
    """The public signing keys of an inline ``jwks`` (its shape and the absence of private
    material were checked by :func:`_parse_jwks_x5c`); keys that cannot sign are skipped."""
    if not isinstance(jwks, Mapping):
        return ()
    keys = []
    for position, jwk in enumerate(jwks.get("keys") or ()):
        key = key_from_jwk(jwk)
        if key is None:
            continue
        if key.kty == "RSA" and key_fits(key, "RS256") is not None:
            raise fail("jwks", f"key #{position + 1}: RSA keys need at least 2048 bits")
        keys.append(key)
    return tuple(keys)


def _parse_signing_alg(value: object, method: AuthMethod, fail: Any) -> str | None:
    if value is None:
        return None
    if not method.uses_assertion:
        raise fail(
            _SIGNING_ALG_FIELD,
            "applies to private_key_jwt and client_secret_jwt only (RFC 7591 2)",
        )
    allowed = (
        ASYMMETRIC_ALGORITHMS if method is AuthMethod.PRIVATE_KEY_JWT else HMAC_ALGORITHMS
    )
    if not isinstance(value, str) or value not in allowed:
        # RFC 7591 2: "none" MUST NOT be used; an HMAC with a public key is no proof either.
        raise fail(
            _SIGNING_ALG_FIELD,
            f"{method.value} accepts one of {', '.join(sorted(allowed))}",
        )
    return value


def _parse_secrets(metadata: Mapping[str, Any], fail: Any) -> list[StoredSecret]:
    out: list[StoredSecret] = []
    raw_hash = metadata.get("client_secret_hash")
    if raw_hash is not None:
        hashes = [raw_hash] if isinstance(raw_hash, str) else raw_hash
        if not isinstance(hashes, list | tuple) or not hashes:
            raise fail("client_secret_hash", "must be a hash string or a non-empty list of them")
        expires = _epoch(metadata.get("client_secret_expires_at", 0), "client_secret_expires_at",
                         fail)
        for h in hashes:
            out.append(_stored(h, expires, "client_secret_hash", fail))
    extra = metadata.get("client_secrets")
    if extra is not None:
        if not isinstance(extra, list | tuple):
            raise fail("client_secrets", 'must be a list of {"hash": ..., "expires_at": ...}')
        for entry in extra:
            if not isinstance(entry, Mapping) or "hash" not in entry:
                raise fail("client_secrets", 'each entry needs "hash"')
            unknown = set(entry) - {"hash", "expires_at", "created_at", "label"}
            if unknown:
                raise fail("client_secrets", f"unknown keys {sorted(unknown)}")
            label = entry.get("label")
            if label is not None and not isinstance(label, str):
                raise fail("client_secrets", "a secret's label must be a string")
            out.append(
                _stored(
                    entry["hash"],
                    _epoch(entry.get("expires_at", 0), "client_secrets", fail),
                    "client_secrets",
                    fail,
                    label=label,
                    created_at=entry.get("created_at"),
                )
            )
    return out


def _stored(
    value: object,
    expires: datetime | None,
    field: str,
    fail: Any,
    *,
    label: str | None = None,
    created_at: object = None,
) -> StoredSecret:
    if not isinstance(value, str):
        raise fail(field, "a secret hash must be a string")
    try:
        return StoredSecret.parse(value, expires, label=label, created_at=created_at)
    except ConfigurationError as exc:
        raise fail(field, str(exc)) from None


def _epoch(value: object, field: str, fail: Any) -> datetime | None:
    # RFC 7591 2: seconds since the epoch, 0 = never expires.
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise fail(field, "expiry must be a non-negative integer (seconds since the epoch)")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise fail(field, "expiry out of range") from None


def _parse_pem_list(metadata: Mapping[str, Any], field: str, fail: Any) -> list[x509.Certificate]:
    value = metadata.get(field)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise fail(field, "must be a list of PEM certificates")
    out = []
    for item in value:
        if not isinstance(item, str):
            raise fail(field, "must be a list of PEM certificates")
        try:
            out.append(load_certificate(item))
        except ParseError as exc:
            raise fail(field, exc.reason) from None
    return out


def _parse_jwks_x5c(jwks: object, fail: Any) -> list[x509.Certificate]:
    if jwks is None:
        return []
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list | tuple):
        raise fail("jwks", 'must be a JWK Set: {"keys": [...]}')
    out = []
    for position, key in enumerate(keys):
        if not isinstance(key, Mapping):
            raise fail("jwks", "each key must be a JSON object")
        private = [m for m in _PRIVATE_JWK_MEMBERS if m in key]
        if private:
            # RFC 7591 2 and OpenID Connect Registration 2: the set holds public keys and
            # MUST NOT hold private or symmetric values. A pasted private key is refused
            # before it is stored (or printed by `client show`); its values are never quoted.
            kid = key.get("kid")
            which = (
                f"key {kid[:_MAX_KID_SHOWN]!r}"
                if isinstance(kid, str) and kid and kid.isprintable()
                else f"key #{position + 1}"
            )
            raise fail(
                "jwks",
                f"{which} carries private or symmetric key material "
                f"({', '.join(private)}): a client's jwks holds public keys only (RFC 7591 2)",
            )
        x5c = key.get("x5c")
        if x5c is None:
            continue
        try:
            out.append(load_x5c(x5c))
        except ParseError as exc:
            raise fail("jwks", exc.reason) from None
    return out


def _parse_jwks_uri(value: object, fail: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.isprintable():
        raise fail("jwks_uri", "must be a URL string")
    # RFC 7591 2: the key set is fetched by reference, so where it comes from is the client's
    # proof: https only (RFC 7517 8 requires TLS for a key set), a host, no credentials. An
    # http: or file: URI would be refused at fetch time anyway; refusing it at registration
    # tells the operator now, not at the first request.
    try:
        parts = urllib.parse.urlsplit(value)
        host = parts.hostname
        userinfo = parts.username is not None or parts.password is not None
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise fail("jwks_uri", "not a valid URL") from None
    if parts.scheme.lower() != "https":
        raise fail(
            "jwks_uri",
            f"must be an https URL, not {parts.scheme or 'a relative'}: (RFC 7517 8: the key "
            "set must be fetched over TLS)",
        )
    if not host:
        raise fail("jwks_uri", "an https URL needs a host")
    if userinfo:
        raise fail("jwks_uri", "must not carry a user name or password")
    return value


def _parse_thumbprints(value: object, fail: Any) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise fail(_THUMBPRINT_FIELD, "must be a list of x5t#S256 thumbprints")
    out = set()
    for item in value:
        if (
            not isinstance(item, str)
            or len(item) != _X5T_S256_LENGTH
            or not all(c.isalnum() or c in "-_" for c in item)
            or not item.isascii()
        ):
            raise fail(
                _THUMBPRINT_FIELD, "a thumbprint is 43 base64url characters (x5t#S256, no padding)"
            )
        out.add(item)
    return out
