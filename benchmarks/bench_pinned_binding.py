"""Benchmark: pinned verification and certificate-bound JWT decoding.

    python3 benchmarks/bench_pinned_binding.py [--repeats N]

Goals: ``PinnedVerifier.verify`` <= 8 us per call (median); ``decode_bound_token`` <= 1.05x
``jwt.decode`` alone on the same ES256 token. Each figure is the median over ``repeats`` batches
of the per-call thread CPU time; the variants are interleaved batch by batch so that drift on a
shared machine hits all alike, and the ratio is also given as the median of per-round ratios.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from clientauth import Client, certificate_thumbprint
from clientauth.binding import bind_claims, decode_bound_token
from clientauth.pinned import PinnedVerifier

NOW = datetime.now(UTC)


def self_signed(cn: str) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


def per_call_us(fn: Callable[[], object], number: int) -> float:
    # CPU time of this thread, not wall-clock: on a shared machine the wall clock also counts
    # the time other processes hold the CPU, which is noise here.
    start = time.thread_time_ns()
    for _ in range(number):
        fn()
    return (time.thread_time_ns() - start) / number / 1000


def measure(
    fns: dict[str, Callable[[], object]], *, number: int, repeats: int
) -> dict[str, list[float]]:
    """Per-call microseconds of each function, one sample per batch, batches interleaved
    (round-robin, so the i-th samples of all functions were taken at nearly the same time)."""
    for fn in fns.values():  # warm-up
        per_call_us(fn, max(1, number // 10))
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            samples[name].append(per_call_us(fn, number))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=61)
    args = parser.parse_args()

    # -- pinned verify ------------------------------------------------------------------
    current, previous = self_signed("client-new"), self_signed("client-old")
    client = Client.from_metadata(
        {
            "client_id": "bench",
            "token_endpoint_auth_method": "self_signed_tls_client_auth",
            "tls_client_certificates": [
                c.public_bytes(Encoding.PEM).decode() for c in (current, previous)
            ],
        }
    )
    verifier = PinnedVerifier(now=lambda: NOW)
    chain = [current]
    thumb = certificate_thumbprint(current)
    assert verifier.verify(chain, client).ok
    pinned = measure(
        {
            "verify(chain, client)": lambda: verifier.verify(chain, client),
            "verify(..., leaf_thumbprint=)": lambda: verifier.verify(
                chain, client, leaf_thumbprint=thumb
            ),
            "certificate_thumbprint(cert) alone": lambda: certificate_thumbprint(current),
            "cert.public_bytes(DER) alone": lambda: current.public_bytes(Encoding.DER),
        },
        number=20_000,
        repeats=args.repeats,
    )
    print(f"pinned verification (2 pins, validity check on), median of {args.repeats} batches")
    for name, values in pinned.items():
        print(f"  {name:<38} {statistics.median(values):8.2f} us")
    print("  goal: verify <= 8 us")

    # -- bound JWT decode ---------------------------------------------------------------
    signing = ec.generate_private_key(ec.SECP256R1())
    public = signing.public_key()
    claims = bind_claims(
        {"sub": "bench", "aud": "api", "iat": int(NOW.timestamp()), "exp": 2**40}, current
    )
    token = jwt.encode(claims, signing, algorithm="ES256")
    der = current.public_bytes(Encoding.DER)
    alg = ["ES256"]
    assert decode_bound_token(token, public, algorithms=alg, certificate=current, audience="api")
    decode = measure(
        {
            "jwt.decode": lambda: jwt.decode(token, public, algorithms=alg, audience="api"),
            "decode_bound_token(certificate=thumbprint)": lambda: decode_bound_token(
                token, public, algorithms=alg, certificate=thumb, audience="api"
            ),
            "decode_bound_token(certificate=DER)": lambda: decode_bound_token(
                token, public, algorithms=alg, certificate=der, audience="api"
            ),
            "decode_bound_token(certificate=x509)": lambda: decode_bound_token(
                token, public, algorithms=alg, certificate=current, audience="api"
            ),
        },
        number=500,
        repeats=args.repeats,
    )
    base = decode["jwt.decode"]
    print(f"\nES256 bound-token decode, median of {args.repeats} batches")
    print(
        f"  {'':<44} {'median':>8}      {'ratio of medians':>16}  {'median of paired ratios':>23}"
    )
    for name, values in decode.items():
        median = statistics.median(values)
        paired = statistics.median(v / b for v, b in zip(values, base, strict=True))
        print(
            f"  {name:<44} {median:8.2f} us   {median / statistics.median(base):16.3f}x"
            f"  {paired:22.3f}x"
        )
    print("  goal: decode_bound_token <= 1.05x jwt.decode")


if __name__ == "__main__":
    main()
