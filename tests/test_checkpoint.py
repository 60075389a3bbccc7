"""checkpoint.py on its own: marks that cannot be true are refused."""

from __future__ import annotations

import pytest

from cctrack.checkpoint import Checkpoint
from cctrack.store import FileMark

GOOD = [120, 5, 1, "0" * 32]


@pytest.mark.parametrize(
    "mark",
    [
        [-1, 5, 1, "0" * 32],
        [1, -5, 1, "0" * 32],
        [1, 5, 1, "xyz"],
        [1.5, 5, 1, "0" * 32],
        [2**64, 5, 1, "0" * 32],
        [1, 5, 1],
        "text",
    ],
)
def test_impossible_marks_are_refused(mark: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        FileMark.from_json(mark)


def test_a_checkpoint_round_trips() -> None:
    checkpoint = Checkpoint(marks={"usage-20261124.jsonl": FileMark.from_json(GOOD)})
    assert Checkpoint.from_json(checkpoint.to_json()).marks == checkpoint.marks
