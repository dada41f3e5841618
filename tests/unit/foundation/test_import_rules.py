"""DESIGN.md's import rules, checked statically over the source tree (AST, no imports executed).

- controllers/ and node_agent/ import neither apiserver nor etcd_raft (they talk to the apiserver over REST);
- apiserver/ imports from etcd_raft only its client (etcd_raft.client);
- etcd_raft/ imports no other package of the project;
- kemu's shared helpers (kemu/api, kemu/rest.py) import no component;
- only etcd_raft/raftlog imports pysyncobj.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
COMPONENTS = {"etcd_raft", "apiserver", "controllers", "node_agent", "kemu"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _sources(*parts: str) -> list[Path]:
    root = REPO.joinpath(*parts)
    if root.is_file():
        return [root]
    return [p for p in root.rglob("*.py") if not p.name.endswith(("_pb2.py", "_pb2_grpc.py"))]


def _violations(files: list[Path], allowed: Callable[[str], bool]) -> list[str]:
    bad = []
    for f in files:
        for name in _imports(f):
            if not allowed(name):
                bad.append(f"{f.relative_to(REPO)} imports {name}")
    return bad


def _top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("package", ["controllers", "node_agent"])
def test_clients_of_the_apiserver_do_not_import_server_side_packages(package: str) -> None:
    assert _violations(_sources(package), lambda n: _top(n) not in {"apiserver", "etcd_raft"}) == []


def test_apiserver_uses_only_the_etcd_client() -> None:
    def allowed(name: str) -> bool:
        return _top(name) != "etcd_raft" or name == "etcd_raft.client" or name.startswith("etcd_raft.client.")

    assert _violations(_sources("apiserver"), allowed) == []


def test_etcd_raft_imports_no_other_component() -> None:
    assert _violations(_sources("etcd_raft"), lambda n: _top(n) not in COMPONENTS - {"etcd_raft"}) == []


def test_shared_helpers_import_no_component() -> None:
    files = _sources("kemu", "api") + ([REPO / "kemu" / "rest.py"] if (REPO / "kemu" / "rest.py").exists() else [])
    assert _violations(files, lambda n: _top(n) not in COMPONENTS - {"kemu"}) == []


def test_only_the_replicated_log_imports_pysyncobj() -> None:
    everything = [p for pkg in sorted(COMPONENTS) for p in _sources(pkg)]
    raftlog = REPO / "etcd_raft" / "raftlog"
    offenders = [f for f in everything if raftlog not in f.parents and "pysyncobj" in map(_top, _imports(f))]
    assert offenders == []


def test_generated_protobuf_code_is_current() -> None:
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(REPO / "proto" / "generate.py"), "--check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
