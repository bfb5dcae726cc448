"""What every harness in fuzz/ shares: the crash rule, the fixtures, and the two drivers.

The rule: a target function takes ``bytes``; a :class:`clientauth.ClientAuthError` is an
expected refusal and is swallowed; any other exception -- or a broken invariant, raised as
:class:`ContractViolation` -- is a crash.

Drivers (see fuzz/README.md):

* atheris (coverage-guided libFuzzer): ``python fuzz/fuzz_X.py -max_total_time=60``; the
  harness's seed inputs are written to a temporary corpus directory unless you pass your own.
* hypothesis (fallback when atheris cannot be installed): ``python fuzz/fuzz_X.py
  --hypothesis -max_total_time=60`` drives the same target with random bytes and mutations of
  the seeds (not coverage-guided: a smoke run, not a substitute).
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The certificate factory of the test suite (tests/certs.py): one source of test PKI.
sys.path.insert(0, str(ROOT / "tests"))



def _atheris_run() -> bool:
    """Whether this process is a harness script about to run under atheris."""
    return Path(sys.argv[0]).name.startswith("fuzz_") and "--hypothesis" not in sys.argv


if _atheris_run():
    import atheris

    # Coverage instrumentation of clientauth only (instrument_all() would take ~100 s to
    # patch every loaded function). Harnesses import this module before clientauth.
    with atheris.instrument_imports(include=["clientauth"]):
        import clientauth  # noqa: F401

from certs import NOW, Pki, clock, self_signed  # noqa: E402
from clientauth import ClientAuthError  # noqa: E402

__all__ = [
    "KNOWN_BUGS",
    "NOW",
    "PKI",
    "ContractViolation",
    "Target",
    "clock",
    "guarded",
    "main",
    "self_signed",
]

Target = Callable[[bytes], None]


class ContractViolation(AssertionError):
    """A target broke an invariant (e.g. accepted garbage). Always a crash."""


PKI = Pki.create("Fuzz Corp")
"""Root + intermediate shared by the harnesses (P-256; generated once per process)."""


# Crashes already reported to the lead, not yet fixed in src/ (see fuzz/README.md). Set
# CLIENTAUTH_FUZZ_IGNORE_KNOWN=1 to treat them as refusals so a campaign can look past them;
# by default they crash, so a fix is confirmed by the same command.
KNOWN_BUGS: tuple[type[BaseException], ...] = ()
# (Found and fixed: x509.InvalidVersion escaping load_certificate / load_der, DuplicateExtension
# escaping names._sans, TypeError from a BIT STRING subject escaping names._subject.)
KNOWN_MESSAGES: tuple[str, ...] = ()


_IGNORE_KNOWN = os.environ.get("CLIENTAUTH_FUZZ_IGNORE_KNOWN", "") not in ("", "0")
_IGNORED: tuple[type[BaseException], ...] = (
    (ClientAuthError, *KNOWN_BUGS) if _IGNORE_KNOWN else (ClientAuthError,)
)


def _known_message(exc: BaseException) -> bool:
    return _IGNORE_KNOWN and isinstance(exc, TypeError) and any(
        m in str(exc) for m in KNOWN_MESSAGES
    )


def guarded(fn: Callable[[], object]) -> object:
    """Run ``fn``; an expected refusal (ClientAuthError) returns ``None``, anything else
    propagates."""
    try:
        return fn()
    except _IGNORED:
        return None
    except TypeError as exc:
        if _known_message(exc):
            return None
        raise


# -- drivers -------------------------------------------------------------------------------


def run_one(target: Target, data: bytes) -> None:
    """One execution: refusals (and, when asked, known bugs) pass; anything else raises."""
    guarded(lambda: target(data))


def _option(argv: Sequence[str], name: str, default: int) -> int:
    for arg in argv:
        if arg.startswith(f"-{name}="):
            return int(arg.split("=", 1)[1])
    return default


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(6)
        pos = rng.randint(0, len(buf))
        if op == 0 and buf:  # flip a bit
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1:  # insert random bytes
            buf[pos:pos] = rng.randbytes(rng.randint(1, 8))
        elif op == 2 and buf:  # delete a slice
            del buf[pos : pos + rng.randint(1, 16)]
        elif op == 3:  # truncate
            del buf[pos:]
        elif op == 4 and buf:  # set an interesting byte
            i = rng.randrange(len(buf))
            buf[i] = rng.choice(b"\x00\xff\x7f\x80%:;,=\"\\ \t\r\n")
        elif op == 5 and len(buf) > 1:  # duplicate a slice
            start = rng.randrange(len(buf))
            buf[pos:pos] = buf[start : start + rng.randint(1, 64)]
    return bytes(buf)


def run_hypothesis(target: Target, seeds: Sequence[bytes], *, max_time: int, runs: int) -> int:
    """Drive ``target`` from hypothesis for at most ``max_time`` seconds / ``runs`` inputs,
    in rounds of 500 examples. Returns the number of executions. Exceptions other than
    ClientAuthError propagate (hypothesis shrinks them first)."""
    # Imported here: an atheris run must not pay for (or instrument) hypothesis.
    from hypothesis import HealthCheck, given, settings  # noqa: PLC0415
    from hypothesis import strategies as st  # noqa: PLC0415

    deadline = time.monotonic() + max_time
    count = 0
    seed_list = list(seeds) or [b""]
    inputs = st.one_of(
        st.binary(max_size=4096),
        st.tuples(st.sampled_from(seed_list), st.randoms(use_true_random=False)).map(
            lambda pair: _mutate(pair[1], pair[0])
        ),
        st.sampled_from(seed_list),
    )

    @settings(
        max_examples=500,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(inputs)
    def drive(data: bytes) -> None:
        nonlocal count
        count += 1
        run_one(target, data)

    while time.monotonic() < deadline and count < runs:
        drive()
    return count


def main(target: Target, seeds: Sequence[bytes], name: str) -> None:
    """Entry point of a harness script (see the module docstring)."""
    argv = list(sys.argv)
    if "--hypothesis" in argv:
        argv.remove("--hypothesis")
        max_time = _option(argv, "max_total_time", 60)
        runs = _option(argv, "runs", 1_000_000)
        start = time.monotonic()
        count = run_hypothesis(target, seeds, max_time=max_time, runs=runs)
        print(f"{name}: hypothesis driver, {count} executions in "
              f"{time.monotonic() - start:.1f} s, no crash")
        return

    import atheris  # noqa: PLC0415 - optional: the --hypothesis driver works without it

    def one_input(data: bytes) -> None:
        run_one(target, data)

    if not any(not a.startswith("-") for a in argv[1:]):
        corpus = tempfile.mkdtemp(prefix=f"clientauth-{name}-")
        for i, seed in enumerate(seeds):
            Path(corpus, f"seed-{i:03d}").write_bytes(seed)
        argv.append(corpus)
        print(f"{name}: seed corpus in {corpus}", file=sys.stderr)
    atheris.Setup(argv, one_input)
    atheris.Fuzz()
