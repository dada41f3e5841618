from __future__ import annotations

import pytest

from kemu.experiments.quorum_model import Observation, expected, markdown_table, quorum, tolerated

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("n", "q", "t"), [(1, 1, 0), (2, 2, 0), (3, 2, 1), (4, 3, 1), (5, 3, 2), (7, 4, 3)])
def test_quorum_arithmetic(n: int, q: int, t: int) -> None:
    assert (quorum(n), tolerated(n)) == (q, t)


@pytest.mark.parametrize(("n", "lost", "writes", "serializable"), [
    (1, 0, True, True), (3, 1, True, True), (3, 2, False, True), (3, 3, False, False),
    (5, 2, True, True), (5, 3, False, True), (5, 4, False, True),
])
def test_expected_capabilities(n: int, lost: int, writes: bool, serializable: bool) -> None:
    exp = expected(n, lost)
    assert (exp.writes, exp.linearizable_reads, exp.serializable_reads) == (writes, writes, serializable)


def _obs(n: int, lost: int, writes: bool, lin: bool, ser: bool) -> Observation:
    return Observation(n, lost, lost > 0, writes, lin, ser, True, 0.5 if lost else None)


def test_a_row_that_contradicts_the_arithmetic_fails() -> None:
    good, bad = _obs(3, 2, False, False, True), _obs(3, 2, True, True, True)
    assert good.matches and not bad.matches
    table = markdown_table([good, bad])
    assert table.count("PASS") == 1 and table.count("FAIL") == 1
    assert "| 3 | 2 | 2 | no | no | yes |" in table
