"""Benchmark: one 3-certificate P-256 chain (root, intermediate, leaf), verified by

* raw    -- cryptography's ClientVerifier, built once (the floor: two ECDSA verifies);
* cold   -- PKIVerifier.verify with the cache disabled (full validation every call);
* warm   -- PKIVerifier.verify answered by the verified-chain cache (same objects);
* warm-fresh -- warm, but the chain re-parsed from DER before every call (what a request
  that carries its certificate in a header costs, parsing excluded from the figure);
* pyhanko -- pyhanko-certvalidator's CertificateValidator on the same chain.

Run: ``python3 benchmarks/bench_pki.py`` (prints medians per call and ratios to raw).
Goals: cold <= 1.10x raw; warm <= 15 us.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from cryptography import x509
from cryptography.x509 import verification as v

import clientauth
from certs import NOW, Pki, clock
from clientauth.pki import PKIVerifier


def median_us(fn: Callable[[], object], *, number: int, repeat: int = 7) -> float:
    fn()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(runs)


def main() -> None:
    pki = Pki.create()
    leaf = pki.leaf("client-1", org="Acme", san_dns=["client-1.example"])  # raw needs a SAN
    chain = [leaf.cert, pki.intermediate.cert]
    client = clientauth.Client.from_metadata(
        {
            "client_id": "c1",
            "token_endpoint_auth_method": "tls_client_auth",
            "tls_client_auth_subject_dn": "CN=client-1,O=Acme",
        }
    )

    raw = v.PolicyBuilder().store(v.Store([pki.root.cert])).time(NOW).build_client_verifier()
    cold = PKIVerifier([pki.root.cert], now=clock(NOW), cache_size=0)
    warm = PKIVerifier([pki.root.cert], now=clock(NOW))
    assert cold.verify(chain, client).ok
    assert warm.verify(chain, client).ok
    ders = [leaf.der, pki.intermediate.der]
    fresh = [[x509.load_der_x509_certificate(d) for d in ders] for _ in range(2000)]
    it = iter(fresh * 100)

    from asn1crypto import x509 as asn1_x509
    from pyhanko_certvalidator import CertificateValidator, ValidationContext

    a_root = asn1_x509.Certificate.load(pki.root.der)
    a_inter = asn1_x509.Certificate.load(pki.intermediate.der)
    a_leaf = asn1_x509.Certificate.load(leaf.der)

    def pyhanko() -> None:
        ctx = ValidationContext(
            trust_roots=[a_root], other_certs=[a_inter], moment=NOW, revocation_mode="soft-fail"
        )
        asyncio.run(
            CertificateValidator(a_leaf, validation_context=ctx).async_validate_usage(
                {"digital_signature"}, {"client_auth"}
            )
        )

    results = {
        "raw cryptography ClientVerifier": median_us(
            lambda: raw.verify(leaf.cert, [pki.intermediate.cert]), number=300
        ),
        "PKIVerifier cold (no cache)": median_us(lambda: cold.verify(chain, client), number=300),
        "PKIVerifier warm (cache hit)": median_us(lambda: warm.verify(chain, client), number=20000),
        "PKIVerifier warm, fresh objects": median_us(
            lambda: warm.verify(next(it), client), number=2000
        ),
        "pyhanko-certvalidator": median_us(pyhanko, number=30, repeat=5),
    }
    base = results["raw cryptography ClientVerifier"]
    for label, us in results.items():
        print(f"{label:34s} {us:10.1f} us   {us / base:6.2f}x raw")


if __name__ == "__main__":
    main()
