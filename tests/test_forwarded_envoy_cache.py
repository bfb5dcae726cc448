"""Envoy: the remembered answer for an XFCC value, and the scanner that reads the pairs.

The same ``x-forwarded-client-cert`` value comes back with a client's every request, so the
certificates chosen from it are remembered. The answer depends on the value *and* on which
element was asked for (``element`` / ``element_by``): a value accepted under one choice may be
refused under another, and only accepted values are remembered. The pair scanner finds
closing quotes with ``str.find`` rather than one regex; it must read exactly what the
one-regex grammar it replaced reads, errors and positions included.
"""

from __future__ import annotations

import random
import re

import pytest

import xfcc_builder
from certs import Issued, Pki
from clientauth import ConfigurationError, ForwardedHeaderError
from clientauth.forwarded import _envoy, parse_forwarded

EDGE = "spiffe://mesh/edge"
SIDECAR = "spiffe://mesh/sidecar"


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki.create()


@pytest.fixture
def client(pki: Pki) -> Issued:
    return pki.leaf("cache-client", san_dns=["client.example"])


@pytest.fixture
def two_hops(pki: Pki, client: Issued) -> str:
    """Client -> edge (its element) -> sidecar (another element, for the edge's own cert)."""
    edge = pki.leaf("edge-proxy", san_dns=["edge.example"])
    return ",".join(
        [
            xfcc_builder.element(client.cert, by=[EDGE]),
            xfcc_builder.element(edge.cert, by=[SIDECAR]),
        ]
    )


def outcome(value: str, **select: object) -> list[object] | str:
    try:
        return list(parse_forwarded("envoy", value, **select))  # type: ignore[arg-type]
    except ForwardedHeaderError:
        return "refused"


def count_scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The values the pair scanner reads from now on."""
    calls: list[str] = []
    real = _envoy.split_elements

    def counting(text: str, offset: int = 0) -> list[list[_envoy.Pair]]:
        calls.append(text)
        return real(text, offset)

    monkeypatch.setattr(_envoy, "split_elements", counting)
    return calls


class TestRememberedAnswer:
    def test_same_value_is_not_read_again(
        self, client: Issued, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The same value with the same choice is answered without scanning it again."""
        value = xfcc_builder.element(client.cert, by=[EDGE])
        assert outcome(value) == [client.cert]
        calls = count_scans(monkeypatch)
        assert outcome(value) == [client.cert]
        assert calls == []

    def test_other_choice_on_the_same_value_is_decided_afresh(
        self, two_hops: str, client: Issued, pki: Pki
    ) -> None:
        """A value accepted for one element_by / element is not thereby accepted for
        another: each choice gets its own answer, and refusals stay refusals."""
        assert outcome(two_hops, element_by=EDGE) == [client.cert]
        assert outcome(two_hops, element_by="spiffe://mesh/other") == "refused"
        edge_leaf = outcome(two_hops, element_by=SIDECAR)
        assert isinstance(edge_leaf, list) and edge_leaf != [client.cert]
        assert outcome(two_hops, element=0) == [client.cert]
        assert outcome(two_hops, element=-1) == edge_leaf
        assert outcome(two_hops, element=2) == "refused"
        # Two hops and no choice: the parser does not guess, however often it was asked.
        assert outcome(two_hops) == "refused"
        assert outcome(two_hops, element_by=EDGE) == [client.cert]
        assert outcome(two_hops) == "refused"

    def test_refused_value_stays_refused(self, client: Issued, pki: Pki) -> None:
        """A refusal is never remembered as an answer: the value is refused every time, even
        after an accepted value that differs from it in one pair."""
        good = xfcc_builder.element(client.cert, by=[EDGE])
        other = pki.leaf("other-client", san_dns=["other.example"])
        bad = good.replace("DNS=client.example", "DNS=client.example,By=" + EDGE)
        assert outcome(good) == [client.cert]
        for _ in range(3):
            assert outcome(bad) == "refused"
        wrong_hash = xfcc_builder.element(other.cert, by=[EDGE]).split(";", 2)
        swapped = ";".join([wrong_hash[0], good.split(";", 2)[1], wrong_hash[2]])
        for _ in range(3):
            assert outcome(swapped) == "refused"

    def test_caller_cannot_change_the_remembered_answer(self, client: Issued) -> None:
        """Each call returns a list of its own: emptying one leaves the next answer whole."""
        value = xfcc_builder.element(client.cert, by=[EDGE])
        first = parse_forwarded("envoy", value)
        first.clear()
        assert parse_forwarded("envoy", value) == [client.cert]

    def test_configuration_still_checked_before_the_cache(self, client: Issued) -> None:
        """A remembered value does not skip the checks of the arguments themselves."""
        value = xfcc_builder.element(client.cert, by=[EDGE])
        assert outcome(value, element_by=EDGE) == [client.cert]
        with pytest.raises(ConfigurationError):
            parse_forwarded("envoy", value, element_by=EDGE + ";x")
        with pytest.raises(ConfigurationError):
            parse_forwarded("envoy", value, element=True)

    def test_cache_is_bounded(self, client: Issued, monkeypatch: pytest.MonkeyPatch) -> None:
        """The remembered answers are bounded in number, and a value above the size limit
        is read every time rather than remembered."""
        value = xfcc_builder.element(client.cert, by=[EDGE])
        for i in range(_envoy._RESULTS_SIZE + 20):
            assert outcome(value.replace(EDGE, f"{EDGE}-{i}", 1)) == [client.cert]
        assert len(_envoy._RESULTS) <= _envoy._RESULTS_SIZE
        padded = value + " " * (_envoy.MAX_CACHED_HEADER_SIZE - len(value) + 1)
        calls = count_scans(monkeypatch)
        for _ in range(2):
            assert outcome(padded) == [client.cert]
        assert len(calls) == 2


