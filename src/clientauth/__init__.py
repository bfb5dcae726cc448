"""clientauth: which registered client is calling, and did it prove it?

Client secrets (RFC 6749 2.3.1), RFC 8705 mutual TLS (PKI and pinned self-signed),
certificates forwarded by trusted TLS-terminating proxies, certificate-bound tokens, and
ASGI/WSGI adapters -- behind one result type, :class:`AuthResult`.
"""

from __future__ import annotations

import logging as _logging

from . import asgi as asgi  # clientauth.asgi.ClientAuthMiddleware without a second import
from . import wsgi as wsgi
from ._version import __version__
from .assertion import AssertionVerifier, JwksKeys
from .audit import AuditEvent
from .authenticator import Authenticator, CertificateVerifier
from .binding import (
    bind_claims,
    certificate_thumbprint,
    check_binding,
    check_introspection_binding,
    decode_bound_token,
)
from .clients import Client, ClientRegistry, MemoryRegistry, StoredSecret, load_clients
from .exceptions import (
    BindingMismatch,
    CertificateParseError,
    ClientAuthError,
    ClientMetadataError,
    ConfigurationError,
    CredentialsError,
    DistinguishedNameError,
    FetchError,
    ForwardedHeaderError,
    InvalidToken,
    ParseError,
    RegistryError,
    RegistryUnavailable,
)
from .forwarded import ForwardedCertificates, ForwardedOutcome, parse_forwarded
from .jwks import JwksFetcher
from .pinned import PinnedVerifier
from .pki import PKIVerifier
from .registry.file import FileRegistry
from .replay import MemoryReplayStore, ReplayStore
from .request import ClientRequest
from .result import AuthMethod, AuthResult, CertificateCheck, Failure, Notice
from .revocation import RevocationChecker, RevocationMode
from .secret import generate_secret, hash_secret

# A library never configures logging; without this, Python's last-resort handler would print
# every refused client (WARNING) to stderr.
_logging.getLogger("clientauth").addHandler(_logging.NullHandler())

__all__ = [
    "AssertionVerifier",
    "AuditEvent",
    "AuthMethod",
    "AuthResult",
    "Authenticator",
    "BindingMismatch",
    "CertificateCheck",
    "CertificateParseError",
    "CertificateVerifier",
    "Client",
    "ClientAuthError",
    "ClientMetadataError",
    "ClientRegistry",
    "ClientRequest",
    "ConfigurationError",
    "CredentialsError",
    "DistinguishedNameError",
    "Failure",
    "FetchError",
    "FileRegistry",
    "ForwardedCertificates",
    "ForwardedHeaderError",
    "ForwardedOutcome",
    "InvalidToken",
    "JwksFetcher",
    "JwksKeys",
    "MemoryRegistry",
    "MemoryReplayStore",
    "Notice",
    "PKIVerifier",
    "ParseError",
    "PinnedVerifier",
    "RegistryError",
    "RegistryUnavailable",
    "ReplayStore",
    "RevocationChecker",
    "RevocationMode",
    "StoredSecret",
    "__version__",
    "bind_claims",
    "certificate_thumbprint",
    "check_binding",
    "check_introspection_binding",
    "decode_bound_token",
    "generate_secret",
    "hash_secret",
    "load_clients",
    "parse_forwarded",
]
