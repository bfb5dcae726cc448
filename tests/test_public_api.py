"""The public API: __all__ is sorted and complete, and the contract names exist."""

from __future__ import annotations

import clientauth

CONTRACT = {
    "AuthMethod", "AuthResult", "Authenticator", "BindingMismatch", "Client", "ClientAuthError",
    "ClientRegistry", "ClientRequest", "Failure", "ForwardedCertificates", "MemoryRegistry",
    "bind_claims", "certificate_thumbprint", "check_binding", "generate_secret", "hash_secret",
    "load_clients", "parse_forwarded",
}


def test_all_sorted_and_unique() -> None:
    """__all__ is sorted and has no duplicates."""
    assert list(clientauth.__all__) == sorted(set(clientauth.__all__))


def test_all_is_exactly_the_public_names() -> None:
    """Every public module attribute is in __all__ and every __all__ name exists."""
    public = {n for n in dir(clientauth) if not n.startswith("_")}
    submodules = {n for n in public if type(getattr(clientauth, n)).__name__ == "module"}
    future = {"annotations"}  # `from __future__ import annotations` leaves this behind
    assert set(clientauth.__all__) - {"__version__"} == public - submodules - future
    for name in clientauth.__all__:
        assert hasattr(clientauth, name), name


def test_contract_names_present() -> None:
    """The names in the public API contract (docs/design.md) are importable from clientauth."""
    assert set(clientauth.__all__) >= CONTRACT


def test_exceptions_share_one_root() -> None:
    """Every exception class clientauth exports derives from ClientAuthError."""
    for name in clientauth.__all__:
        obj = getattr(clientauth, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert issubclass(obj, clientauth.ClientAuthError), name


def test_version() -> None:
    """__version__ comes from the package."""
    assert clientauth.__version__.count(".") >= 1


def test_registry_errors_exported() -> None:
    """Issue 12 finding 6: the registry errors an application may catch are public, and the
    lookup failure is a RegistryError (so one except clause covers reads and writes)."""
    assert {"RegistryError", "RegistryUnavailable"} <= set(clientauth.__all__)
    assert issubclass(clientauth.RegistryUnavailable, clientauth.RegistryError)


def test_assertion_contract_names() -> None:
    """Issue 14: the RFC 7523 methods are spelled as the contract says, and the assertion
    names an application configures are public."""
    assert clientauth.AuthMethod.PRIVATE_KEY_JWT == "private_key_jwt"
    assert clientauth.AuthMethod.CLIENT_SECRET_JWT == "client_secret_jwt"
    assert {"AssertionVerifier", "JwksKeys", "MemoryReplayStore", "ReplayStore"} <= set(
        clientauth.__all__
    )
    assert clientauth.Failure.INVALID_ASSERTION.error == "invalid_client"
    assert clientauth.Failure.REPLAYED_ASSERTION.error == "invalid_client"
    assert clientauth.Failure.MALFORMED_ASSERTION.error == "invalid_request"
