"""Building frozen dataclass values without their per-field ``object.__setattr__``.

A frozen dataclass's ``__init__`` stores each field with ``object.__setattr__``, about 0.1 us a
field here: building an :class:`~clientauth.AuthResult` (12 fields) cost more than checking a
pinned certificate (issue 18). The values clientauth builds on every request are filled in a
plain class of the very same slot layout (:func:`layout_of`) and then given their real class
(:func:`as_class`): the object *is* an instance of the frozen class -- immutable, equal, hashed,
pickled and shown as one; only its construction is cheaper. ``__post_init__`` is not run: the
builders using this keep its invariants themselves.

``tests/test_frozen_build.py`` checks, for every builder, that each field is set and that the
value equals what the constructor builds, so a field added to a dataclass and not to its
builder fails there.
"""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = ["as_class", "layout_of"]

_T = TypeVar("_T")


def layout_of(cls: type) -> type:
    """A plain (mutable) class whose instances have exactly the slots of ``cls``."""
    slots = cls.__dict__.get("__slots__")
    if not isinstance(slots, tuple) or cls.__bases__ != (object,):
        raise TypeError(f"{cls.__name__} must be a slotted class deriving from object")
    return type(f"_{cls.__name__}Layout", (), {"__slots__": slots})


def as_class(value: Any, cls: type[_T]) -> _T:
    """``value`` (an instance of ``layout_of(cls)``, every slot filled) made a ``cls``."""
    # CPython allows the assignment between classes of the same slot layout.
    value.__class__ = cls
    return value  # type: ignore[no-any-return]
