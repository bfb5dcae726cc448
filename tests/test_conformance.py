"""Conformance: RFC examples as tests, and a differential test against pyhanko-certvalidator.

* RFC 6749 2.3.1 / Appendix B: Basic credentials are form-urlencoded before base64, both ways.
* RFC 8705 2.1.2 / 2.2: every ``tls_client_auth_*`` metadata name, and ``self_signed`` with a
  ``jwks`` ``x5c``; section 3.1: the ``cnf`` ``x5t#S256`` example value.
* RFC 9440 Appendix A: the example ``Client-Cert`` / ``Client-Cert-Chain`` fields (subject
  CN=BC, SAN email bdc@example.com).
* Differential: :class:`clientauth.PKIVerifier` and pyhanko-certvalidator judge the same
  generated edge-case chains; they must agree, or the case must be in ``EXPLAINED`` with the
  reason -- and no case may be accepted by us and refused by pyhanko without a reason that
  shows we are right.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote_plus

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko_certvalidator import CertificateValidator, ValidationContext

import clientauth
from certs import NOW, Issued, clock, issue, name, new_key, self_signed
from clientauth import BindingMismatch, PKIVerifier, check_binding, parse_forwarded
from clientauth.request import parse_basic_authorization

# -- RFC 6749 ---------------------------------------------------------------------------------


class TestBasicEncoding:
    """RFC 6749 2.3.1: "The client identifier is encoded using the
    application/x-www-form-urlencoded encoding algorithm per Appendix B, and the encoded
    value is used as the username; the client password is encoded using the same algorithm
    and used as the password." """

    CASES: ClassVar[list[tuple[str, str]]] = [
        ("s6BhdRkqt3", "7Fjfp0ZBr1KtDRbnfVdmIw"),  # RFC 6749 2.3.1's own example
        ("client:id", "pass:word"),
        ("a+b c", "100% sure&x=1"),
        ("caf\u00e9", "\u2603 snow/man?"),
        ("id%41", "secret%"),
    ]

    @pytest.mark.parametrize(("client_id", "secret"), CASES)
    def test_decode_what_a_conforming_client_sends(self, client_id: str, secret: str) -> None:
        """A header built per Appendix B (quote_plus each part, ':' join, base64) decodes to
        the original id and secret, reserved characters included."""
        raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
        header = "Basic " + base64.b64encode(raw).decode()
        assert parse_basic_authorization(header) == (client_id, secret)

    def test_rfc_example_header(self) -> None:
        """RFC 6749 2.3.1 example: 'Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3'."""
        assert parse_basic_authorization(
            "Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3"
        ) == ("s6BhdRkqt3", "7Fjfp0ZBr1KtDRbnfVdmIw")

    def test_plus_is_space_and_encoded_colon_is_not_a_separator(self) -> None:
        """Appendix B: '+' decodes to a space; '%3A' inside the id is data, not the
        separator -- so both directions agree only with form-decoding."""
        header = "Basic " + base64.b64encode(b"a%3Ab+c:d%2Be+f").decode()
        assert parse_basic_authorization(header) == ("a:b c", "d+e f")

    def test_end_to_end_with_reserved_characters(self) -> None:
        """A client whose id and secret hold reserved characters authenticates with the
        conforming encoding, and not with the raw one (which means something else)."""
        cid, secret = "client:1+2", clientauth.generate_secret() + "%&+:"
        registry = clientauth.load_clients(
            [{"client_id": cid, "client_secret_hash": clientauth.hash_secret(secret)}]
        )
        auth = clientauth.Authenticator(registry)
        good = base64.b64encode(f"{quote_plus(cid)}:{quote_plus(secret)}".encode()).decode()
        bad = base64.b64encode(f"{cid}:{secret}".encode()).decode()
        assert auth.authenticate(clientauth.ClientRequest(
            [("authorization", f"Basic {good}")])).ok
        assert not auth.authenticate(clientauth.ClientRequest(
            [("authorization", f"Basic {bad}")])).ok


# -- RFC 8705 ---------------------------------------------------------------------------------

