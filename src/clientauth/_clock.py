"""The default clock and the validation of duration settings, shared by every component
that takes an injectable ``now=`` or a TTL-like setting (STYLE.md 3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .exceptions import ConfigurationError

__all__ = ["duration_setting", "system_now"]


def system_now() -> datetime:
    """The default ``now``: the system clock, timezone-aware (UTC)."""
    return datetime.now(UTC)


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
