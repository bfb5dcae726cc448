"""Refusals of openssl-made certificates say which certificate broke which rule (issue 16.2).

RFC 5280 requires what openssl's defaults leave out (keyUsage keyCertSign on a CA, 4.2.1.3;
version 3 for extensions, 4.1.2.1), so refusing is right; what must hold is that ``detail``
-- and so `clientauth check` and the audit event -- names the certificate and the rule, never
only "no path". Every certificate here is made by the real ``openssl`` command.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import clientauth
from clientauth import pki as pki_module
from clientauth.cli import main
from clientauth.pki import PKIVerifier
from openssl_pki import Made, OpenSSL

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None,
                                reason="needs the openssl command")

ORG = "/O=Example Corp"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Made]:
    """Every certificate of this module, made once: a good root, a root without keyUsage,
    and issuing CAs / leaves with each extension people forget."""
    ossl = OpenSSL(tmp_path_factory.mktemp("openssl"))
    out: dict[str, Made] = {}
    root = out["root"] = ossl.root("root", f"{ORG}/CN=Root CA")
    out["root_no_ku"] = ossl.root("root_no_ku", f"{ORG}/CN=Plain Root CA", key_usage=False)
    out["leaf_of_plain_root"] = ossl.issue("leaf_plain", f"{ORG}/CN=svc", out["root_no_ku"],
                                           section="client")
    for section in ("ca", "ca_no_key_usage", "ca_no_cert_sign", "ca_no_basic_constraints",
                    "ca_server_eku"):
        inter = out[section] = ossl.issue(section, f"{ORG}/CN=Issuing {section}", root,
                                          section=section)
        out[f"leaf_{section}"] = ossl.issue(f"leaf_{section}", f"{ORG}/CN=svc", inter,
                                            section="client", days=5)
    out["ca_v1"] = ossl.issue("ca_v1", f"{ORG}/CN=Issuing v1", root, section=None)
    out["leaf_ca_v1"] = ossl.issue("leaf_ca_v1", f"{ORG}/CN=svc", out["ca_v1"],
                                   section="client")
    out["leaf_v1"] = ossl.issue("leaf_v1", f"{ORG}/CN=svc", root, section=None)
    out["short_ca"] = ossl.issue("short_ca", f"{ORG}/CN=Issuing short", root, section="ca",
                                 days=1)
    out["leaf_short_ca"] = ossl.issue("leaf_short_ca", f"{ORG}/CN=svc", out["short_ca"],
                                      section="client", days=5)
    upper = out["pathlen0"] = ossl.issue("pathlen0", f"{ORG}/CN=Upper", root,
                                         section="ca_pathlen0")
    lower = out["below_pathlen0"] = ossl.issue("below", f"{ORG}/CN=Lower", upper, section="ca")
    out["leaf_below_pathlen0"] = ossl.issue("leaf_below", f"{ORG}/CN=svc", lower,
                                            section="client")
    out["rogue_root"] = ossl.root("rogue", f"{ORG}/CN=Root CA")  # same name, another key
    out["leaf_of_rogue"] = ossl.issue("leaf_rogue", f"{ORG}/CN=svc", out["rogue_root"],
                                      section="client")
    out["self_signed"] = ossl.root("self", f"{ORG}/CN=svc", key_usage=False,
                                   section="self_signed_client")
    return out


def clock(days: float = 0) -> Callable[[], datetime]:
    at = datetime.now(UTC) + timedelta(days=days)
    return lambda: at


def check(made: dict[str, Made], anchor: str, *chain: str,
          days: float = 0) -> clientauth.CertificateCheck:
    verifier = PKIVerifier([made[anchor].cert], now=clock(days))
    return verifier.verify_chain([made[c].cert for c in chain])


class TestGoodChains:
    def test_recipe_shaped_chain_passes(self, made: dict[str, Made]) -> None:
        """Root with keyUsage, issuing CA and client certificate with extensions: accepted."""
        result = check(made, "root", "leaf_ca", "ca")
        assert result.ok, result.detail


class TestRefusalsNameCertificateAndRule:
    @pytest.mark.parametrize(("anchor", "chain", "failure", "says"), [
        ("root_no_ku", ["leaf_of_plain_root"], "untrusted_chain",
         ["trust anchor", "CN=Plain Root CA", "no keyUsage", "keyCertSign",
          "RFC 5280 4.2.1.3"]),
        ("root", ["leaf_ca_no_key_usage", "ca_no_key_usage"], "untrusted_chain",
         ["issuing CA", "CN=Issuing ca_no_key_usage", "no keyUsage", "keyCertSign"]),
        ("root", ["leaf_ca_no_cert_sign", "ca_no_cert_sign"], "untrusted_chain",
         ["CN=Issuing ca_no_cert_sign", "without keyCertSign", "RFC 5280 4.2.1.3"]),
        ("root", ["leaf_ca_no_basic_constraints", "ca_no_basic_constraints"], "untrusted_chain",
         ["CN=Issuing ca_no_basic_constraints", "no basicConstraints", "RFC 5280 4.2.1.9"]),
        ("root", ["leaf_ca_server_eku", "ca_server_eku"], "untrusted_chain",
         ["CN=Issuing ca_server_eku", "extendedKeyUsage without clientAuth"]),
        ("root", ["leaf_ca_v1", "ca_v1"], "untrusted_chain",
         ["CN=Issuing v1", "version 1", "RFC 5280 4.2.1.9"]),
        ("root", ["leaf_v1"], "untrusted_chain",
         ["client certificate", "CN=svc", "version 1", "-extfile"]),
        ("root", ["leaf_below_pathlen0", "below_pathlen0", "pathlen0"], "untrusted_chain",
         ["CN=Upper", "pathLenConstraint 0", "RFC 5280 4.2.1.9"]),
        ("root", ["leaf_ca"], "untrusted_chain",
         ["client certificate", "issued by 'CN=Issuing ca,O=Example Corp'", "intermediates="]),
        ("root", ["leaf_of_rogue"], "untrusted_chain",
         ["'CN=Root CA,O=Example Corp'", "signature does not verify"]),
        ("root", ["self_signed"], "untrusted_chain",
         ["self-signed 'CN=svc,O=Example Corp'", "not a configured trust anchor",
          "self_signed_tls_client_auth"]),
    ])
    def test_detail(self, made: dict[str, Made], anchor: str, chain: list[str], failure: str,
                    says: list[str]) -> None:
        """The refusal keeps its failure code, and detail names the certificate and rule."""
        result = check(made, anchor, *chain)
        assert not result.ok
        assert result.failure == failure
        for text in says:
            assert text in result.detail, result.detail

    def test_expired_issuing_ca_is_named(self, made: dict[str, Made]) -> None:
        """An issuing CA that expired before the leaf: certificate_expired, naming the CA."""
        result = check(made, "root", "leaf_short_ca", "short_ca", days=2)
        assert result.failure == "certificate_expired"
        assert "CN=Issuing short" in result.detail and "expired at" in result.detail

    def test_pooled_intermediate_is_diagnosed(self, made: dict[str, Made]) -> None:
        """A bad issuing CA from the configured intermediates pool is named as well."""
        verifier = PKIVerifier([made["root"].cert], intermediates=[made["ca_no_key_usage"].pem],
                               now=clock())
        result = verifier.verify_chain([made["leaf_ca_no_key_usage"].cert])
        assert "CN=Issuing ca_no_key_usage" in result.detail and "keyCertSign" in result.detail


class TestBudget:
    def test_signature_checks_are_bounded(self, made: dict[str, Made],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
        """Explaining a refusal of a hostile chain (ten certificates all named like the
        anchor, none signed by it) spends at most MAX_EXPLAIN_SIGNATURES signature checks."""
        calls: list[int] = []
        real = pki_module._signed_by

        def counting(child: object, issuer: object) -> bool:
            calls.append(1)
            return real(child, issuer)  # type: ignore[arg-type]

        monkeypatch.setattr(pki_module, "_signed_by", counting)
        rogue = made["rogue_root"].cert
        result = PKIVerifier([made["root"].cert], now=clock()).verify_chain(
            [made["leaf_of_rogue"].cert, *[rogue] * 9])
        assert not result.ok
        assert 0 < len(calls) <= pki_module.MAX_EXPLAIN_SIGNATURES


class TestWhereTheReasonShows:
    def test_check_command_prints_it(self, made: dict[str, Made], tmp_path: Path) -> None:
        """`clientauth check --cert` prints the named rule on its why: line."""
        registry = tmp_path / "clients.json"
        registry.write_text(json.dumps([{
            "client_id": "svc", "token_endpoint_auth_method": "tls_client_auth",
            "tls_client_auth_subject_dn": "CN=svc,O=Example Corp"}]))
        out = io.StringIO()
        code = main(["check", "--clients", str(registry), "--client-id", "svc",
                     "--cert", str(made["leaf_of_plain_root"].cert_path),
                     "--trust-anchor", str(made["root_no_ku"].cert_path)], stdout=out)
        assert code == 1
        why = [line for line in out.getvalue().splitlines() if line.startswith("why:")]
        assert why and "keyCertSign" in why[0] and "CN=Plain Root CA" in why[0], out.getvalue()

    def test_audit_event_carries_it(self, made: dict[str, Made],
                                    caplog: pytest.LogCaptureFixture) -> None:
        """The audit log line and the event's detail field name the certificate and rule."""
        registry = clientauth.load_clients([{
            "client_id": "svc", "token_endpoint_auth_method": "tls_client_auth",
            "tls_client_auth_subject_dn": "CN=svc,O=Example Corp"}])
        auth = clientauth.Authenticator(registry, trust_anchors=[made["root_no_ku"].pem],
                                        now=clock())
        with caplog.at_level(logging.WARNING, logger="clientauth.audit"):
            result = auth.authenticate(clientauth.ClientRequest(
                form={"client_id": "svc"}, tls_chain=[made["leaf_of_plain_root"].pem]))
        assert result.failure is clientauth.Failure.UNTRUSTED_CHAIN
        (record,) = caplog.records
        assert "keyCertSign" in record.getMessage()
        assert "CN=Plain Root CA" in record.clientauth_detail  # type: ignore[attr-defined]