RFC8705_EXAMPLE_THUMBPRINT = "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"
"""RFC 8705 section 3.1, the example ``cnf`` value."""


class TestRfc8705:
    @pytest.mark.parametrize(("field", "value", "san"), [
        ("tls_client_auth_subject_dn", "CN=conf-client,O=Conformance Corp", {}),
        ("tls_client_auth_san_dns", "client.example.com", {"san_dns": ["client.example.com"]}),
        ("tls_client_auth_san_uri", "spiffe://example.com/client",
         {"san_uri": ["spiffe://example.com/client"]}),
        ("tls_client_auth_san_ip", "192.0.2.7", {"san_ip": ["192.0.2.7"]}),
        ("tls_client_auth_san_email", "client@example.com",
         {"san_email": ["client@example.com"]}),
    ])
    def test_each_name_field(self, field: str, value: str, san: dict[str, Any]) -> None:
        """RFC 8705 2.1.2: each of the five metadata names registers a client whose
        certificate carrying that name authenticates, and whose other certificates don't."""
        root = issue(name("Conf Root"), ca=True)
        leaf = issue(name("conf-client", O="Conformance Corp"), issuer=root, **san)
        stranger = issue(name("someone", O="Elsewhere"), issuer=root)
        registry = clientauth.load_clients([{
            "client_id": "c", "token_endpoint_auth_method": "tls_client_auth", field: value,
        }])
        auth = clientauth.Authenticator(registry, trust_anchors=[root.cert], now=clock())
        ok = auth.authenticate(clientauth.ClientRequest(form={"client_id": "c"},
                                                        tls_chain=[leaf.cert]))
        assert ok.ok, ok
        no = auth.authenticate(clientauth.ClientRequest(form={"client_id": "c"},
                                                        tls_chain=[stranger.cert]))
        assert no.failure is clientauth.Failure.NAME_MISMATCH

    def test_self_signed_with_jwks_x5c(self) -> None:
        """RFC 8705 2.2 + RFC 7517 4.7: a self-signed client registered by a jwks whose key
        carries x5c (standard base64 DER) authenticates with that certificate only."""
        cert = self_signed("jwks-client")
        other = self_signed("jwks-other")
        x5c = base64.b64encode(cert.der).decode()
        registry = clientauth.load_clients([{
            "client_id": "s", "token_endpoint_auth_method": "self_signed_tls_client_auth",
            "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x5c": [x5c]}]},
        }])
        auth = clientauth.Authenticator(registry, now=clock())
        assert auth.authenticate(clientauth.ClientRequest(form={"client_id": "s"},
                                                          tls_chain=[cert.cert])).ok
        refused = auth.authenticate(clientauth.ClientRequest(form={"client_id": "s"},
                                                             tls_chain=[other.cert]))
        assert refused.failure is clientauth.Failure.CERTIFICATE_NOT_PINNED

    def test_cnf_example_value_is_the_thumbprint_format(self) -> None:
        """RFC 8705 3.1's example cnf value is accepted as a bound thumbprint: claims with it
        match a presented certificate whose x5t#S256 is that value (given as the str), and
        nothing else."""
        claims = {"cnf": {"x5t#S256": RFC8705_EXAMPLE_THUMBPRINT}}
        check_binding(claims, RFC8705_EXAMPLE_THUMBPRINT)
        with pytest.raises(BindingMismatch):
            check_binding(claims, self_signed().cert)
        with pytest.raises(BindingMismatch):
            check_binding(claims, RFC8705_EXAMPLE_THUMBPRINT[:-1] + "3")

    def test_thumbprint_is_base64url_sha256_of_der(self) -> None:
        """x5t#S256 = base64url(SHA-256(DER)), no padding (RFC 8705 3.1, RFC 7515 4.1.8)."""
        cert = self_signed()
        digest = hashlib.sha256(cert.der).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        assert clientauth.certificate_thumbprint(cert.cert) == expected
        assert len(RFC8705_EXAMPLE_THUMBPRINT) == len(expected) == 43
        bound = clientauth.bind_claims({"sub": "x"}, cert.cert)
        assert bound["cnf"] == {"x5t#S256": expected}
        check_binding(bound, cert.cert)


