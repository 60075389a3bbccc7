"""The project's dataclasses, made cheap to define: `@frozen` for values, `@mutable` for
the few objects that change.

Every command defines 20 to 60 model classes as it starts. `@dataclass(frozen=True)`
writes six methods for each and compiles them with `exec` (__init__, __repr__, __eq__,
__hash__, __setattr__, __delattr__): about half a millisecond a class on Python 3.11 to
3.13, a third of cctrack's own start-up. These are dataclasses (fields, replace, asdict
work on them) that compile only __init__, in a third of that time; equality, hashing and
repr are shared functions over the fields, the same for every class. `@frozen`'s fields
are read-only to mypy (dataclass_transform's frozen_default), not checked again at run
time: that check is what costs two of the six compilations and a slower __init__.
benchmarks/RESULTS.md has the measurement.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, cast, overload

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # Python 3.10: for type checkers only

    def dataclass_transform(**_: Any) -> Callable[[Any], Any]:
        return lambda decorated: decorated


T = TypeVar("T")


def _getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The fields named, as a tuple (as dataclasses compare them: a NaN field equals
    itself, being the same object)."""
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    if not names:
        return lambda obj: ()
    return attrgetter(*names)


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    compared = self.__model_compared__
    return compared(self) == compared(other)


def _hash(self: Any) -> int:
    return hash(self.__model_compared__(self))


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__model_shown__)
    return f"{self.__class__.__qualname__}({shown})"


def _model(cls: type[T], eq: bool, hashable: bool) -> type[T]:
    made = dataclasses.dataclass(cls, eq=False, repr=False)
    fields = dataclasses.fields(cast(Any, made))
    shared = {"__model_shown__": tuple(f.name for f in fields if f.repr), "__repr__": _repr}
    if eq:
        compared = _getter([f.name for f in fields if f.compare])
        shared["__model_compared__"] = staticmethod(compared)
        shared["__eq__"] = _eq
        # As dataclasses do: a class compared by value is hashed by value only if frozen.
        shared["__hash__"] = _hash if hashable else None
    for name, value in shared.items():
        # What the class writes itself stays (a __repr__ that hides a secret).
        if name not in made.__dict__:
            setattr(made, name, value)
    return made


@overload
def frozen(cls: type[T], /) -> type[T]: ...


@overload
def frozen(*, eq: bool = True) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def frozen(cls: type[T] | None = None, /, *, eq: bool = True) -> Any:
    """A value: read-only fields, compared and hashed by them (by identity with
    eq=False)."""
    if cls is None:
        return lambda later: _model(later, eq, hashable=True)
    return _model(cls, eq, hashable=True)


@dataclass_transform(field_specifiers=(dataclasses.field,))
def mutable(cls: type[T], /) -> type[T]:
    """An object whose fields change: compared by them, not hashable."""
    return _model(cls, eq=True, hashable=False)