# The one-regex grammar the scanner replaced: a key, '=', then a quoted value (runs and
# backslash escapes) or an unquoted one, OWS around each.
_REFERENCE_PAIR = re.compile(
    r'[ \t]*+([^=,;"]+?)[ \t]*=[ \t]*+(?:"((?:[^"\\]++|\\.)*+)"|([^,;"]*+))[ \t]*+',
    re.DOTALL,
)


def _reference_split(text: str, offset: int) -> list[list[_envoy.Pair]]:
    elements: list[list[_envoy.Pair]] = [[]]
    pos, count = 0, 0
    while True:
        count += 1
        if count > _envoy.MAX_PAIRS:
            raise ForwardedHeaderError("too many", format="envoy")
        match = _REFERENCE_PAIR.match(text, pos)
        if match is None:
            raise ForwardedHeaderError("key=value", format="envoy", position=offset + pos)
        key, quoted, plain = match.groups()
        if quoted is not None:
            value, value_at = quoted, match.start(2)
        else:
            value, value_at = plain.rstrip(" \t"), match.start(3)
        elements[-1].append((key.lower(), value, offset + value_at))
        pos = match.end()
        if pos == len(text):
            return elements
        if text[pos] not in ",;":
            raise ForwardedHeaderError("separator", format="envoy", position=offset + pos)
        if text[pos] == ",":
            elements.append([])
        pos += 1


def _read(split: object, text: str) -> object:
    try:
        return split(text, 5)  # type: ignore[operator]
    except ForwardedHeaderError as error:
        return ("refused", error.position)


class TestScanner:
    def test_reads_what_the_regex_grammar_reads(self) -> None:
        """On random strings over the characters that matter (quotes, backslashes,
        separators, OWS, '='), the scanner gives the same pairs and value offsets as the
        one-regex grammar, and refuses at the same position."""
        pieces = ["a", "By", "=", ";", ",", '"', "\\", " ", "\t", "\n", "x%2F", '"\\"', '=""']
        rng = random.Random(18)
        for _ in range(20_000):
            text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 24)))
            assert _read(_envoy.split_elements, text) == _read(_reference_split, text), text

    @pytest.mark.parametrize(
        "text",
        [
            'a="' + "\\a" * 30_000,
            'a="' + '\\"' * 30_000 + '"',
            'a="x"' + " " * 60_000 + ";b=c",
            ";".join(['a="\\x"'] * 500) + "y" * 50_000 + '"',
            ";".join(["a=b"] * 400) + ';a="' + "x" * 60_000,
        ],
    )
    def test_hostile_values_read_in_linear_time(self, text: str) -> None:
        """Long runs of backslashes, escaped quotes, OWS, or a quote never closed, are read
        as the grammar reads them, each in one pass (the suite would time out otherwise)."""
        assert _read(_envoy.split_elements, text) == _read(_reference_split, text)
