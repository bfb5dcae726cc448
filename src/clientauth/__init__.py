"""clientauth: which registered client is calling, and did it prove it?"""

from __future__ import annotations

from ._version import __version__
from ._x509 import certificate_thumbprint
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
)
from .result import AuthMethod, AuthResult, CertificateCheck, Failure, Notice
from .secret import generate_secret, hash_secret

__all__ = [
    "AuthMethod",
    "AuthResult",
    "BindingMismatch",
    "CertificateCheck",
    "CertificateParseError",
    "Client",
    "ClientAuthError",
    "ClientMetadataError",
    "ClientRegistry",
    "ConfigurationError",
    "CredentialsError",
    "DistinguishedNameError",
    "Failure",
    "FetchError",
    "ForwardedHeaderError",
    "InvalidToken",
    "MemoryRegistry",
    "Notice",
    "ParseError",
    "StoredSecret",
    "__version__",
    "certificate_thumbprint",
    "generate_secret",
    "hash_secret",
    "load_clients",
]