# -- RFC 9440 ---------------------------------------------------------------------------------


_RFC9440 = json.loads(
    (Path(__file__).parent / "vectors" / "rfc9440_appendix_a.json").read_text()
)
RFC9440_CLIENT_CERT: str = _RFC9440["client_cert"]
RFC9440_CLIENT_CERT_CHAIN: str = _RFC9440["client_cert_chain"]



class TestRfc9440:
    def test_example_client_cert(self) -> None:
        """RFC 9440 Appendix A: Client-Cert decodes to the CN=BC certificate whose SAN is
        rfc822Name bdc@example.com, issued by 'LA Intermediate CA'."""
        (leaf,) = parse_forwarded("rfc9440", RFC9440_CLIENT_CERT)
        assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "BC"
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.RFC822Name) == ["bdc@example.com"]
        assert "LA Intermediate CA" in leaf.issuer.rfc4514_string()

    def test_example_with_chain(self) -> None:
        """With Client-Cert-Chain: leaf first, then the intermediate, then the root."""
        chain = parse_forwarded("rfc9440", RFC9440_CLIENT_CERT, chain=RFC9440_CLIENT_CERT_CHAIN)
        assert [c.subject.rfc4514_string() for c in chain] == [
            "CN=BC",
            "CN=LA Intermediate CA,O=Let's Authenticate",
            "CN=Let's Authenticate Root Authority,O=Let's Authenticate,C=US",
        ]
        for child, parent in itertools.pairwise(chain):
            child.verify_directly_issued_by(parent)

    def test_example_identifies_a_client_by_email(self) -> None:
        """End to end: a tls_client_auth client registered with the example's SAN email is
        authenticated by the example headers at a time the example chain was valid."""
        chain = parse_forwarded("rfc9440", RFC9440_CLIENT_CERT, chain=RFC9440_CLIENT_CERT_CHAIN)
        registry = clientauth.load_clients([{
            "client_id": "bdc", "token_endpoint_auth_method": "tls_client_auth",
            "tls_client_auth_san_email": "bdc@example.com",
        }])
        at = chain[0].not_valid_before_utc + timedelta(days=1)
        auth = clientauth.Authenticator(
            registry, trust_anchors=[chain[2]], now=clock(at),
            forwarded=clientauth.ForwardedCertificates("rfc9440", trusted_proxies=["10.0.0.1"]),
        )
        result = auth.authenticate(clientauth.ClientRequest(
            [("Client-Cert", RFC9440_CLIENT_CERT),
             ("Client-Cert-Chain", RFC9440_CLIENT_CERT_CHAIN)], peer="10.0.0.1"))
        assert result.ok, result
        assert result.client_id == "bdc" and result.source == "forwarded:rfc9440"


# -- differential: PKIVerifier vs pyhanko-certvalidator --------------------------------------

_KU_CA = x509.KeyUsage(True, False, False, False, False, True, True, False, False)
_KU_CA_NO_CERTSIGN = x509.KeyUsage(True, False, False, False, False, False, True, False, False)
_KU_LEAF = x509.KeyUsage(True, False, False, False, False, False, False, False, False)


def build(
    subject: x509.Name,
    *,
    issuer: Issued | None = None,
    key: Any = None,
    ca: bool = False,
    basic_constraints: bool = True,
    path_length: int | None = None,
    key_usage: x509.KeyUsage | None = None,
    eku: list[x509.ObjectIdentifier] | None = None,
    not_before: Any = None,
    not_after: Any = None,
    algorithm: Any = None,
    extra: list[tuple[x509.ExtensionType, bool]] = (),  # type: ignore[assignment]
) -> Issued:
    """What ``certs.issue`` cannot express: no basicConstraints, a CA keyUsage without
    keyCertSign, another signature hash. Otherwise like ``issue``."""
    key = key or new_key()
    signer = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder().subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - timedelta(days=1))
        .not_valid_after(not_after or NOW + timedelta(days=365))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            (issuer.key if issuer else key).public_key()), False)
    )
    if basic_constraints:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), True)
    ku = key_usage or (_KU_CA if ca else _KU_LEAF)
    builder = builder.add_extension(ku, True)
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), False)
    for ext, critical in extra:
        builder = builder.add_extension(ext, critical)
    return Issued(builder.sign(signer, algorithm or hashes.SHA256()), key)


