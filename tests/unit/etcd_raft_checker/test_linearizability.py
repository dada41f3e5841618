from __future__ import annotations

import math
import random
import time

import pytest

from etcd_raft.checker import Op, check_history

pytestmark = pytest.mark.unit


def put(v: str, call: float, ret: float, outcome: str = "ok", key: str = "k", client: str = "c") -> Op:
    return Op(client, "put", key, v, call, ret if outcome == "ok" else math.inf, outcome)


def get(v: str | None, call: float, ret: float, key: str = "k", client: str = "r") -> Op:
    return Op(client, "get", key, v, call, ret, "ok")


@pytest.mark.parametrize(("history", "ok"), [
    ([put("a", 0, 1), get("a", 2, 3)], True),
    ([put("a", 0, 1), put("b", 2, 3), get("a", 4, 5)], False),                 # stale read
    ([put("a", 0, 10), get("a", 1, 2), get(None, 3, 4)], False),              # read goes back in time
    ([put("a", 0, 10), get(None, 1, 2), get("a", 3, 4)], True),               # concurrent put: either order
    ([get("zz", 0, 1)], False),                                               # never written
    ([put("a", 0, 1), put("b", 0.5, 2), get("a", 3, 4)], True),               # overlapping puts: b then a
    ([put("a", 0, 1), put("b", 2, 3), get("a", 4, 5), get("b", 6, 7)], False),
    ([put("a", 0, 1, "unknown"), get(None, 2, 3), get("a", 4, 5)], True),     # unknown write lands late
    ([put("a", 0, 1, "unknown"), get(None, 5, 6)], True),                     # or never
    ([put("a", 0, 1, "fail"), get("a", 2, 3)], False),                        # a failed write never happened
    ([put("a", 0, 1), get(None, 2, 3)], False),                               # lost acknowledged write
])
def test_small_histories(history: list[Op], ok: bool) -> None:
    assert check_history(history).ok is ok


def test_keys_are_checked_independently_and_failures_are_explained() -> None:
    history = [put("a", 0, 1, key="x"), get("a", 2, 3, key="x"), put("b", 0, 1, key="y"), get("c", 2, 3, key="y")]
    verdict = check_history(history)
    assert verdict.ok is False and verdict.keys_checked == 2
    assert "key y: read 'c'" in verdict.summary


def _simulate(seed: int, n_ops: int, clients: int, keys: int) -> list[Op]:
    """A linearizable history: each op takes effect at one instant inside [call, ret], overlapping others."""
    rng = random.Random(seed)
    state: dict[str, str | None] = {}
    ops: list[Op] = []
    t = 0.0
    free_at = [0.0] * clients
    for i in range(n_ops):
        c = rng.randrange(clients)
        call = max(t, free_at[c]) + rng.random() * 0.01
        effect = call + rng.random() * 0.02
        ret = effect + rng.random() * 0.02
        t = effect                        # effects happen in this order
        key = f"k{rng.randrange(keys)}"
        if rng.random() < 0.5:
            state[key] = f"v{i}"
            outcome = "unknown" if rng.random() < 0.02 else "ok"
            ops.append(Op(f"c{c}", "put", key, f"v{i}", call, ret if outcome == "ok" else math.inf, outcome))
        else:
            ops.append(Op(f"c{c}", "get", key, state.get(key), call, ret, "ok"))
        free_at[c] = ret
    return ops


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_large_linearizable_histories_pass_quickly(seed: int) -> None:
    ops = _simulate(seed, 10_000, clients=8, keys=20)
    start = time.monotonic()
    verdict = check_history(ops)
    assert verdict.ok is True and verdict.operations >= 9_000
    assert time.monotonic() - start < 20


def test_an_injected_stale_read_is_found_in_a_large_history() -> None:
    ops = _simulate(7, 3_000, clients=4, keys=5)
    puts = [i for i, op in enumerate(ops) if op.kind == "put" and op.outcome == "ok"]
    first, last = ops[puts[0]], ops[puts[-1]]
    ops.append(Op("late", "get", first.key, first.value, last.ret + 1, last.ret + 2, "ok"))
    ops.append(Op("late", "put", first.key, "final", last.ret + 0.5, last.ret + 0.6, "ok"))
    assert check_history(ops).ok is False
