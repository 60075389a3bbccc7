"""cctrack.model: dataclasses that behave as the standard ones do (compared, hashed and shown
by their fields) while compiling only __init__."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from dataclasses import field
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from mypy import api as mypy_api

from cctrack import model
from cctrack.model import frozen, mutable


class Models(NamedTuple):
    Value: Any
    StandardValue: Any
    Identity: Any
    Counter: Any
    Secret: Any
    Single: Any


@pytest.fixture
def models() -> Models:
    """The classes, made inside each test: what `@frozen` and `@mutable` do happens when a
    class is made (made at import, a test could not tell a broken decorator)."""

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

    return Models(Value, StandardValue, Identity, Counter, Secret, Single)


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
    models: Models, left: tuple[Any, ...], right: tuple[Any, ...]
) -> None:
    ours = models.Value(*left), models.Value(*right)
    standard = models.StandardValue(*left), models.StandardValue(*right)
    assert (ours[0] == ours[1]) == (standard[0] == standard[1])
    assert (ours[0] != ours[1]) == (standard[0] != standard[1])
    # Hashed as the standard dataclass hashes: the compared fields as a tuple.
    assert hash(ours[0]) == hash(standard[0])
    assert hash(ours[1]) == hash(standard[1])
    assert repr(ours[0]).split("(", 1)[1] == repr(standard[0]).split("(", 1)[1]
    assert repr(ours[0]).startswith("models.<locals>.Value(")


def test_the_same_nan_object_equals_itself_in_a_one_field_value(models: Models) -> None:
    assert models.Single(NAN) == models.Single(NAN)
    assert models.Single(1.0) != models.Single(2.0)
    assert {models.Single(1.0): "one"}[models.Single(1.0)] == "one"


def test_other_classes_are_never_equal(models: Models) -> None:
    assert models.Value(1.0) != models.StandardValue(1.0)
    assert models.Value(1.0) != (1.0, ())
    assert models.Value.__eq__(models.Value(1.0), models.StandardValue(1.0)) is NotImplemented


def test_eq_false_compares_by_identity(models: Models) -> None:
    one = models.Identity("a")
    assert one != models.Identity("a")
    assert {one: 1}[one] == 1
    assert len({one, models.Identity("a")}) == 2


def test_mutable_compares_by_fields_and_is_not_hashable(models: Models) -> None:
    counter = models.Counter()
    counter.count += 1
    assert counter == models.Counter(1)
    assert counter != models.Counter(2)
    with pytest.raises(TypeError):
        hash(counter)


def test_a_repr_the_class_writes_stays(models: Models) -> None:
    assert repr(models.Secret("sk-123")) == "Secret(...)"
    assert models.Secret("a") == models.Secret("a")


def test_the_dataclass_functions_work_on_them(models: Models) -> None:
    value = models.Value(1.0, ("a",), ["n"])
    assert dataclasses.is_dataclass(models.Value)
    assert [f.name for f in dataclasses.fields(value)] == ["amount", "tags", "notes"]
    assert dataclasses.replace(value, amount=2.0) == models.Value(2.0, ("a",))
    assert dataclasses.asdict(value) == {"amount": 1.0, "tags": ("a",), "notes": ["n"]}
    assert copy.deepcopy(value) == value
    assert models.Value.__match_args__ == ("amount", "tags", "notes")


@frozen
class Pickled:
    """A value handed to a forked reader and back (a class pickle can find by name)."""

    counts: tuple[int, ...]
    path: str = ""


def test_a_value_goes_through_pickle_whole() -> None:
    value = Pickled((1, 2), "a")
    assert pickle.loads(pickle.dumps(value)) == value
    assert pickle.loads(pickle.dumps(value)).path == "a"


def test_only_init_is_made_per_class(models: Models) -> None:
    """What costs the start-up: every method but __init__ is the shared one."""
    for cls in (models.Value, models.Single, models.Counter):
        assert cls.__repr__ is model._repr
        assert cls.__eq__ is model._eq
        assert "__setattr__" not in cls.__dict__
        assert "__delattr__" not in cls.__dict__
    assert models.Value.__hash__ is model._hash


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
