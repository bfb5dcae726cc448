"""Fuzz every forwarded-certificate format (``parse_forwarded``) and the trusted-proxy policy.

Input layout: byte 0 picks the format (index into the sorted ``FORMATS``), byte 1 holds
flags (bit 0: pass a ``chain=`` for formats that carry one; bit 1: pass ``str`` instead of
``bytes``; bit 2: also run ``ForwardedCertificates.extract`` on a request carrying the
header), byte 2 is where the value ends and the chain begins (as a fraction of the rest).
Invariants: only ClientAuthError escapes; the result is a list of ``x509.Certificate`` of
at most MAX_CHAIN_CERTS.

    python fuzz/fuzz_forwarded.py -max_total_time=60
    python fuzz/fuzz_forwarded.py --hypothesis -max_total_time=60
"""

from __future__ import annotations

import base64
import hashlib
import sys
import urllib.parse

from _fuzzlib import PKI, ContractViolation, guarded, main
from cryptography import x509

from clientauth import ClientRequest, ForwardedCertificates, parse_forwarded
from clientauth.forwarded import CHAIN_FORMATS, DEFAULT_CHAIN_HEADERS, FORMATS, MAX_CHAIN_CERTS

FORMAT_LIST = sorted(FORMATS)
_POLICIES = {
    fmt: ForwardedCertificates(fmt, trusted_proxies=["10.0.0.0/8"]) for fmt in FORMAT_LIST
}


def encode_input(fmt: str, value: bytes, chain: bytes | None = None, *, text: bool = False,
                 policy: bool = True) -> bytes:
    """Build a harness input (for seeds and tests)."""
    flags = (1 if chain is not None else 0) | (2 if text else 0) | (4 if policy else 0)
    body = value + (chain or b"")
    split = 255 if chain is None or not body else min(255, len(value) * 255 // len(body))
    return bytes([FORMAT_LIST.index(fmt), flags, split]) + body


def decode_input(data: bytes) -> tuple[str, bytes, bytes | None, bool, bool]:
    if len(data) < 3:
        data = data + b"\x00" * (3 - len(data))
    fmt = FORMAT_LIST[data[0] % len(FORMAT_LIST)]
    flags, split, body = data[1], data[2], data[3:]
    cut = len(body) * split // 255
    chain = body[cut:] if flags & 1 and fmt in CHAIN_FORMATS else None
    value = body[:cut] if chain is not None else body
    return fmt, value, chain, bool(flags & 2), bool(flags & 4)


def _check(certs: object) -> None:
    if not isinstance(certs, list) or not all(isinstance(c, x509.Certificate) for c in certs):
        raise ContractViolation("parse_forwarded returned something else than a list of certs")
    if len(certs) > MAX_CHAIN_CERTS:
        raise ContractViolation(f"parse_forwarded returned {len(certs)} certificates")


def target(data: bytes) -> None:
    fmt, value, chain, as_text, policy = decode_input(data)
    v: str | bytes = value.decode("latin-1") if as_text else value
    c: str | bytes | None = None
    if chain is not None:
        c = chain.decode("latin-1") if as_text else chain
    certs = guarded(lambda: parse_forwarded(fmt, v, chain=c))
    if certs is not None:
        _check(certs)
    if policy:
        fwd = _POLICIES[fmt]
        headers = [(fwd.header, value)]
        chain_header = DEFAULT_CHAIN_HEADERS.get(fmt)
        if chain is not None and chain_header:
            name = chain_header + ("0" if fmt == "apache" else "")
            headers.append((name, chain))
        outcome = fwd.extract(ClientRequest(headers, peer="10.1.2.3"))
        if outcome.chain and (outcome.failure is not None or len(outcome.chain) > MAX_CHAIN_CERTS):
            raise ContractViolation("ForwardedOutcome with both a chain and a failure")


def _b64(der: bytes) -> bytes:
    return base64.b64encode(der)


def _seeds() -> list[bytes]:
    leaf = PKI.leaf("fuzz-client", san_dns=["client.example"])
    inter, root = PKI.intermediate, PKI.root
    pem = leaf.pem
    chain_pem = leaf.pem + inter.pem
    esc = urllib.parse.quote(pem, safe="").encode()
    xfcc = (
        f'By=spiffe://a;Hash={hashlib.sha256(leaf.der).hexdigest()};'
        f'Cert="{urllib.parse.quote(pem, safe="-")}";Subject="CN=fuzz-client";'
        "URI=;DNS=client.example"
    ).encode()
    return [
        encode_input("rfc9440", b":" + _b64(leaf.der) + b":",
                     b":" + _b64(inter.der) + b":, :" + _b64(root.der) + b":"),
        encode_input("rfc9440", b":" + _b64(leaf.der) + b":;a=1", text=True),
        encode_input("nginx", esc),
        encode_input("nginx", pem.replace("\n", "\n\t").encode()),
        encode_input("haproxy", _b64(leaf.der), _b64(inter.der + root.der)),
        encode_input("haproxy", b""),
        encode_input("apache", pem.replace("\n", " ").encode(),
                     inter.pem.replace("\n", " ").encode()),
        encode_input("apache", b"(null)"),
        encode_input("envoy", xfcc),
        encode_input("envoy", xfcc + b',By=b;Cert="x"'),
        encode_input("traefik", b",".join(_b64(c.der) for c in (leaf, inter))),
        encode_input("aws-alb", urllib.parse.quote(chain_pem, safe="+=/").encode()),
        encode_input("caddy", _b64(leaf.der)),
        encode_input("azure", _b64(leaf.der)),
    ]


SEEDS = _seeds()

if __name__ == "__main__":
    main(target, SEEDS, "fuzz_forwarded")
    sys.exit(0)
