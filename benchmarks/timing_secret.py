"""Can a caller tell an unknown client id from a wrong secret by timing? Measure it.

    python benchmarks/timing_secret.py                 # 200,000 samples, at most 120 s
    python benchmarks/timing_secret.py --samples 50000 --max-seconds 30

Three kinds of failing requests go through ``Authenticator.authenticate`` (Basic header, the
full path an attacker reaches):

    (a) unknown client id,                    secret of the real secret's length
    (b) registered id, wrong secret,          same length as the real secret
    (c) registered id, wrong secret,          different length (half, or 3x)

Method, and why:

* **Interleaved, randomly.** Each sample picks its kind at random, so machine noise (other
  processes, CPU frequency changes, thermal throttling, GC, cache pollution) falls on all
  three kinds equally. Measuring kind (a) for ten seconds and then kind (b) would turn any
  drift of the machine into a fake difference between them.
* **Per-call samples, medians compared.** One ``perf_counter_ns`` pair around each call;
  latencies are right-skewed (an interrupt or a context switch adds tens of microseconds to
  a 10 us call), so the mean follows the outliers while the median follows the typical
  call. The ratio of medians must stay within 0.9 - 1.1 (b/a, c/a, c/b): a real timing
  oracle (an early exit on unknown ids, a length-dependent compare) shows up as a ratio of
  2 or more, since the hash is the bulk of the work. A 5 %-trimmed mean and a percentile
  table are printed as well: the median says "typical", the tails say "is one kind
  occasionally slower" (e.g. a lock, an allocation).
* **GC off during sampling** (as ``timeit`` does), the requests built in advance, several
  distinct wrong secrets per kind (no accidental caching of one value).
* **Machine noise.** On a shared 2-core VM the median moves by a few percent between runs;
  the 10 % band is set above that. Run twice if a ratio is near the edge; a genuine leak does
  not go away on a rerun. This measures one process on one machine: network jitter makes a
  remote attack far harder than this local measurement, so equal medians here are a
  conservative result.

Exit status 1 if a ratio leaves the band.
"""

from __future__ import annotations

import argparse
import base64
import gc
import random
import statistics
import sys
import time

import clientauth

BAND = (0.9, 1.1)
PERCENTILES = (1, 5, 25, 50, 75, 95, 99)


def _basic(client_id: str, secret: str) -> clientauth.ClientRequest:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return clientauth.ClientRequest([("authorization", f"Basic {token}")])


def build(variants: int = 16) -> tuple[clientauth.Authenticator, dict[str, list[object]]]:
    secret = clientauth.generate_secret()
    registry = clientauth.load_clients(
        [{"client_id": "timing-client", "client_secret_hash": clientauth.hash_secret(secret)}]
    )
    auth = clientauth.Authenticator(registry)
    n = len(secret)

    def wrong(length: int) -> str:
        return (clientauth.generate_secret() * 4)[:length]

    requests: dict[str, list[object]] = {
        "a": [_basic(f"unknown-{i:04d}", wrong(n)) for i in range(variants)],
        "b": [_basic("timing-client", wrong(n)) for _ in range(variants)],
        "c": [_basic("timing-client", wrong(n // 2 if i % 2 else 3 * n)) for i in range(variants)],
    }
    # Sanity: every request fails, with the failure its kind is about.
    expected = {"a": "unknown_client", "b": "bad_secret", "c": "bad_secret"}
    for kind, reqs in requests.items():
        for req in reqs:
            result = auth.authenticate(req)  # type: ignore[arg-type]
            if result.ok or result.failure != expected[kind]:
                raise SystemExit(f"setup error: {kind} gave {result!r}")
    return auth, requests


def measure(samples: int, max_seconds: float, seed: int | None = None) -> dict[str, list[int]]:
    auth, requests = build()
    rng = random.Random(seed)
    kinds = ("a", "b", "c")
    times: dict[str, list[int]] = {k: [] for k in kinds}
    authenticate = auth.authenticate
    clock = time.perf_counter_ns
    for _ in range(2000):  # warm up
        authenticate(rng.choice(requests[rng.choice(kinds)]))  # type: ignore[arg-type]
    deadline = time.monotonic() + max_seconds
    gc.collect()
    gc.disable()
    try:
        for i in range(samples):
            kind = kinds[rng.randrange(3)]
            request = requests[kind][rng.randrange(16)]
            start = clock()
            authenticate(request)  # type: ignore[arg-type]
            times[kind].append(clock() - start)
            if i % 4096 == 0 and time.monotonic() > deadline:
                break
    finally:
        gc.enable()
    return times


def trimmed_mean(values: list[int], cut: float = 0.05) -> float:
    ordered = sorted(values)
    k = int(len(ordered) * cut)
    return statistics.fmean(ordered[k : len(ordered) - k])


def percentile(ordered: list[int], p: float) -> float:
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(times: dict[str, list[int]]) -> bool:
    labels = {"a": "(a) unknown id", "b": "(b) wrong secret, same len",
              "c": "(c) wrong secret, other len"}
    medians = {k: statistics.median(v) for k, v in times.items()}
    print(f"samples: {sum(map(len, times.values()))} "
          f"({', '.join(f'{k}={len(v)}' for k, v in times.items())})")
    header = "kind".ljust(30) + "".join(f"{'p' + str(p):>9}" for p in PERCENTILES)
    print(header + f"{'trim.mean':>11}")
    for kind, values in times.items():
        ordered = sorted(values)
        row = "".join(f"{percentile(ordered, p) / 1000:9.2f}" for p in PERCENTILES)
        print(labels[kind].ljust(30) + row + f"{trimmed_mean(values) / 1000:11.2f}")
    print("(microseconds per authenticate call)")
    ok = True
    for num, den in (("b", "a"), ("c", "a"), ("c", "b")):
        ratio = medians[num] / medians[den]
        trimmed = trimmed_mean(times[num]) / trimmed_mean(times[den])
        inside = BAND[0] <= ratio <= BAND[1]
        ok &= inside
        print(f"median {num}/{den} = {ratio:.3f}   trimmed-mean {num}/{den} = {trimmed:.3f}   "
              f"{'OK' if inside else 'OUT OF BAND'} ({BAND[0]}-{BAND[1]})")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    start = time.monotonic()
    times = measure(args.samples, args.max_seconds, args.seed)
    print(f"clientauth {clientauth.__version__}, python {sys.version.split()[0]}, "
          f"{time.monotonic() - start:.1f} s")
    return 0 if report(times) else 1


if __name__ == "__main__":
    sys.exit(main())
