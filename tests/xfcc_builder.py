"""An XFCC writer that builds ``x-forwarded-client-cert`` exactly as Envoy does.

Facts from Envoy's ``ConnectionManagerUtility::mutateXfccRequestHeader``
(``source/common/http/conn_manager_utility.cc``) and its TLS connection info:

* pairs are joined with ``;``; with ``APPEND_FORWARD`` the new element is appended to what
  arrived with ``,``; ``SANITIZE_SET`` replaces the header with the one element;
* ``By=<uri>`` once per URI SAN of the proxy's *own* certificate, unquoted;
* ``Hash=<hex>``: SHA-256 of the peer certificate's DER, lowercase hex, unquoted;
* then the configured details in the fixed order cert, chain, subject, uri, dns:
  ``Cert="..."`` / ``Chain="..."``: the PEM (``PEM_write_bio_X509``) with ``\\n``, space,
  ``+``, ``/`` and ``=`` replaced by ``%0A %20 %2B %2F %3D`` (nothing else), quoted;
  ``Subject="..."``: ``X509_NAME_print_ex(..., XN_FLAG_RFC2253)``, quoted, no further escaping;
  ``URI=<uri>`` once per URI SAN, verbatim and **unquoted** (``URI=`` when there is none);
  ``DNS=<name>`` once per DNS SAN, verbatim and unquoted (nothing when there is none).

The subject is rendered by the ``openssl`` command (``-nameopt RFC2253`` is the same flag set
Envoy passes to BoringSSL); without it, by cryptography's RFC 4514 writer, which agrees for the
ASCII names most tests use.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization

DETAILS = ("cert", "chain", "subject", "uri", "dns")
"""Every detail Envoy can set, in the order it writes them."""

_OPENSSL = shutil.which("openssl")
_ESCAPES = (("\n", "%0A"), (" ", "%20"), ("+", "%2B"), ("/", "%2F"), ("=", "%3D"))


def url_encoded_pem(*certs: x509.Certificate) -> str:
    """urlEncodedPemEncodedPeerCertificate(Chain): StrReplaceAll of five characters."""
    pem = "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in certs)
    for char, escape in _ESCAPES:
        pem = pem.replace(char, escape)
    return pem


def rfc2253_subject(cert: x509.Certificate) -> str:
    """The subject as OpenSSL's XN_FLAG_RFC2253 prints it."""
    if _OPENSSL is None:
        return cert.subject.rfc4514_string()
    out = subprocess.run(
        [_OPENSSL, "x509", "-noout", "-subject", "-nameopt", "RFC2253"],
        input=cert.public_bytes(serialization.Encoding.PEM),
        capture_output=True,
        check=True,
    ).stdout.decode("ascii")
    return out.removeprefix("subject=").rstrip("\n")


def _sans(cert: x509.Certificate, kind: type[x509.GeneralName]) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(g.value) for g in san if isinstance(g, kind)]


def element(
    cert: x509.Certificate,
    *,
    by: Sequence[str] = ("spiffe://mesh/edge",),
    details: Sequence[str] = DETAILS,
    chain: Sequence[x509.Certificate] = (),
) -> str:
    """One XFCC element for a peer that presented ``cert`` (and ``chain`` after it)."""
    pairs = [f"By={uri}" for uri in by]
    pairs.append(f"Hash={hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()}")
    for detail in DETAILS:
        if detail not in details:
            continue
        if detail == "cert":
            pairs.append(f'Cert="{url_encoded_pem(cert)}"')
        elif detail == "chain":
            pairs.append(f'Chain="{url_encoded_pem(cert, *chain)}"')
        elif detail == "subject":
            pairs.append(f'Subject="{rfc2253_subject(cert)}"')
        elif detail == "uri":
            pairs.extend(f"URI={u}" for u in _sans(cert, x509.UniformResourceIdentifier) or [""])
        else:
            pairs.extend(f"DNS={d}" for d in _sans(cert, x509.DNSName))
    return ";".join(pairs)


def append_forward(arrived: str | None, new_element: str) -> str:
    """APPEND_FORWARD: the new element after what arrived, joined with ','."""
    return new_element if not arrived else f"{arrived},{new_element}"
