"""The fuzz/ harnesses stay importable and correct without atheris.

Each harness module exposes ``target(data: bytes)`` and ``SEEDS``; running the target over its
seeds (and a few hostile inputs) must raise nothing: ClientAuthError is swallowed by the
harness, anything else is a crash the harness would report.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

FUZZ_DIR = Path(__file__).resolve().parent.parent / "fuzz"
HARNESSES = sorted(p.stem for p in FUZZ_DIR.glob("fuzz_*.py"))
EXTRA = [b"", b"\x00", b"\xff" * 64, b"0\x82\xff\xff", b"%" * 100, b":" * 10, bytes(range(256))]


@pytest.fixture(scope="module", autouse=True)
def _fuzz_on_path():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(FUZZ_DIR))
    yield
    sys.path.remove(str(FUZZ_DIR))


def _load(name: str):  # type: ignore[no-untyped-def]
    return importlib.import_module(name)


class TestHarnesses:
    def test_every_parser_has_a_harness(self) -> None:
        """The harness set covers the parsers the issue names."""
        assert {"fuzz_basic", "fuzz_forwarded", "fuzz_dn", "fuzz_certificate",
                "fuzz_binding"} <= set(HARNESSES)

    @pytest.mark.parametrize("name", HARNESSES)
    def test_target_runs_over_seeds(self, name: str) -> None:
        """Every seed and a few hostile inputs pass through the target without a crash."""
        module = _load(name)
        assert module.SEEDS, "a harness needs seeds"
        for data in [*module.SEEDS, *EXTRA]:
            module.target(data)

    def test_forwarded_input_layout_round_trips(self) -> None:
        """The forwarded harness decodes what its encoder built: format, value and chain."""
        module = _load("fuzz_forwarded")
        data = module.encode_input("rfc9440", b":AAAA:", b":BBBB:")
        fmt, value, chain, _, _ = module.decode_input(data)
        assert fmt == "rfc9440"
        assert value + (chain or b"") == b":AAAA::BBBB:"
        assert chain is not None and chain.endswith(b":BBBB:")

    def test_forwarded_seeds_cover_every_format(self) -> None:
        """Byte 0 of the seeds selects every supported format at least once."""
        module = _load("fuzz_forwarded")
        seen = {module.decode_input(s)[0] for s in module.SEEDS}
        assert seen == set(module.FORMAT_LIST)

    def test_contract_violation_is_a_crash(self) -> None:
        """A broken invariant is not a ClientAuthError, so the drivers report it."""
        lib = _load("_fuzzlib")
        from clientauth import ClientAuthError

        assert not issubclass(lib.ContractViolation, ClientAuthError)

    def test_hypothesis_driver_runs_a_bounded_campaign(self) -> None:
        """The atheris-free fallback drives a target and counts executions."""
        lib = _load("_fuzzlib")
        basic = _load("fuzz_basic")
        count = lib.run_hypothesis(basic.target, basic.SEEDS, max_time=2, runs=50)
        assert 50 <= count <= 500
