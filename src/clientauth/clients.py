"""Registered clients: RFC 7591 / RFC 8705 client metadata, the registry protocol, and the
embedded in-memory registry.

Metadata names follow RFC 7591 section 2 and RFC 8705 section 2.1.2. Fields that are ours
(no RFC defines them) are:

``client_secret_hash``
    A stored hash of the client secret (see :func:`clientauth.hash_secret`), or a list of them.
    A clear-text ``client_secret`` is refused: the registry never holds a secret.
``client_secrets``
    Several live secrets for rotation: ``[{"hash": ..., "expires_at": <epoch seconds or 0>}]``.
``tls_client_certificates``
    Self-signed method: pinned certificates as PEM strings.
``tls_client_certificate_thumbprints``
    Self-signed method: pinned certificates as ``x5t#S256`` thumbprints.
``tls_client_auth_trust_anchors``
    PKI method: trust anchors for this client only (PEM), pinned by certificate and key.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from cryptography import x509

from ._x509 import EXTENSION_ERRORS, certificate_thumbprint, load_certificate
from .exceptions import ClientMetadataError, ConfigurationError, ParseError
from .names import NAME_FIELDS, RegisteredName, certificate_name_keys
from .result import AuthMethod
from .secret import SecretHash, parse_secret_hash

__all__ = [
    "MAX_CLIENT_ID_LENGTH",
    "MAX_REGISTRY_FILE_SIZE",
    "Client",
    "ClientRegistry",
    "MemoryRegistry",
    "StoredSecret",
    "load_clients",
]

MAX_CLIENT_ID_LENGTH = 1024
"""Longest client_id accepted, in characters (registration and requests)."""

MAX_REGISTRY_FILE_SIZE = 64 * 1024 * 1024
"""Largest client metadata JSON file :func:`load_clients` reads, in bytes."""

_METHODS = {m.value: m for m in AuthMethod}
_UNSUPPORTED_METHODS = {
    "none": "public clients do not authenticate; clientauth only handles clients that prove "
    "their identity",
    "client_secret_jwt": "not supported by clientauth",
    "private_key_jwt": "not supported by clientauth",
}
_THUMBPRINT_FIELD = "tls_client_certificate_thumbprints"
_X5T_S256_LENGTH = 43  # base64url of 32 bytes, no padding


@dataclasses.dataclass(frozen=True, slots=True)
class StoredSecret:
    """One live secret of a client: its stored hash and optional expiry. The repr shows
    neither the hash nor anything derived from it."""

    hash: SecretHash = dataclasses.field(repr=False)
    expires_at: datetime | None = None

    def __repr__(self) -> str:
        return f"StoredSecret(scheme={self.hash.scheme!r}, expires_at={self.expires_at!r})"

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class Client:
    """A registered client. Build with :meth:`from_metadata` (validates) rather than directly.

    ``registered_name`` is the one RFC 8705 name a ``tls_client_auth`` client registered;
    ``pinned_thumbprints`` holds the ``x5t#S256`` of every certificate a
    ``self_signed_tls_client_auth`` client pinned (from ``tls_client_certificates``, ``jwks``
    ``x5c`` entries and ``tls_client_certificate_thumbprints``).
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
    secrets_expire: bool = dataclasses.field(init=False, repr=False)
    """Whether any stored secret has an expiry (else the clock need not be read)."""

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "secrets_expire", any(s.expires_at is not None for s in self.secrets)
        )

    @property
    def method(self) -> AuthMethod:
        """Short alias of ``token_endpoint_auth_method``."""
        return self.token_endpoint_auth_method

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any], *, index: int | None = None) -> Client:
        """Validate one client's metadata and build the :class:`Client`.

        Raises :class:`~clientauth.ClientMetadataError` naming the client and the field.
        """
        return _parse_client(metadata, index)

    def to_metadata(self) -> dict[str, Any]:
        """The metadata document this client was built from (secret hashes included, as
        stored -- treat the output like the registry file itself)."""
        return dict(self.metadata)


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
        state = self._state
        found: dict[str, Client] = {}
        for key in certificate_name_keys(certificate):
            for client in state.by_name.get(key, ()):
                found[client.client_id] = client
        for client in state.by_thumbprint.get(certificate_thumbprint(certificate), ()):
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
    by_name: Mapping[tuple[str, object], tuple[Client, ...]]
    by_thumbprint: Mapping[str, tuple[Client, ...]]

    @classmethod
    def build(cls, clients: Iterable[Client]) -> _Index:
        by_id: dict[str, Client] = {}
        by_name: dict[tuple[str, object], list[Client]] = {}
        by_thumbprint: dict[str, list[Client]] = {}
        for client in clients:
            by_id[client.client_id] = client
            if (
                client.method is AuthMethod.TLS_CLIENT_AUTH
                and client.registered_name is not None
            ):
                key = (client.registered_name.field, client.registered_name.key)
                by_name.setdefault(key, []).append(client)
            if client.method is AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH:
                for thumb in client.pinned_thumbprints:
                    by_thumbprint.setdefault(thumb, []).append(client)
        return cls(
            MappingProxyType(by_id),
            MappingProxyType({k: tuple(v) for k, v in by_name.items()}),
            MappingProxyType({k: tuple(v) for k, v in by_thumbprint.items()}),
        )


def _unique(clients: Iterable[Client]) -> list[Client]:
    seen: set[str] = set()
    out: list[Client] = []
    for client in clients:
        if not isinstance(client, Client):
            raise ConfigurationError(
                f"MemoryRegistry takes Client objects, got {type(client).__name__}"
            )
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
        _read_json(os.fspath(source)) if isinstance(source, str | os.PathLike) else source
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


