"""Seeded random strategic merge patches on Pods (merge-keyed lists with nested keyed lists, $patch delete and
replace, $setElementOrder at two levels, primitive sets with $deleteFromPrimitiveList, nulls), each applied by
``kubectl patch --local`` and by us: results and failures must agree.

One combination is left out on purpose: a primitive list and its ``$deleteFromPrimitiveList`` in the same patch,
whose result depends on Go's randomised map iteration order (kubectl itself answers either way).
"""

from __future__ import annotations

import random
import shutil
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.integration.apiserver_patch.test_vs_kubectl import _kubectl, _ours

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")]

NAMES = ["a", "b", "c", "d", "e"]
Obj = dict[str, Any]


def _container(rng: random.Random, name: str) -> Obj:
    c: Obj = {"name": name}
    if rng.random() < 0.7:
        c["image"] = rng.choice(["x", "y", "z"])
    if rng.random() < 0.5:
        c["env"] = [{"name": n, "value": rng.choice(["1", "2"])} for n in rng.sample(NAMES, rng.randint(0, 3))]
    if rng.random() < 0.3:
        c["args"] = rng.sample(NAMES, rng.randint(0, 3))
    return c


def _pod(rng: random.Random) -> Obj:
    spec: Obj = {"containers": [_container(rng, n) for n in rng.sample(NAMES, rng.randint(1, 4))]}
    meta: Obj = {"name": "p"}
    if rng.random() < 0.5:
        meta["finalizers"] = rng.sample(NAMES, rng.randint(0, 4))
    if rng.random() < 0.5:
        meta["labels"] = {n: "v" for n in rng.sample(NAMES, rng.randint(0, 3))}
    if rng.random() < 0.3:
        spec["tolerations"] = [{"key": n} for n in rng.sample(NAMES, 2)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def _patch(rng: random.Random, live: Obj) -> Obj:
    patch: Obj = {}
    spec: Obj = {}
    if rng.random() < 0.8:
        items: list[Obj] = []
        for n in rng.sample(NAMES, rng.randint(0, 4)):
            if rng.random() < 0.15:
                items.append({"name": n, "$patch": "delete"})
                continue
            c = _container(rng, n)
            if rng.random() < 0.2 and "env" in c:
                c["$setElementOrder/env"] = [{"name": e["name"]} for e in c["env"]]
            items.append(c)
        if rng.random() < 0.1:
            items.insert(rng.randint(0, len(items)), {"$patch": "replace"})
        spec["containers"] = items
        if rng.random() < 0.4:
            order = [i["name"] for i in items if "$patch" not in i]
            extra = [c["name"] for c in live["spec"]["containers"] if c["name"] not in order]
            rng.shuffle(extra)
            for e in extra:
                if rng.random() < 0.6:
                    order.insert(rng.randint(0, len(order)), e)
            spec["$setElementOrder/containers"] = [{"name": n} for n in order]
    if rng.random() < 0.2:
        spec["tolerations"] = [{"key": "q"}]
    if spec:
        patch["spec"] = spec
    meta: Obj = {}
    if rng.random() < 0.4:
        meta["finalizers"] = rng.sample(NAMES, rng.randint(0, 3))
    elif rng.random() < 0.3:
        meta["$deleteFromPrimitiveList/finalizers"] = rng.sample(NAMES, rng.randint(1, 2))
    if rng.random() < 0.2:
        meta["$setElementOrder/finalizers"] = rng.sample(NAMES, rng.randint(1, 4))
    if rng.random() < 0.3:
        meta["labels"] = {n: rng.choice(["w", None]) for n in rng.sample(NAMES, 2)}
    if meta:
        patch["metadata"] = meta
    return patch


# The default run checks a few cases of each kind; the slow run (``-m slow``) many more, with other seeds.
DEFAULT_CASES, SLOW_CASES = 20, 400
RUNS = [pytest.param(0, DEFAULT_CASES, id="default"),
        pytest.param(1, SLOW_CASES, id="many", marks=pytest.mark.slow)]


@pytest.mark.parametrize(("seed", "count"), RUNS)
def test_random_strategic_patches_match_kubectl(seed: int, count: int) -> None:
    rng = random.Random(20261123 + seed)
    cases = []
    for _ in range(count):
        live = _pod(rng)
        cases.append((live, _patch(rng, live)))
    with ThreadPoolExecutor(max_workers=4) as pool:
        expected = list(pool.map(lambda c: _kubectl(c[0], c[1], "strategic"), cases))
    mismatches = []
    for (live, patch), (want, want_err) in zip(cases, expected, strict=True):
        got, got_err = _ours(live, patch, "strategic")
        if (got is None) != (want is None) or got != want:
            mismatches.append(f"live {live}\npatch {patch}\nkubectl {want if want is not None else want_err}\n"
                              f"ours {got if got is not None else got_err}")
    assert not mismatches, f"{len(mismatches)} of {len(cases)}:\n" + "\n\n".join(mismatches[:3])


def _value(rng: random.Random, depth: int = 2) -> Any:
    r = rng.random()
    if depth == 0 or r < 0.5:
        return rng.choice(["s", 1, 1.0, True, None, "t"])
    if r < 0.75:
        return {rng.choice("abc"): _value(rng, depth - 1) for _ in range(rng.randint(0, 2))}
    return [_value(rng, depth - 1) for _ in range(rng.randint(0, 3))]


def _pointer(rng: random.Random) -> str:
    tokens = ["a", "b", "c", "0", "1", "2", "-", "-1", "-2", "01", "x~1y", "~0"]
    return "/data" + "".join("/" + rng.choice(tokens) for _ in range(rng.randint(0, 2)))


@pytest.mark.parametrize(("seed", "count"), RUNS)
def test_random_json_patches_match_kubectl(seed: int, count: int) -> None:
    """Operations on objects, arrays, escapes, negative and malformed indices. Left out: the root pointer (kubectl
    then fails decoding the kind-less result) and ``test`` without a value on a missing member (Go crashes)."""
    rng = random.Random(6902 + seed)
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
           "data": {"a": [1, 2, {"b": "c"}], "b": {"c": [True]}, "x/y": "1", "~": 2}}
    cases = []
    for _ in range(count):
        ops = []
        for _ in range(rng.randint(1, 3)):
            op: Obj = {"op": rng.choice(["add", "remove", "replace", "move", "copy", "test"]), "path": _pointer(rng)}
            if op["op"] in ("move", "copy"):
                op["from"] = _pointer(rng)
            if op["op"] in ("add", "replace", "test"):
                op["value"] = _value(rng)
            ops.append(op)
        cases.append(ops)
    with ThreadPoolExecutor(max_workers=4) as pool:
        expected = list(pool.map(lambda ops: _kubectl(doc, ops, "json"), cases))
    mismatches = []
    for ops, (want, want_err) in zip(cases, expected, strict=True):
        got, got_err = _ours(doc, ops, "json")
        if (got is None) != (want is None) or got != want:
            mismatches.append(f"ops {ops}\nkubectl {want if want is not None else want_err}\n"
                              f"ours {got if got is not None else got_err}")
    assert not mismatches, f"{len(mismatches)} of {len(cases)}:\n" + "\n\n".join(mismatches[:3])