CLIENT_AUTH = [ExtendedKeyUsageOID.CLIENT_AUTH]


def _chains() -> dict[str, tuple[list[Issued], list[Issued], Issued]]:
    """name -> (presented chain leaf first, extra pool, anchor)."""
    root = issue(name("Diff Root"), ca=True, not_before=NOW - timedelta(days=30),
                 not_after=NOW + timedelta(days=3650))
    inter = issue(name("Diff Issuing CA"), issuer=root, ca=True, path_length=0)

    def leaf(issuer: Issued = inter, **kw: Any) -> Issued:
        kw.setdefault("eku", CLIENT_AUTH)
        return build(name("diff-client"), issuer=issuer, **kw)

    out: dict[str, tuple[list[Issued], list[Issued], Issued]] = {}
    out["valid"] = ([leaf(), inter], [], root)
    out["valid, leaf only + pool"] = ([leaf()], [inter], root)
    out["valid, direct from root"] = ([leaf(root)], [], root)
    out["expired leaf"] = ([leaf(not_before=NOW - timedelta(days=30),
                                 not_after=NOW - timedelta(days=1)), inter], [], root)
    expired_inter = issue(name("Diff Old CA"), issuer=root, ca=True,
                          not_before=NOW - timedelta(days=30), not_after=NOW - timedelta(days=1))
    out["expired intermediate"] = ([leaf(expired_inter), expired_inter],
                                   [], root)
    out["not yet valid leaf"] = ([leaf(not_before=NOW + timedelta(days=1)), inter], [], root)
    out["wrong EKU (serverAuth)"] = ([leaf(eku=[ExtendedKeyUsageOID.SERVER_AUTH]), inter], [],
                                     root)
    out["no EKU"] = ([build(name("diff-client"), issuer=inter), inter], [], root)
    out["anyExtendedKeyUsage only"] = ([leaf(eku=[x509.ObjectIdentifier("2.5.29.37.0")]), inter],
                                       [], root)
    out["CA certificate as leaf"] = ([issue(name("Sub CA"), issuer=inter, ca=True), inter],
                                     [], root)
    deep = issue(name("Diff Deep CA"), issuer=inter, ca=True)
    out["path length violation"] = ([leaf(deep), deep, inter], [], root)
    nc_ok = issue(name("NC CA"), issuer=root, ca=True, extra=[(x509.NameConstraints(
        permitted_subtrees=[x509.DNSName("good.example")], excluded_subtrees=None), True)])
    out["name constraints: permitted DNS, inside"] = (
        [build(name("diff-client"), issuer=nc_ok, eku=CLIENT_AUTH, extra=[
            (x509.SubjectAlternativeName([x509.DNSName("a.good.example")]), False)]), nc_ok],
        [], root)
    out["name constraints: permitted DNS, outside"] = (
        [build(name("diff-client"), issuer=nc_ok, eku=CLIENT_AUTH, extra=[
            (x509.SubjectAlternativeName([x509.DNSName("evil.example")]), False)]), nc_ok],
        [], root)
    nc_ex = issue(name("NCX CA"), issuer=root, ca=True, extra=[(x509.NameConstraints(
        permitted_subtrees=None, excluded_subtrees=[x509.DNSName("bad.example")]), True)])
    out["name constraints: excluded DNS"] = (
        [build(name("diff-client"), issuer=nc_ex, eku=CLIENT_AUTH, extra=[
            (x509.SubjectAlternativeName([x509.DNSName("x.bad.example")]), False)]), nc_ex],
        [], root)
    nc_dn = issue(name("NCDN CA"), issuer=root, ca=True, extra=[(x509.NameConstraints(
        permitted_subtrees=[x509.DirectoryName(name(None, O="Good Org"))],
        excluded_subtrees=None), True)])
    out["name constraints: DN, outside"] = (
        [build(name("diff-client", O="Evil Org"), issuer=nc_dn, eku=CLIENT_AUTH), nc_dn],
        [], root)
    out["name constraints: DN, inside"] = (
        [build(name("diff-client", O="Good Org"), issuer=nc_dn, eku=CLIENT_AUTH), nc_dn],
        [], root)
    out["missing intermediate"] = ([leaf()], [], root)
    rogue = issue(name("Diff Issuing CA"), issuer=root, ca=True, path_length=0)  # same name
    out["wrong issuer key (look-alike intermediate)"] = ([leaf(), rogue], [], root)
    out["critical unknown extension on leaf"] = ([leaf(extra=[(x509.UnrecognizedExtension(
        x509.ObjectIdentifier("1.3.6.1.4.1.55555.9"), b"\x05\x00"), True)]), inter], [], root)
    no_bc = build(name("No BC CA"), issuer=root, ca=True, basic_constraints=False)
    out["basicConstraints missing on intermediate"] = ([leaf(no_bc), no_bc], [], root)
    no_ks = build(name("No KeyCertSign CA"), issuer=root, ca=True, key_usage=_KU_CA_NO_CERTSIGN)
    out["intermediate keyUsage without keyCertSign"] = ([leaf(no_ks), no_ks], [], root)
    # A SHA-1-signed case is not generated: cryptography 50 on OpenSSL 3 refuses to sign
    # with SHA-1 ("not supported for signatures").
    out["SHA-384 signature on leaf"] = ([leaf(algorithm=hashes.SHA384()), inter], [], root)
    out["RSA-1024 leaf key"] = ([leaf(key=rsa.generate_private_key(65537, 1024)), inter], [],
                                root)
    out["P-192 leaf key"] = ([leaf(key=ec.generate_private_key(ec.SECP192R1())), inter], [],
                             root)
    out["untrusted root (self-signed chain to other root)"] = (
        [leaf(), inter], [], issue(name("Other Root"), ca=True))
    return out


