"""Client certificates forwarded by TLS-terminating proxies.

:func:`parse_forwarded` decodes one proxy's header format (pure; raises only
:class:`~clientauth.ForwardedHeaderError`). :class:`ForwardedCertificates` decides whether a
request's header may be believed at all (trusted proxy address and/or shared secret) and
returns a :class:`ForwardedOutcome`.
"""

from __future__ import annotations

from ._common import MAX_CHAIN_CERTS, MAX_HEADER_SIZE
from ._parse import CHAIN_FORMATS, FORMATS, parse_forwarded
from ._policy import (
    DEFAULT_CHAIN_HEADERS,
    DEFAULT_HEADERS,
    ForwardedCertificates,
    ForwardedOutcome,
)

__all__ = [
    "CHAIN_FORMATS",
    "DEFAULT_CHAIN_HEADERS",
    "DEFAULT_HEADERS",
    "FORMATS",
    "MAX_CHAIN_CERTS",
    "MAX_HEADER_SIZE",
    "ForwardedCertificates",
    "ForwardedOutcome",
    "parse_forwarded",
]