@pytest.mark.parametrize(("seed", "count"), RUNS)
def test_random_merge_patches_match_kubectl(seed: int, count: int) -> None:
    rng = random.Random(7386 + seed)

    def value(depth: int = 3) -> Any:
        r = rng.random()
        if depth == 0 or r < 0.45:
            return rng.choice(["s", 1, 1.5, True, None, "t"])
        if r < 0.8:
            return {rng.choice("abcd"): value(depth - 1) for _ in range(rng.randint(0, 3))}
        return [value(depth - 1) for _ in range(rng.randint(0, 3))]

    cases = []
    for _ in range(count):
        data = value()
        doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
               "data": data if isinstance(data, dict) else {"a": data}}
        cases.append((doc, {"data": value()}))
    with ThreadPoolExecutor(max_workers=4) as pool:
        expected = list(pool.map(lambda c: _kubectl(c[0], c[1], "merge"), cases))
    mismatches = [f"doc {doc}\npatch {patch}\nkubectl {want}\nours {_ours(doc, patch, 'merge')[0]}"
                  for (doc, patch), (want, _) in zip(cases, expected, strict=True)
                  if _ours(doc, patch, "merge")[0] != want]
    assert not mismatches, f"{len(mismatches)} of {len(cases)}:\n" + "\n\n".join(mismatches[:3])
