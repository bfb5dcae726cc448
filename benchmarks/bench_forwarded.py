"""Forwarded-certificate decoding cost per format, against loading the same certificate.

For each format the header value is built as the proxy writes it (see
tests/test_forwarded_parsers.py) and decoded with ``parse_forwarded``. Two baselines:

* ``bare``: cryptography's loader on the already-decoded certificate --
  ``load_der_x509_certificate(der)`` for DER formats, ``load_pem_x509_certificate(pem)``
  for PEM formats. This is the floor no header decoder can reach for DER formats, since
  the base64 step alone costs about as much as the (lazy) DER load.
* ``naive``: the shortest stdlib + cryptography code that gets the certificate out of that
  header without any validation (``b64decode`` + DER load, ``unquote`` + PEM load, ...).

Run: ``python benchmarks/bench_forwarded.py [--rounds N]``. Figures are medians of rounds of
``--number`` calls each, in microseconds per call.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import statistics
import sys
import timeit
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from cryptography import x509

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from certs import Pki
from clientauth.forwarded import parse_forwarded


def _b64(der: bytes) -> str:
    return base64.b64encode(der).decode("ascii")


def _envoy(pem: str) -> str:
    for char, escape in (("\n", "%0A"), (" ", "%20"), ("+", "%2B"), ("/", "%2F"), ("=", "%3D")):
        pem = pem.replace(char, escape)
    return pem


def cases(key: str) -> list[tuple[str, str, Callable[[], object], Callable[[], object]]]:
    """(format, baseline kind, ours, naive) for one leaf certificate."""
    leaf = Pki.create(key=key).leaf("bench-client", san_dns=["client.example"])
    der, pem = leaf.der, leaf.pem
    pem_b = pem.encode("ascii")
    load_der, load_pem = x509.load_der_x509_certificate, x509.load_pem_x509_certificate
    rfc = f":{_b64(der)}:"
    nginx = urllib.parse.quote(pem, safe="")
    apache = pem.replace("\n", " ")
    xfcc = (
        f"By=spiffe://mesh/gw;Hash={hashlib.sha256(der).hexdigest()};"
        f'Cert="{_envoy(pem)}";Subject="CN=bench-client";URI=;DNS=client.example'
    )
    alb = urllib.parse.quote(pem, safe="+=/")
    b64 = _b64(der)

    def apache_naive() -> object:
        body = apache.split("-----")[2].strip()
        return load_pem(
            (
                "-----BEGIN CERTIFICATE-----\n"
                + body.replace(" ", "\n")
                + "\n-----END CERTIFICATE-----\n"
            ).encode()
        )

    def envoy_naive() -> object:
        start = xfcc.index('Cert="') + 6
        return load_pem(urllib.parse.unquote(xfcc[start : xfcc.index('"', start)]).encode())

    return [
        (
            "rfc9440",
            "der",
            lambda: parse_forwarded("rfc9440", rfc),
            lambda: load_der(base64.b64decode(rfc[1:-1])),
        ),
        (
            "nginx",
            "pem",
            lambda: parse_forwarded("nginx", nginx),
            lambda: load_pem(urllib.parse.unquote(nginx).encode()),
        ),
        (
            "haproxy",
            "der",
            lambda: parse_forwarded("haproxy", b64),
            lambda: load_der(base64.b64decode(b64)),
        ),
        ("apache", "pem", lambda: parse_forwarded("apache", apache), apache_naive),
        ("envoy", "pem", lambda: parse_forwarded("envoy", xfcc), envoy_naive),
        (
            "traefik",
            "der",
            lambda: parse_forwarded("traefik", b64),
            lambda: [load_der(base64.b64decode(p)) for p in b64.split(",")],
        ),
        (
            "aws-alb",
            "pem",
            lambda: parse_forwarded("aws-alb", alb),
            lambda: load_pem(urllib.parse.unquote(alb).encode()),
        ),
        (
            "caddy",
            "der",
            lambda: parse_forwarded("caddy", b64),
            lambda: load_der(base64.b64decode(b64)),
        ),
        (
            "azure",
            "der",
            lambda: parse_forwarded("azure", b64),
            lambda: load_der(base64.b64decode(b64)),
        ),
    ], {"der": lambda: load_der(der), "pem": lambda: load_pem(pem_b)}


def median_us(func: Callable[[], object], number: int, rounds: int) -> float:
    times = timeit.repeat(func, number=number, repeat=rounds)
    return statistics.median(times) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args()
    for key in ("ec", "rsa"):
        rows, bare = cases(key)
        bare_us = {kind: median_us(f, args.number, args.rounds) for kind, f in bare.items()}
        print(
            f"\n{key.upper()} leaf  (bare DER load {bare_us['der']:.2f} us, "
            f"bare PEM load {bare_us['pem']:.2f} us)"
        )
        print(f"{'format':<9} {'ours us':>8} {'naive us':>9} {'vs naive':>9} {'vs bare':>8}")
        for fmt, kind, ours, naive in rows:
            ours_us = median_us(ours, args.number, args.rounds)
            naive_us = median_us(naive, args.number, args.rounds)
            print(
                f"{fmt:<9} {ours_us:8.2f} {naive_us:9.2f} {ours_us / naive_us:8.2f}x "
                f"{ours_us / bare_us[kind]:7.2f}x  ({kind})"
            )


if __name__ == "__main__":
    main()
