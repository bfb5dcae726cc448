"""The "no forwarded header here" shortcut decides what the full checks decide (issue 18).

:meth:`ForwardedCertificates.extract` first makes one pass over the header names; when none is
a configured name, an Apache chain name or a name with ``_`` (a possible other spelling), it
answers "nothing forwarded" without the full checks. What must hold: for every format and
configuration, on generated requests (configured names, their other spellings, chain names,
unrelated names; trusted and untrusted peers), the outcome with the shortcut equals the outcome
of the full checks, refusals and notices included.
"""

from __future__ import annotations

import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clientauth import ClientRequest, ForwardedCertificates
from clientauth.forwarded import FORMATS

SHARED = secrets.token_urlsafe(24)


def configurations() -> list[ForwardedCertificates]:
    out = []
    for fmt in sorted(FORMATS):
        out.append(ForwardedCertificates(fmt, trusted_proxies=["10.0.0.0/8"]))
        out.append(ForwardedCertificates(
            fmt, trusted_proxies=["10.0.0.0/8"], shared_secret=("x-proxy-secret", SHARED),
            verify_header="x-verify",
        ))
    # A configured name holding '_': the shortcut steps aside.
    out.append(ForwardedCertificates("nginx", header="x_client_cert",
                                     trusted_proxies=["10.0.0.0/8"]))
    out.append(ForwardedCertificates("apache", chain_header="x-chain-",
                                     trusted_proxies=["10.0.0.0/8"]))
    return out


CONFIGS = configurations()


def full(policy: ForwardedCertificates) -> ForwardedCertificates:
    """The same policy without the shortcut."""
    twin = ForwardedCertificates.__new__(ForwardedCertificates)
    for slot in ForwardedCertificates.__slots__:
        object.__setattr__(twin, slot, getattr(policy, slot))
    object.__setattr__(twin, "_quick", None)
    return twin


def names_for(policy: ForwardedCertificates) -> list[str]:
    configured = [policy._header, policy._chain_header, policy._secret_header,
                  policy._verify_header]
    names = ["host", "user-agent", "authorization", "x-request-id", "accept_encoding"]
    for name in filter(None, configured):
        names += [name, name.replace("-", "_"), name.replace("_", "-"), f"{name}0", f"{name}1",
                  f"{name}-extra"]
    return names


@pytest.mark.parametrize("policy", CONFIGS, ids=lambda p: f"{p.format}-{p.header}")
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_shortcut_agrees(policy: ForwardedCertificates, data: st.DataObject) -> None:
    """Outcome with the shortcut == outcome of the full checks."""
    names = data.draw(st.lists(st.sampled_from(names_for(policy)), max_size=6))
    values = st.sampled_from(["", "x", SHARED, "SUCCESS", ":AAAA:", "-----BEGIN%20CERT"])
    headers = [(name, data.draw(values)) for name in names]
    peer = data.draw(st.sampled_from(["10.1.2.3", "203.0.113.7", None]))
    request = ClientRequest(headers, peer=peer)
    assert policy.extract(request) == full(policy).extract(request)


def test_shortcut_is_taken_for_plain_requests() -> None:
    """A request with none of the watched names gets the one shared "nothing" outcome."""
    policy = ForwardedCertificates("rfc9440", trusted_proxies=["10.0.0.0/8"])
    request = ClientRequest([("host", "a"), ("authorization", "Basic eA==")], peer="10.0.0.1")
    outcome = policy.extract(request)
    assert outcome is policy._nothing and outcome.chain == () and outcome.failure is None
