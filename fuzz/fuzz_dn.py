"""Fuzz the distinguished-name parser and registered-name validation (RFC 4514, slash form).

Byte 0 picks the field for ``RegisteredName.parse`` (one of NAME_FIELDS); the rest, as UTF-8
(undecodable bytes replaced) and as Latin-1, goes to ``parse_dn`` and ``RegisteredName.parse``.
Invariants: only ClientAuthError escapes; a parsed DN survives ``str()`` -> ``parse_dn``
with an equal key (the DistinguishedName docstring promises it).

    python fuzz/fuzz_dn.py -max_total_time=60
    python fuzz/fuzz_dn.py --hypothesis -max_total_time=60
"""

from __future__ import annotations

import sys

from _fuzzlib import ContractViolation, guarded, main

from clientauth import ClientAuthError
from clientauth.names import NAME_FIELDS, RegisteredName, parse_dn


def dn_roundtrip(text: str) -> None:
    try:
        dn = parse_dn(text)
    except ClientAuthError:
        return
    shown = str(dn)
    try:
        again = parse_dn(shown)
    except ClientAuthError as exc:
        raise ContractViolation(
            f"str() of a parsed DN does not parse back: {text!r} -> {shown!r}: {exc}"
        ) from None
    if again.key != dn.key:
        raise ContractViolation(f"DN round trip changed the name: {text!r} -> {shown!r}")


def target(data: bytes) -> None:
    field = NAME_FIELDS[data[0] % len(NAME_FIELDS)] if data else NAME_FIELDS[0]
    for text in {data[1:].decode("utf-8", "replace"), data[1:].decode("latin-1")}:
        dn_roundtrip(text)
        guarded(lambda text=text: RegisteredName.parse(field, text))


SEEDS = [
    b"\x00CN=client,O=Acme,C=US",
    b"\x00/C=US/O=Acme/CN=client",
    b"\x00CN=a\\,b+UID=x,OU=\\#1,2.5.4.97=#0c0461626364",
    b"\x00OID.2.5.4.3=  spaced  value  ,DC=example",
    "\x00CN=J\u00fcrgen,O=\u00c9cole".encode(),
    b"\x00CN=\\E2\\98\\83",
    b"\x01client.example.",
    b"\x02spiffe://example.org/ns/a",
    b"\x03::ffff:192.0.2.1",
    b"\x04Alice@Example.COM",
]

if __name__ == "__main__":
    main(target, SEEDS, "fuzz_dn")
    sys.exit(0)
