"""Audit events: one structured record per authentication, and expiry warnings.

Every :meth:`~clientauth.Authenticator.authenticate` call emits exactly one
``authentication`` event; a success whose credential (secret or certificate) expires within
the authenticator's ``expiry_warning`` window also emits a ``credential_expiring`` event, so
operators can chase rotation before clients break. A request whose client could not be looked
up because the registry failed (a database that is down) emits a ``registry_unavailable``
event instead of ``authentication`` (the adapters answer it with 503).

Events go to standard logging -- logger ``clientauth.audit``, ``INFO`` for successes,
``WARNING`` for failures and expiry warnings, with the fields as ``extra`` attributes
(``record.clientauth_client_id``, ...) and the whole event as ``record.clientauth_audit`` --
and to an optional hook, ``Authenticator(..., audit=callable)``, to send them elsewhere.
No event ever carries a secret or a secret hash: there is no field for one.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from .result import AuthResult

__all__ = ["AUDIT_LOGGER", "AuditEvent", "AuditHook"]

AUDIT_LOGGER = "clientauth.audit"

EventKind = Literal["authentication", "credential_expiring", "registry_unavailable"]

MAX_MESSAGE_DETAIL = 500
"""Longest ``detail`` quoted in a log line (the event's ``detail`` field keeps it whole)."""


@dataclasses.dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audit record. ``source`` says how the credential arrived: ``tls`` (direct),
    ``forwarded:<format>`` (which proxy format), ``authorization`` / ``form`` / ``headers``
    / ``query`` (secrets). ``detail`` is the result's human explanation (for logs; it never
    holds a secret), e.g. which forwarded header from an untrusted peer was ignored."""

    event: EventKind
    time: datetime
    ok: bool
    client_id: str | None
    method: str | None
    failure: str | None
    error: str | None
    thumbprint: str | None
    source: str | None
    peer: str | None
    expires_at: datetime | None
    notices: tuple[str, ...] = ()
    detail: str | None = None

    @classmethod
    def from_result(
        cls, result: AuthResult, *, peer: str | None, time: datetime,
        event: EventKind = "authentication",
    ) -> AuditEvent:
        return cls(
            event=event,
            time=time,
            ok=result.ok,
            client_id=result.client_id,
            method=result.method.value if result.method else None,
            failure=result.failure.value if result.failure else None,
            error=result.error,
            thumbprint=result.thumbprint,
            source=result.source,
            peer=peer,
            expires_at=result.expires_at,
            notices=tuple(n.value for n in result.notices),
            detail=result.detail or None,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (times in ISO 8601)."""
        return {
            "event": self.event,
            "time": self.time.isoformat(),
            "ok": self.ok,
            "client_id": self.client_id,
            "method": self.method,
            "failure": self.failure,
            "error": self.error,
            "thumbprint": self.thumbprint,
            "source": self.source,
            "peer": self.peer,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "notices": list(self.notices),
            "detail": self.detail,
        }

    def message(self) -> str:
        if self.event == "credential_expiring":
            return (f"client {self.client_id!r} authenticated with a credential expiring "
                    f"{self.expires_at.isoformat() if self.expires_at else '?'}")
        if self.ok:
            return f"client {self.client_id!r} authenticated ({self.method}, {self.source})"
        who = f"client {self.client_id!r}" if self.client_id else "unidentified client"
        if self.event == "registry_unavailable":
            line = f"{who} not authenticated: client registry unavailable"
        else:
            line = f"{who} refused: {self.failure} ({self.source or 'no credentials'})"
        return f"{line}: {_printable(self.detail)}" if self.detail else line


def _printable(text: str) -> str:
    """``text`` for one log line: control characters escaped (no forged lines), bounded."""
    if len(text) > MAX_MESSAGE_DETAIL:
        text = text[:MAX_MESSAGE_DETAIL] + "..."
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


AuditHook = Callable[[AuditEvent], object]

_logger = logging.getLogger(AUDIT_LOGGER)


def emit(event: AuditEvent, hook: AuditHook | None) -> None:
    """Log ``event`` and pass it to ``hook``. A failing hook is logged, never raised: an audit
    sink that is down must not turn into refused (or accepted) clients."""
    level = logging.INFO if event.ok and event.event == "authentication" else logging.WARNING
    if _listening(level):
        fields = event.as_dict()
        _logger.log(
            level,
            event.message(),
            extra={"clientauth_audit": fields, **{f"clientauth_{k}": v for k, v in fields.items()}},
        )
    if hook is not None:
        try:
            hook(event)
        except Exception:  # a broken sink must not change the outcome (see docstring)
            _logger.exception("clientauth audit hook failed")


def wanted(hook: AuditHook | None, ok: bool) -> bool:
    """Whether building an event is worth it (hot path: skip when nobody listens)."""
    if hook is not None:
        return True
    level = _INFO if ok else _WARNING
    # isEnabledFor first: the common answer ("no") without a call into _listening.
    return _logger.isEnabledFor(level) and _listening(level)


_INFO, _WARNING = logging.INFO, logging.WARNING


def _listening(level: int) -> bool:
    """Whether a record at ``level`` would reach a handler other than a NullHandler.

    ``clientauth`` carries a NullHandler (a library never prints by default), which makes
    ``isEnabledFor(WARNING)`` true everywhere; building and logging a record nobody reads
    would cost more than the authentication itself.
    """
    if not _logger.isEnabledFor(level):
        return False
    current: logging.Logger | None = _logger
    while current is not None:
        for handler in current.handlers:
            if not isinstance(handler, logging.NullHandler) and level >= handler.level:
                return True
        if not current.propagate:
            return False
        current = current.parent
    return False
