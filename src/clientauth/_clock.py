"""The default clock and the validation of duration settings, shared by every component
that takes an injectable ``now=`` or a TTL-like setting (docs/design.md, "Injectable clock")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from .exceptions import ConfigurationError

__all__ = ["Clock", "aware", "clock_setting", "duration_setting", "system_now"]

Clock = Callable[[], datetime]

_NOT_CALLABLE: Final = "now must be a callable returning an aware datetime"
_NOT_AWARE: Final = "the now= clock must return an aware datetime"


def system_now() -> datetime:
    """The default ``now``: the system clock, timezone-aware (UTC)."""
    return datetime.now(UTC)


def aware(value: object) -> datetime:
    """A clock reading, refused with :class:`~clientauth.ConfigurationError` unless it is an
    aware ``datetime``. A naive one would be compared with UTC certificate and token times
    as if it were UTC, whatever zone it was read in; "aware" is Python's own definition
    (``utcoffset()`` is not ``None``), which a ``tzinfo`` answering ``None`` does not meet."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ConfigurationError(_NOT_AWARE)
    return value


class _CheckedClock:
    """A user's clock whose every reading goes through :func:`aware`."""

    __slots__ = ("_clock",)

    def __init__(self, clock: Callable[[], object]) -> None:
        self._clock = clock

    def __call__(self) -> datetime:
        return aware(self._clock())

    def __repr__(self) -> str:
        return f"{self._clock!r}"


def clock_setting(now: object) -> Clock:
    """The ``now=`` setting of every component: ``None`` is the system clock; anything else
    must be callable, and each of its readings is checked by :func:`aware` (the one check,
    so that every component refuses the same clocks with the same error)."""
    if now is None or now is system_now:
        return system_now
    if isinstance(now, _CheckedClock):
        return now  # already checked (a component passing its clock on)
    if not callable(now):
        raise ConfigurationError(_NOT_CALLABLE)
    return _CheckedClock(now)


def duration_setting(value: object, name: str, maximum: timedelta) -> timedelta:
    """A duration given as a ``timedelta`` or a number of seconds, within ``0..maximum``;
    anything else raises :class:`~clientauth.ConfigurationError` naming the setting."""
    if isinstance(value, bool) or not isinstance(value, timedelta | int | float):
        raise ConfigurationError(f"{name} must be a timedelta or a number of seconds")
    duration = value if isinstance(value, timedelta) else timedelta(seconds=value)
    if duration < timedelta(0) or duration > maximum:
        raise ConfigurationError(
            f"{name} must be between 0 and {maximum.total_seconds():.0f} s"
        )
    return duration
