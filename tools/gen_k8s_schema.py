"""Generate apiserver/schema/k8s_types.json from Kubernetes 1.32 API facts (run by hand; the output is committed).

Two inputs, both facts about the shape of the built-in types, no prose:
- the OpenAPI v2 document the official Python client 32.0.1 is generated from (``kubernetes/swagger.json.unprocessed``
  at tag v32.0.1 of github.com/kubernetes-client/python, e.g. the mirror the ``fetch`` tool makes). Every
  definition is kept with its structure (type, format, properties, required, items, additionalProperties, $ref and
  the x-kubernetes-* extensions: group-version-kind, list-type, list-map-keys, patch-merge-key, patch-strategy,
  map-type, int-or-string); descriptions are dropped (the apiserver writes its own short ones).
- the Go types of k8s.io/api, k8s.io/apimachinery and k8s.io/apiextensions-apiserver at v0.32.1 (mirrors of
  github.com/kubernetes/api, /apimachinery and /apiextensions-apiserver): only to learn each field's Go type as
  reflect prints it (``v1.RestartPolicy``, ``[]v1.ContainerPort``, ``v1.ResourceList``), which the real JSON
  decoder names in its "cannot unmarshal" errors. Stored as ``go_types``: definition -> field -> chain, where
  chain[0] is the field's type and each next entry is the element type one array/map level down; only chains that
  differ from what the OpenAPI type implies are kept.

The apiserver reads the JSON at run time and never imports ``kubernetes``.

Usage:
    python tools/gen_k8s_schema.py --client /work/.mirror/kubernetes-client+python/repo \
        --api /work/.mirror/kubernetes+api/repo --apimachinery /work/.mirror/kubernetes+apimachinery/repo \
        --apiextensions /work/.mirror/kubernetes+apiextensions-apiserver/repo
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path
from typing import Any

from apiserver.schema.decode import implied_chain

CLIENT_TAG = "v32.0.1"
GO_TAG = "v0.32.1"
OUT = Path(__file__).resolve().parent.parent / "apiserver" / "schema" / "k8s_types.json"
GO_BUILTINS = {"string", "bool", "int", "int32", "int64", "uint", "uint32", "uint64", "float32", "float64", "uint8",
               "byte"}


def git_show(repo: str, rev: str, path: str) -> str:
    return subprocess.run(["git", "--git-dir", _git_dir(repo), "show", f"{rev}:{path}"], check=True,
                          capture_output=True, text=True).stdout


def git_ls(repo: str, rev: str, path: str) -> list[str]:
    out = subprocess.run(["git", "--git-dir", _git_dir(repo), "ls-tree", "--name-only", f"{rev}:{path}"], check=True,
                         capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.endswith(".go") and not line.endswith("_test.go")]


def _git_dir(repo: str) -> str:
    p = Path(repo)
    return str(p / ".git") if (p / ".git").exists() else str(p)


def strip(schema: Any) -> Any:
    """Drop prose, keep structure (a *property* named "description" is structure and stays)."""
    if isinstance(schema, dict):
        return {k: ({name: strip(p) for name, p in v.items()} if k == "properties" and isinstance(v, dict)
                    else strip(v))
                for k, v in schema.items() if k != "description"}
    if isinstance(schema, list):
        return [strip(v) for v in schema]
    return schema


# --- Go types ------------------------------------------------------------------------------------------------
_STRUCT = re.compile(r"^type (\w+) struct \{\n(.*?)^\}", re.S | re.M)
_NAMED = re.compile(r"^type (\w+) ((?:\[\]|map\[|\*)?[\w.\[\]*]+)\s*$", re.M)
_FIELD = re.compile(r"^\s*(?:\w+\s+)?([\w.\[\]*]+)\s+`json:\"([^\",]*)")
_IMPORT = re.compile(r"^\s*(\w+)?\s*\"([\w./-]+)\"\s*$", re.M)


class GoPackage:
    def __init__(self, name: str) -> None:
        self.name = name                                  # package name as reflect prints it ("v1")
        self.structs: dict[str, dict[str, str]] = {}      # struct -> json name -> Go type expression
        self.named: dict[str, str] = {}                   # named non-struct type -> underlying expression
        self.imports: dict[str, str] = {}                 # alias -> package name


def load_package(repo: str, rev: str, path: str) -> GoPackage:
    pkg = GoPackage(path.rstrip("/").split("/")[-1])
    for f in git_ls(repo, rev, path):
        src = git_show(repo, rev, f"{path}/{f}")
        imp = re.search(r"^import \((.*?)^\)", src, re.S | re.M)
        for m in _IMPORT.finditer(imp.group(1) if imp else ""):
            alias, ipath = m.group(1), m.group(2)
            pkg.imports[alias or ipath.split("/")[-1]] = ipath.split("/")[-1]
        for m in _NAMED.finditer(src):
            pkg.named[m.group(1)] = m.group(2)
        for m in _STRUCT.finditer(src):
            fields: dict[str, str] = {}
            for line in m.group(2).splitlines():
                fm = _FIELD.match(line)
                if fm and fm.group(2):
                    fields[fm.group(2)] = fm.group(1)
            pkg.structs[m.group(1)] = fields
    return pkg


def go_chain(pkg: GoPackage, expr: str, packages: dict[str, GoPackage]) -> list[str]:
    """Type names as reflect prints them: the type, then its element type one level down, and so on."""
    expr = expr.lstrip("*")
    out = [go_string(pkg, expr)]
    under = expr
    owner = pkg
    for _ in range(4):
        if "." not in under and under in owner.named:
            under = owner.named[under].lstrip("*")
        if under.startswith("[]") and under != "[]byte":
            under = under[2:].lstrip("*")
        elif under.startswith("map["):
            depth, i = 0, 3
            for i in range(3, len(under)):
                depth += under[i] == "["
                depth -= under[i] == "]"
                if depth == 0:
                    break
            under = under[i + 1:].lstrip("*")
        else:
            break
        out.append(go_string(owner, under))
    return out


def go_string(pkg: GoPackage, expr: str) -> str:
    expr = expr.lstrip("*")
    if expr.startswith("[]"):
        return "[]" + go_string(pkg, expr[2:])
    if expr.startswith("map["):
        depth = 0
        for i in range(3, len(expr)):
            depth += expr[i] == "["
            depth -= expr[i] == "]"
            if depth == 0:
                return "map[" + go_string(pkg, expr[4:i]) + "]" + go_string(pkg, expr[i + 1:])
    if expr in GO_BUILTINS:
        return "uint8" if expr == "byte" else expr
    if "." in expr:
        alias, name = expr.split(".", 1)
        return f"{pkg.imports.get(alias, alias)}.{name}"
    return f"{pkg.name}.{expr}"


def go_package_path(defname: str) -> tuple[str, str] | None:
    if defname.startswith("io.k8s.api."):
        parts = defname.split(".")
        return "api", "/".join(parts[3:-1])
    if defname.startswith("io.k8s.apimachinery.pkg.apis.meta.v1."):
        return "apimachinery", "pkg/apis/meta/v1"
    if defname.startswith("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1."):
        return "apiextensions", "pkg/apis/apiextensions/v1"
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--client", required=True, help="git dir of github.com/kubernetes-client/python")
    ap.add_argument("--api", required=True, help="git dir of github.com/kubernetes/api")
    ap.add_argument("--apimachinery", required=True, help="git dir of github.com/kubernetes/apimachinery")
    ap.add_argument("--apiextensions", help="git dir of github.com/kubernetes/apiextensions-apiserver (optional)")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()

    swagger = json.loads(git_show(args.client, CLIENT_TAG, "kubernetes/swagger.json.unprocessed"))
    defs = {name: strip(d) for name, d in sorted(swagger["definitions"].items())}

    repos = {"api": args.api, "apimachinery": args.apimachinery, "apiextensions": args.apiextensions}
    packages: dict[str, GoPackage] = {}
    go_types: dict[str, dict[str, list[str]]] = {}
    for name, d in defs.items():
        where = go_package_path(name)
        if where is None:
            continue
        key = "/".join(where)
        if key not in packages:
            if repos[where[0]] is None:
                continue
            try:
                packages[key] = load_package(repos[where[0]], GO_TAG, where[1])
            except subprocess.CalledProcessError:
                packages[key] = GoPackage(where[1].split("/")[-1])
        pkg = packages[key]
        fields = pkg.structs.get(name.rsplit(".", 1)[-1], {})
        for prop, ps in (d.get("properties") or {}).items():
            expr = fields.get(prop)
            if expr is None:
                continue
            chain = go_chain(pkg, expr, packages)
            if chain != implied_chain(ps)[:len(chain)]:
                go_types.setdefault(name, {})[prop] = chain

    doc = {"source": f"kubernetes-client/python@{CLIENT_TAG} swagger (descriptions dropped); Go type names from "
                     f"kubernetes/api, kubernetes/apimachinery, kubernetes/apiextensions-apiserver @{GO_TAG}",
           "definitions": defs, "go_types": go_types}
    with open(args.out, "w") as f:
        f.write("{\n")
        f.write(f'"source": {json.dumps(doc["source"])},\n')
        f.write('"definitions": {\n')
        f.write(",\n".join(f"{json.dumps(k)}: {json.dumps(v, sort_keys=True, separators=(',', ':'))}"
                           for k, v in defs.items()))
        f.write("\n},\n")
        f.write('"go_types": {\n')
        f.write(",\n".join(f"{json.dumps(k)}: {json.dumps(v, sort_keys=True, separators=(',', ':'))}"
                           for k, v in sorted(go_types.items())))
        f.write("\n}\n}\n")
    print(f"wrote {args.out}: {len(defs)} definitions, {len(go_types)} with Go type overrides")


if __name__ == "__main__":
    main()