def _read_json(path: str) -> object:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_REGISTRY_FILE_SIZE + 1)
    except OSError as exc:
        raise ConfigurationError(f"cannot read client registry {path!r}: {exc.strerror}") from None
    except ValueError:  # open() refuses a path with a NUL byte
        raise ConfigurationError("client registry path is not a valid file name") from None
    if len(data) > MAX_REGISTRY_FILE_SIZE:
        raise ConfigurationError(f"client registry {path!r} exceeds {MAX_REGISTRY_FILE_SIZE} bytes")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ConfigurationError(f"client registry {path!r} is not valid JSON: {exc}") from None


# -- validation ---------------------------------------------------------------------------


def _parse_client(metadata: object, index: int | None) -> Client:
    if not isinstance(metadata, Mapping):
        raise ClientMetadataError("client metadata must be a JSON object", index=index)
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

    if "client_secret" in metadata:
        raise fail(
            "client_secret",
            "a clear-text secret is refused; store client_secret_hash (clientauth.hash_secret)",
        )

    # RFC 7591 section 2: token_endpoint_auth_method defaults to client_secret_basic.
    raw_method = metadata.get("token_endpoint_auth_method", AuthMethod.CLIENT_SECRET_BASIC.value)
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

    secrets = _parse_secrets(metadata, fail)
    if method.uses_secret and not secrets:
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
    if method is AuthMethod.TLS_CLIENT_AUTH and registered_name is None:
        raise fail(
            "tls_client_auth_subject_dn",
            "tls_client_auth needs exactly one of " + ", ".join(NAME_FIELDS),
        )

    trust_anchors = _parse_pem_list(metadata, "tls_client_auth_trust_anchors", fail)
    for anchor in trust_anchors:
        if not _is_ca(anchor):
            raise fail("tls_client_auth_trust_anchors", "a trust anchor must be a CA certificate")

    pinned = _parse_pem_list(metadata, "tls_client_certificates", fail)
    if "jwks" in metadata and "jwks_uri" in metadata:
        raise fail("jwks_uri", "RFC 7591 2: jwks and jwks_uri must not both be present")
    pinned += _parse_jwks_x5c(metadata.get("jwks"), fail)
    thumbprints = {certificate_thumbprint(c) for c in pinned}
    thumbprints |= _parse_thumbprints(metadata.get(_THUMBPRINT_FIELD), fail)
    jwks_uri = metadata.get("jwks_uri")
    if jwks_uri is not None and (not isinstance(jwks_uri, str) or not jwks_uri.isprintable()):
        raise fail("jwks_uri", "must be a URL string")
    if method is AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH and not (thumbprints or jwks_uri):
        raise fail(
            "tls_client_certificates",
            "self_signed_tls_client_auth needs a pinned certificate: tls_client_certificates, "
            f"{_THUMBPRINT_FIELD}, jwks with x5c, or jwks_uri",
        )

    return Client(
        client_id=client_id,
        token_endpoint_auth_method=method,
        secrets=tuple(secrets),
        registered_name=registered_name,
        pinned_certificates=tuple(pinned),
        pinned_thumbprints=frozenset(thumbprints),
        jwks_uri=jwks_uri,
        trust_anchors=tuple(trust_anchors),
        metadata=MappingProxyType(dict(metadata)),
    )


def _parse_secrets(metadata: Mapping[str, Any], fail: Any) -> list[StoredSecret]:
    out: list[StoredSecret] = []
    raw_hash = metadata.get("client_secret_hash")
    if raw_hash is not None:
        hashes = [raw_hash] if isinstance(raw_hash, str) else raw_hash
        if not isinstance(hashes, list) or not hashes:
            raise fail("client_secret_hash", "must be a hash string or a non-empty list of them")
        expires = _epoch(metadata.get("client_secret_expires_at", 0), "client_secret_expires_at",
                         fail)
        for h in hashes:
            out.append(StoredSecret(_hash(h, "client_secret_hash", fail), expires))
    extra = metadata.get("client_secrets")
    if extra is not None:
        if not isinstance(extra, list):
            raise fail("client_secrets", 'must be a list of {"hash": ..., "expires_at": ...}')
        for entry in extra:
            if not isinstance(entry, Mapping) or "hash" not in entry:
                raise fail("client_secrets", 'each entry needs "hash"')
            unknown = set(entry) - {"hash", "expires_at", "created_at", "label"}
            if unknown:
                raise fail("client_secrets", f"unknown keys {sorted(unknown)}")
            out.append(
                StoredSecret(
                    _hash(entry["hash"], "client_secrets", fail),
                    _epoch(entry.get("expires_at", 0), "client_secrets", fail),
                )
            )
    return out


def _hash(value: object, field: str, fail: Any) -> SecretHash:
    if not isinstance(value, str):
        raise fail(field, "a secret hash must be a string")
    try:
        return parse_secret_hash(value)
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
    if not isinstance(value, list):
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
    if not isinstance(keys, list):
        raise fail("jwks", 'must be a JWK Set: {"keys": [...]}')
    out = []
    for key in keys:
        if not isinstance(key, Mapping):
            raise fail("jwks", "each key must be a JSON object")
        x5c = key.get("x5c")
        if x5c is None:
            continue
        # RFC 7517 4.7: x5c is a list of base64 (not base64url) DER; the first holds the key.
        if not isinstance(x5c, list) or not x5c or not isinstance(x5c[0], str):
            raise fail("jwks", "x5c must be a non-empty list of base64 DER certificates")
        try:
            der = base64.b64decode(x5c[0], validate=True)
            out.append(load_certificate(der))
        except (binascii.Error, ValueError):
            raise fail("jwks", "x5c[0] is not a base64 DER certificate") from None
    return out


def _parse_thumbprints(value: object, fail: Any) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
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


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        bc = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    except EXTENSION_ERRORS:
        return False
    return bc.ca
