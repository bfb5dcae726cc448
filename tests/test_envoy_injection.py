"""Envoy XFCC: a client's own certificate must never make the header name someone else.

Envoy writes ``URI=`` and ``DNS=`` values verbatim and unquoted, so a certificate whose SAN
holds ``,`` or ``;`` adds elements or pairs of its author's choosing (issue 11, finding 10).
Every header here is built exactly as Envoy builds it (tests/xfcc_builder.py); the attacker
holds only its own key and the victim's *public* certificate.

What must hold: whatever the attacker's SANs contain, the header yields the attacker's own
certificate or is refused -- with ``element=0``, ``element=-1`` and ``element_by``.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clientauth
import xfcc_builder
from certs import NOW, Issued, Pki, clock, issue, name, self_signed
from clientauth import (
    Authenticator,
    ClientRequest,
    Failure,
    ForwardedCertificates,
    ForwardedHeaderError,
    parse_forwarded,
)

EDGE = "spiffe://mesh/edge"
PROXY_PEER = "10.0.0.5"


@pytest.fixture(scope="module")
def victim() -> Issued:
    return self_signed("victim-app", san_uri=["spiffe://clients/victim"])


def forged(victim: Issued, *, by: str | None = None) -> str:
    """An element for the victim, as an attacker writes it into its own SAN: consistent
    (Hash, Cert, Subject, URI all the victim's), so only where it sits can give it away."""
    pairs = [f"By={by}"] if by else []
    pairs += [f"Hash={hashlib.sha256(victim.der).hexdigest()}",
              f'Cert="{xfcc_builder.url_encoded_pem(victim.cert)}"',
              f'Subject="{xfcc_builder.rfc2253_subject(victim.cert)}"',
              "URI=spiffe://clients/victim"]
    return ";".join(pairs)


def attacker_with(*, uri: str | None = None, dns: str | None = None) -> Issued:
    return self_signed("attacker", san_uri=[uri] if uri else [], san_dns=[dns] if dns else [])


def header(attacker: Issued, **kwargs: object) -> str:
    return xfcc_builder.element(attacker.cert, **kwargs)  # type: ignore[arg-type]


def outcome(value: str, **select: object) -> list[object] | str:
    """The certificates the parser returns, or "refused"."""
    try:
        return list(parse_forwarded("envoy", value, **select))  # type: ignore[arg-type]
    except ForwardedHeaderError:
        return "refused"


class TestCrossElementInjection:
    @pytest.mark.parametrize("san", ["uri", "dns"])
    def test_extra_element_refused(self, victim: Issued, san: str) -> None:
        """A SAN 'x,<victim's element>' makes a second element; element=-1 would take it.
        The attacker's own element no longer round-trips with its certificate: refused."""
        payload = "x," + forged(victim)
        attacker = attacker_with(**{san: payload})
        value = header(attacker)
        assert value.count(",") >= 1  # Envoy really wrote the comma unquoted
        assert outcome(value, element=-1) == "refused"
        assert outcome(value, element=0) == "refused"

    def test_hop_without_cert_cannot_vouch(self, victim: Issued) -> None:
        """A hop configured without Cert writes URI values nothing can check; an element
        after such a one may be forged, so element=-1 is refused."""
        attacker = attacker_with(uri="x," + forged(victim))
        value = header(attacker, details=("subject", "uri", "dns"))
        assert outcome(value, element=-1) == "refused"
        # element 0 is the attacker's own (certificate-less) element: no certificate at all.
        assert outcome(value, element=0) == []

    def test_forged_by_claim_refused(self, victim: Issued) -> None:
        """element_by: a forged element claiming the proxy's By= makes two claims: refused."""
        attacker = attacker_with(uri="x," + forged(victim, by=EDGE))
        assert outcome(header(attacker), element_by=EDGE) == "refused"
        assert outcome(header(attacker, details=("uri",)), element_by=EDGE) == "refused"

    def test_forged_element_without_by_is_not_chosen(self, victim: Issued) -> None:
        """element_by picks the proxy's own element; a forged one without the By= is not it,
        and the proxy's element (the attacker's) does not round-trip: refused."""
        attacker = attacker_with(uri="x," + forged(victim))
        assert outcome(header(attacker), element_by=EDGE) == "refused"


class TestWithinElementInjection:
    @pytest.mark.parametrize(
        "payload",
        ["x;Cert=\"{cert}\"", "x;Hash={hash};Cert=\"{cert}\"", "x;Chain=\"{cert}\"",
         "x;By=" + EDGE, "x;Subject=\"CN=victim-app\"", "x;Foo=bar"],
    )
    @pytest.mark.parametrize("details", [xfcc_builder.DETAILS, ("subject", "uri", "dns")])
    def test_pairs_after_a_san_refused(
        self, victim: Issued, payload: str, details: tuple[str, ...]
    ) -> None:
        """A SAN 'x;Cert=...' adds pairs to the attacker's own element, with or without a
        real Cert in it: anything after a URI/DNS value is refused."""
        text = payload.format(cert=xfcc_builder.url_encoded_pem(victim.cert),
                              hash=hashlib.sha256(victim.der).hexdigest())
        for san in ("uri", "dns"):
            value = header(attacker_with(**{san: text}), details=details)
            for select in ({}, {"element": 0}, {"element": -1}, {"element_by": EDGE}):
                assert outcome(value, **select) == "refused", (san, select)


class TestHonestOddSans:
    @pytest.mark.parametrize("san", ["a=b", "x\\y", "spiffe://a/b?c=d&e=f", "", "%2C%3B"])
    def test_own_certificate_still_read(self, san: str) -> None:
        """SANs with '=', backslashes or escapes but no separator round-trip: the client
        gets its own certificate, nothing else."""
        attacker = attacker_with(uri=san or None, dns=san or None)
        value = header(attacker)
        for select in ({}, {"element": 0}, {"element": -1}, {"element_by": EDGE}):
            assert outcome(value, **select) == [attacker.cert], select

    def test_quote_in_san_refused(self) -> None:
        """A '"' in an unquoted value is malformed XFCC: refused."""
        assert outcome(header(attacker_with(uri='x"y'))) == "refused"


class TestProxyChain:
    def test_two_hops_by_identity(self, victim: Issued) -> None:
        """Client -> edge (SANITIZE_SET) -> sidecar (APPEND_FORWARD): element_by=the edge
        picks the client's element, the sidecar's element (about the edge) is ignored."""
        pki = Pki.create("Mesh")
        client = pki.leaf("client-app", san_uri=["spiffe://clients/app"])
        edge = pki.leaf("edge", san_uri=[EDGE])
        value = xfcc_builder.append_forward(
            header(client), header(edge, by=["spiffe://mesh/sidecar"], details=("uri",))
        )
        assert outcome(value, element_by=EDGE) == [client.cert]
        assert outcome(value, element=0) == [client.cert]
        assert outcome(value, element_by="spiffe://mesh/sidecar") == []
        assert outcome(value, element_by="spiffe://mesh/other") == "refused"

    def test_client_sent_elements_before_append(self, victim: Issued) -> None:
        """An edge with APPEND_FORWARD keeps what the client sent before its own element:
        element_by still picks the edge's element; a client-sent copy claiming the edge's
        By= makes two claims and is refused."""
        attacker = attacker_with(uri="spiffe://clients/attacker")
        spoofed = xfcc_builder.append_forward(forged(victim), header(attacker))
        assert outcome(spoofed, element_by=EDGE) == [attacker.cert]
        assert outcome(spoofed, element=-1) == [attacker.cert]
        claimed = xfcc_builder.append_forward(forged(victim, by=EDGE), header(attacker))
        assert outcome(claimed, element_by=EDGE) == "refused"


class TestEndToEnd:
    def test_attacker_does_not_become_the_victim(self, victim: Issued) -> None:
        """Through ForwardedCertificates and the Authenticator: the victim pinned its
        self-signed certificate; the attacker's forged element fails the request."""
        registry = clientauth.load_clients([
            {"client_id": "victim", "token_endpoint_auth_method": "self_signed_tls_client_auth",
             "tls_client_certificates": [victim.pem]},
        ])
        auth = Authenticator(registry, now=clock(NOW), forwarded=ForwardedCertificates(
            "envoy", trusted_proxies=[PROXY_PEER], element=-1))
        attacker = attacker_with(uri="x," + forged(victim))
        request = ClientRequest([("x-forwarded-client-cert", header(attacker))],
                                form={"client_id": "victim"}, peer=PROXY_PEER)
        result = auth.authenticate(request)
        assert not result.ok
        assert result.failure is Failure.FORWARDED_HEADER_INVALID
        honest = ClientRequest([("x-forwarded-client-cert", header(victim))],
                               form={"client_id": "victim"}, peer=PROXY_PEER)
        assert auth.authenticate(honest).ok


# -- the class: any SAN the attacker can write ------------------------------------------------

_VICTIM = self_signed("victim-prop", san_uri=["spiffe://clients/victim"])
_PIECES = [",", ";", '"', "=", "\\", " ", "Cert=", "By=" + EDGE, "Hash=", "URI=", "DNS=",
           forged(_VICTIM), forged(_VICTIM, by=EDGE), quote(_VICTIM.pem, safe=""), "x"]
_SAN_TEXT = st.lists(st.sampled_from(_PIECES), min_size=1, max_size=6).map("".join)


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(uri=st.none() | _SAN_TEXT, dns=st.none() | _SAN_TEXT,
       details=st.sampled_from([xfcc_builder.DETAILS, ("cert", "uri", "dns"),
                                ("subject", "uri", "dns"), ("uri",)]),
       earlier=st.booleans())
def test_only_ever_the_attackers_certificate(
    uri: str | None, dns: str | None, details: tuple[str, ...], earlier: bool
) -> None:
    """For any URI/DNS SAN built from separators, keys and whole forged elements, every
    selection yields the attacker's own certificate, no certificate, or a refusal."""
    try:
        attacker = issue(name("attacker"), san_uri=[uri] if uri else [],
                         san_dns=[dns] if dns else [])
    except ValueError:  # a SAN cryptography will not encode
        return
    value = header(attacker, details=details)
    if earlier:  # an edge in APPEND_FORWARD mode keeps a client-sent element in front
        value = xfcc_builder.append_forward(forged(_VICTIM), value)
    for select in ({}, {"element": 0}, {"element": -1}, {"element_by": EDGE}):
        got = outcome(value, **select)
        assert got in ("refused", [], [attacker.cert]) or (
            earlier and select == {"element": 0}
        ), (value, select)