CHAINS = _chains()

# Cases where the verdicts differ, with the reason. "ours" is our verdict.
EXPLAINED: dict[str, tuple[bool, str]] = {
    "no EKU": (True, (
        "we are right to accept: RFC 5280 4.2.1.12 -- an absent extendedKeyUsage does not "
        "restrict the key's purposes (cryptography's ClientVerifier agrees); pyhanko's "
        "validate_usage(extended_key_usage={'client_auth'}) requires the extension present")),
    "name constraints: DN, inside": (False, (
        "we are stricter: cryptography's verifier does not implement directoryName name "
        "constraints and refuses any chain whose CA carries them (fail closed); pyhanko "
        "implements RFC 5280 4.2.1.10 for DNs and accepts a subject inside the subtree")),
    "P-192 leaf key": (False, (
        "we are stricter on purpose: a client key must be RSA >= 2048 bits, P-256/384/521 or "
        "EdDSA (CA/Browser Forum BR 6.1.5-6.1.6); pyhanko validates the path and leaves key "
        "strength to the caller")),
    "RSA-1024 leaf key": (False, (
        "we are stricter on purpose: RSA-1024 is below the 2048-bit minimum (CA/Browser Forum "
        "BR 6.1.5); pyhanko does not judge key strength")),
}


def _ours(chain: list[Issued], pool: list[Issued], anchor: Issued) -> bool:
    verifier = PKIVerifier([anchor.cert], intermediates=[c.cert for c in pool], now=clock(),
                           cache_size=0)
    return verifier.verify_chain([c.cert for c in chain]).ok


