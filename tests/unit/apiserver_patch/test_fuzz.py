"""Seeded fuzz: random documents and patches never make the library raise anything but its typed errors (a
stray exception would become a 500 in the apiserver), and never modify their inputs."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from apiserver.patch import (
    ApplyConflict,
    PatchError,
    builtin_patch_meta,
    json_patch,
    merge_patch,
    server_side_apply,
    strategic_merge_patch,
    update_managed_fields,
)

pytestmark = pytest.mark.unit

KEYS = ["spec", "metadata", "labels", "containers", "name", "image", "ports", "containerPort", "finalizers",
        "$patch", "$retainKeys", "$setElementOrder/containers", "$deleteFromPrimitiveList/finalizers", "env",
        "template", "tolerations", "status", "conditions", "type", "selector", "replicas", "managedFields"]
SCALARS: list[Any] = [None, True, 0, 1, 2.5, "", "a", "web", "delete", "replace", "merge", "~1", "-"]


def value(rng: random.Random, depth: int) -> Any:
    r = rng.random()
    if depth <= 0 or r < 0.4:
        return rng.choice(SCALARS)
    if r < 0.75:
        return {rng.choice(KEYS): value(rng, depth - 1) for _ in range(rng.randint(0, 4))}
    return [value(rng, depth - 1) for _ in range(rng.randint(0, 3))]


def doc(rng: random.Random) -> dict[str, Any]:
    d = value(rng, 4)
    return d if isinstance(d, dict) else {"spec": d}


def pointer(rng: random.Random) -> str:
    return "".join("/" + rng.choice([*KEYS, "0", "1", "-", "-1", "01", "x~1y"]) for _ in range(rng.randint(0, 3)))


def ops(rng: random.Random) -> list[Any]:
    out: list[Any] = []
    for _ in range(rng.randint(0, 4)):
        op: dict[str, Any] = {"op": rng.choice(["add", "remove", "replace", "move", "copy", "test", "nope"]),
                              "path": pointer(rng)}
        if rng.random() < 0.8:
            op["value"] = value(rng, 2)
        if rng.random() < 0.5:
            op["from"] = pointer(rng)
        out.append(op if rng.random() < 0.95 else rng.choice(SCALARS))
    return out


def calls(rng: random.Random, live: dict[str, Any], other: dict[str, Any]) -> list[Any]:
    meta = builtin_patch_meta("apps", "Deployment")
    force = rng.random() < 0.5
    patch_ops = ops(rng)
    return [lambda: json_patch(live, patch_ops),
            lambda: merge_patch(live, other),
            lambda: strategic_merge_patch(live, other, meta),
            lambda: server_side_apply(live, other, "m", "apps/v1", force, meta, "t"),
            lambda: update_managed_fields(live, copy.deepcopy(other), "m", "Update", "apps/v1", meta, "t")]


@pytest.mark.parametrize("seed", range(4))
def test_only_typed_errors(seed: int) -> None:
    rng = random.Random(seed)
    for i in range(500):
        live, other = doc(rng), doc(rng)
        frozen = copy.deepcopy((live, other))
        for fn in calls(rng, live, other):
            try:
                fn()
            except (PatchError, ApplyConflict):
                pass
            except Exception as e:  # pragma: no cover - the assertion names the input
                raise AssertionError(f"seed {seed} case {i}: {type(e).__name__}: {e}\nlive={live}\nother={other}") \
                    from e
        assert (live, other) == frozen
