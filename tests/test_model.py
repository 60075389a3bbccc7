"""cctrack.model: dataclasses that behave as the standard ones do (compared, hashed and shown
by their fields) while compiling only __init__."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import field
from pathlib import Path
from typing import Any

import pytest
from mypy import api as mypy_api

from cctrack import model
from cctrack.model import frozen, mutable


@frozen
class Value:
    """A value with a field left out of comparison and repr."""

    amount: float
    tags: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list, compare=False, repr=False)


@dataclasses.dataclass(frozen=True)
class StandardValue:
    """Value, as the standard library makes it."""

    amount: float
    tags: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list, compare=False, repr=False)


@frozen(eq=False)
class Identity:
    """Compared by identity."""

    name: str


@mutable
class Counter:
    """A mutable object."""

    count: int = 0


@frozen
class Secret:
    """A class that writes its own repr."""

    token: str

    def __repr__(self) -> str:
        return "Secret(...)"


@frozen
class Single:
    """One field: still compared as a tuple of one."""

    value: float


NAN = float("nan")
PAIRS = [
    ((1.0,), (1.0,)),
    ((1.0,), (2.0,)),
    ((1.0, ("a",)), (1.0, ("b",))),
    ((1.0, ("a",), ["x"]), (1.0, ("a",), ["y"])),
    ((NAN,), (NAN,)),
]


@pytest.mark.parametrize(("left", "right"), PAIRS)
def test_compared_hashed_and_shown_as_the_standard_dataclass(
    left: tuple[Any, ...], right: tuple[Any, ...]
) -> None:
    ours = Value(*left), Value(*right)
    standard = StandardValue(*left), StandardValue(*right)
    assert (ours[0] == ours[1]) == (standard[0] == standard[1])
    assert (ours[0] != ours[1]) == (standard[0] != standard[1])
    if ours[0] == ours[1]:
        assert hash(ours[0]) == hash(ours[1])
    assert repr(ours[0]).removeprefix("Value") == repr(standard[0]).removeprefix("StandardValue")


def test_the_same_nan_object_equals_itself_in_a_one_field_value() -> None:
    assert Single(NAN) == Single(NAN)
    assert Single(1.0) != Single(2.0)
    assert {Single(1.0): "one"}[Single(1.0)] == "one"


def test_other_classes_are_never_equal() -> None:
    assert Value(1.0) != StandardValue(1.0)
    assert Value(1.0) != (1.0, ())
    assert Value.__eq__(Value(1.0), StandardValue(1.0)) is NotImplemented


def test_eq_false_compares_by_identity() -> None:
    one = Identity("a")
    assert one != Identity("a")
    assert {one: 1}[one] == 1
    assert len({one, Identity("a")}) == 2


def test_mutable_compares_by_fields_and_is_not_hashable() -> None:
    counter = Counter()
    counter.count += 1
    assert counter == Counter(1)
    assert counter != Counter(2)
    with pytest.raises(TypeError):
        hash(counter)


def test_a_repr_the_class_writes_stays() -> None:
    assert repr(Secret("sk-123")) == "Secret(...)"
    assert Secret("a") == Secret("a")


def test_the_dataclass_functions_work_on_them() -> None:
    value = Value(1.0, ("a",), ["n"])
    assert dataclasses.is_dataclass(Value)
    assert [f.name for f in dataclasses.fields(value)] == ["amount", "tags", "notes"]
    assert dataclasses.replace(value, amount=2.0) == Value(2.0, ("a",))
    assert dataclasses.asdict(value) == {"amount": 1.0, "tags": ("a",), "notes": ["n"]}
    assert pickle.loads(pickle.dumps(value)) == value
    assert Value.__match_args__ == ("amount", "tags", "notes")


def test_only_init_is_made_per_class() -> None:
    """What costs the start-up: every method but __init__ is the shared one."""
    for cls in (Value, Single, Counter):
        assert cls.__repr__ is model._repr
        assert cls.__eq__ is model._eq
        assert "__setattr__" not in cls.__dict__
        assert "__delattr__" not in cls.__dict__
    assert Value.__hash__ is model._hash


def test_frozen_fields_are_read_only_to_mypy(tmp_path: Path) -> None:
    source = tmp_path / "use.py"
    source.write_text(
        "from cctrack.model import frozen, mutable\n"
        "@frozen\nclass A:\n    x: int\n"
        "@frozen(eq=False)\nclass B:\n    x: int\n"
        "@mutable\nclass C:\n    x: int\n"
        "A(1).x = 2\nB(1).x = 2\nC(1).x = 2\nA(x='text')\n"
    )
    out, _, status = mypy_api.run(
        ["--no-incremental", "--strict", "--follow-imports=silent", str(source)]
    )
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert status == 1
    assert [line.split(":")[1] for line in errors] == ["11", "12", "14"], out
    assert all("read-only" in line for line in errors[:2]), out