def _pyhanko(chain: list[Issued], pool: list[Issued], anchor: Issued) -> tuple[bool, str]:
    def load(c: Issued) -> Any:
        return asn1_x509.Certificate.load(c.cert.public_bytes(serialization.Encoding.DER))

    context = ValidationContext(trust_roots=[load(anchor)], other_certs=[load(c) for c in pool],
                                moment=NOW, allow_fetching=False)
    validator = CertificateValidator(load(chain[0]), [load(c) for c in chain[1:]],
                                     validation_context=context)
    try:
        asyncio.run(validator.async_validate_usage(set(), extended_key_usage={"client_auth"}))
    except Exception as exc:  # pyhanko's refusal classes are many; any refusal is "no"
        return False, f"{type(exc).__name__}: {exc}"[:160]
    return True, ""


VERDICTS: dict[str, tuple[bool, bool, str]] = {}


@pytest.fixture(scope="module")
def verdicts() -> dict[str, tuple[bool, bool, str]]:
    if not VERDICTS:
        for label, (chain, pool, anchor) in CHAINS.items():
            theirs, why = _pyhanko(chain, pool, anchor)
            VERDICTS[label] = (_ours(chain, pool, anchor), theirs, why)
    return VERDICTS


class TestDifferentialPyhanko:
    @pytest.mark.parametrize("label", sorted(CHAINS))
    def test_agree_or_explained(self, label: str,
                                verdicts: dict[str, tuple[bool, bool, str]]) -> None:
        """Both verifiers give the same verdict, or the difference is in EXPLAINED (with our
        verdict as recorded); an accept by us that pyhanko refuses is never unexplained."""
        ours, theirs, why = verdicts[label]
        if ours == theirs:
            assert label not in EXPLAINED, f"{label}: now agree ({ours}); drop the explanation"
            return
        assert label in EXPLAINED, (
            f"unexplained disagreement on {label!r}: ours={ours} pyhanko={theirs} ({why})"
        )
        assert EXPLAINED[label][0] == ours

    def test_we_never_accept_what_pyhanko_refuses_without_reason(
        self, verdicts: dict[str, tuple[bool, bool, str]]
    ) -> None:
        """The only cases we accept and pyhanko refuses are explained ones."""
        laxer = [k for k, (ours, theirs, _) in verdicts.items() if ours and not theirs]
        assert set(laxer) <= {k for k, (v, _) in EXPLAINED.items() if v}

    @pytest.mark.parametrize(("label", "expected"), [
        ("valid", True), ("valid, leaf only + pool", True), ("valid, direct from root", True),
        ("expired leaf", False), ("expired intermediate", False), ("not yet valid leaf", False),
        ("wrong EKU (serverAuth)", False), ("CA certificate as leaf", False),
        ("path length violation", False), ("missing intermediate", False),
        ("wrong issuer key (look-alike intermediate)", False),
        ("name constraints: permitted DNS, inside", True),
        ("name constraints: permitted DNS, outside", False),
        ("name constraints: excluded DNS", False),
        ("basicConstraints missing on intermediate", False),
        ("intermediate keyUsage without keyCertSign", False),
        ("untrusted root (self-signed chain to other root)", False),
    ])
    def test_our_verdicts(self, label: str, expected: bool,
                          verdicts: dict[str, tuple[bool, bool, str]]) -> None:
        """Our verdict on each RFC 5280 edge case, independently of pyhanko."""
        assert verdicts[label][0] is expected

    def test_summary_table(self, verdicts: dict[str, tuple[bool, bool, str]],
                           capsys: pytest.CaptureFixture[str]) -> None:
        """Print the agreement table (run with -s to see it); counts add up."""
        agree = sum(ours == theirs for ours, theirs, _ in verdicts.values())
        with capsys.disabled():
            print(f"\ndifferential vs pyhanko-certvalidator: {agree}/{len(verdicts)} agree")
            for label, (ours, theirs, _) in sorted(verdicts.items()):
                mark = "=" if ours == theirs else "EXPLAINED"
                print(f"  {label:52} ours={ours!s:5} pyhanko={theirs!s:5} {mark}")
        assert agree + len([k for k in verdicts if k in EXPLAINED]) == len(verdicts)


