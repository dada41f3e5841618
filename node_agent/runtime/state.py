"""Durable records of sandboxes and containers under the runtime root (one JSON file each, replaced atomically).

``R/sandboxes/<id>/sandbox.json`` and ``R/containers/<id>/container.json`` (the container dir is also the shim's
bundle: spec.json, started.json, exit.json, upper/, work/, merged/, etc/). A restarted runtime reloads every record;
the files are the only truth, so nothing is duplicated or orphaned across restarts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def save(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    # compact: json's C encoder (an indent falls back to its pure-Python one, ~10x the CPU of a pod's records)
    tmp.write_text(json.dumps(record, separators=(",", ":"), sort_keys=True))
    os.replace(tmp, path)


def load_all(base: Path, filename: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    if not base.is_dir():
        return out
    for d in base.iterdir():
        f = d / filename
        try:
            out[d.name] = json.loads(f.read_text())
        except (OSError, ValueError):
            continue  # a record half-created when the runtime died: ignored (its dir is cleaned on remove)
    return out


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None
