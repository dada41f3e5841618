"""Generate Python code from the project's own .proto files.

Each .proto lives under proto/ at the path of the Python package it generates into (proto/etcd_raft/pb/rpc.proto ->
etcd_raft/pb/rpc_pb2.py), so generated imports are package-absolute. The protobuf *package* names inside the files
(etcdserverpb, mvccpb, runtime.v1) are what goes on the wire and match etcd and the CRI exactly.

Usage: python proto/generate.py          regenerate in place
       python proto/generate.py --check  exit 1 if the committed generated files differ from a fresh generation
"""

from __future__ import annotations

import filecmp
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def _protos() -> list[Path]:
    return sorted(PROTO_DIR.rglob("*.proto"))


def generate(out_dir: Path) -> list[Path]:
    """Compile every .proto into out_dir; return the generated file paths relative to out_dir."""
    include = str(Path(protoc.__file__).parent / "_proto")
    files = [str(p.relative_to(PROTO_DIR)) for p in _protos()]
    if not files:
        return []
    args = [
        "protoc",
        f"-I{PROTO_DIR}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    return sorted(Path(f.removesuffix(".proto") + suffix) for f in files for suffix in SUFFIXES)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    if not check:
        for rel in generate(ROOT):
            print(f"generated {rel}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        stale = [rel for rel in fresh
                 if not (ROOT / rel).exists() or not filecmp.cmp(Path(tmp) / rel, ROOT / rel, shallow=False)]
        out_dirs = {ROOT / r.parent for r in fresh}
        committed = {p.relative_to(ROOT) for d in out_dirs for p in d.glob("*") if p.name.endswith(SUFFIXES)}
        orphans = sorted(committed - set(fresh))
    if stale or orphans:
        for rel in stale:
            print(f"stale generated file: {rel} (run `make proto`)")
        for rel in orphans:
            print(f"generated file without a .proto: {rel}")
        return 1
    print(f"generated code is current ({len(fresh)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
