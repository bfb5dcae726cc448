"""The exceptions clientauth raises.

Bad *client input* never raises out of :meth:`clientauth.Authenticator.authenticate`: it becomes
a failed :class:`clientauth.AuthResult`. Exceptions are for bad *configuration* (caught when
you build an object, not when a request arrives), for the pure parsers, for the token
helpers, whose callers expect to catch them, and for a registry that cannot be read
(:class:`RegistryUnavailable`, which the adapters answer with 503)::

    ClientAuthError                      root; never raised directly
     ├── ConfigurationError (ValueError)  a setting or client metadata is wrong
     │    └── ClientMetadataError          one client's metadata; names client_id and field
     ├── ParseError (ValueError)          a pure parser refused its input; carries position
     │    ├── CredentialsError             Basic header / id-secret extraction
     │    ├── DistinguishedNameError       an RFC 4514 / OpenSSL-slash DN string
     │    ├── CertificateParseError        PEM / DER that is not one certificate
     │    └── ForwardedHeaderError         a proxy's certificate header; carries format
     ├── FetchError                       jwks_uri / CRL / OCSP retrieval failed (bounded)
     ├── RegistryError                    a registry failed in its storage (database)
     │    └── RegistryUnavailable          a lookup failed: answer 503, never "unknown client"
     └── InvalidToken                     a JWT or introspection response is not acceptable
          └── BindingMismatch              the token is not bound to the presented certificate

No message or attribute of any of these ever contains a client secret or a secret hash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .result import Failure

__all__ = [
    "BindingMismatch",
    "CertificateParseError",
    "ClientAuthError",
    "ClientMetadataError",
    "ConfigurationError",
    "CredentialsError",
    "DistinguishedNameError",
    "FetchError",
    "ForwardedHeaderError",
    "InvalidToken",
    "ParseError",
    "RegistryError",
    "RegistryUnavailable",
]


class ClientAuthError(Exception):
    """Root of every exception clientauth raises. Never raised directly."""


class ConfigurationError(ClientAuthError, ValueError):
    """A setting passed to a clientauth object is wrong. Raised at construction time."""


class ClientMetadataError(ConfigurationError):
    """One client's registered metadata is invalid.

    ``client_id`` and ``field`` say where; ``client_id`` is ``None`` when the entry has no
    usable id (and then ``index`` tells which entry of the document it was).
    """

    def __init__(
        self,
        message: str,
        *,
        client_id: str | None = None,
        field: str | None = None,
        index: int | None = None,
    ) -> None:
        self.client_id = client_id
        self.field = field
        self.index = index
        where = []
        if client_id is not None:
            where.append(f"client {client_id!r}")
        elif index is not None:
            where.append(f"entry #{index}")
        if field is not None:
            where.append(f"field {field!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.reason = message


class ParseError(ClientAuthError, ValueError):
    """A pure parser refused its input.

    ``position`` is the offset in the input where parsing failed (``None`` when the input was
    refused as a whole, e.g. too large). Messages never echo the refused input.
    """

    def __init__(self, message: str, *, position: int | None = None) -> None:
        self.position = position
        self.reason = message
        super().__init__(message if position is None else f"{message} (at position {position})")


class CredentialsError(ParseError):
    """Client credentials in a request are malformed (Basic header, id/secret parameters).

    ``kind`` is the :class:`~clientauth.Failure` the request fails with:
    ``MALFORMED_CREDENTIALS`` (the default), ``MULTIPLE_METHODS``, ``CONFLICTING_CLIENT_ID``
    or ``MALFORMED_ASSERTION``. It may be given as the member or its value (``"multiple_methods"``);
    it is always stored as the member (a ``Failure`` compares equal to its value).
    """

    def __init__(
        self,
        message: str,
        *,
        kind: Failure | str = "malformed_credentials",
        position: int | None = None,
    ) -> None:
        from .result import Failure  # noqa: PLC0415 -- result sits above this module

        self.kind: Failure = Failure(kind)
        super().__init__(message, position=position)


class DistinguishedNameError(ParseError):
    """A distinguished-name string (RFC 4514 or OpenSSL slash form) cannot be parsed."""


class CertificateParseError(ParseError):
    """Bytes or text that should hold one X.509 certificate do not."""


class ForwardedHeaderError(ParseError):
    """A certificate header forwarded by a TLS-terminating proxy cannot be decoded."""

    def __init__(self, message: str, *, format: str, position: int | None = None) -> None:
        self.format = format
        super().__init__(f"{format}: {message}", position=position)


class FetchError(ClientAuthError):
    """Retrieving remote material (jwks_uri, CRL, OCSP) failed within its bounds."""


class RegistryError(ClientAuthError):
    """A registry could not write a change to its storage (a database error).

    The message carries the database's reason without the statement's parameters or the row
    (they hold secret hashes); the driver's exception is not chained. ``sqlstate`` is the
    SQL error code when the driver gives one.
    """

    def __init__(self, message: str, *, sqlstate: str | None = None) -> None:
        self.sqlstate = sqlstate
        super().__init__(message)


class RegistryUnavailable(RegistryError):
    """The client registry could not be read while authenticating a request.

    Raised by :meth:`clientauth.Authenticator.authenticate` when the registry's ``get`` or
    ``find_by_certificate`` raises (a database that is down, a network registry that times
    out): "unavailable" must never read as "unknown client" (a 401 for a good client) nor as
    success. The adapters answer it with 503 and ``Retry-After`` (docs/deployment.md).

    The message names only the failing lookup and the exception's type. The registry's
    exception is not chained (``__cause__`` and ``__context__`` are ``None``): a database
    driver's text can hold the statement's parameters, here a client id or certificate name
    digest. ``error_type`` is that exception's class name, ``sqlstate`` its SQL error code
    when it has one.
    """

    def __init__(
        self, message: str, *, error_type: str | None = None, sqlstate: str | None = None
    ) -> None:
        self.error_type = error_type
        super().__init__(message, sqlstate=sqlstate)


class InvalidToken(ClientAuthError):
    """A token (JWT or introspection response) is not acceptable.

    ``error`` is the RFC 6750 error code a resource server should answer with.
    """

    error = "invalid_token"


class BindingMismatch(InvalidToken):
    """The token is not bound to the certificate the caller presented (RFC 8705 section 3)."""
