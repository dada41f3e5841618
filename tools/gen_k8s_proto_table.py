"""Generate apiserver/protobuf/_table.py from the Kubernetes API sources (run by hand; the output is committed).

Inputs are two git directories (bare or not) of github.com/kubernetes/api and github.com/kubernetes/apimachinery
(for example the mirrors the `fetch` tool makes); files are read with `git show <rev>:<path>`, so no work tree
is needed.

Two sources are combined per message:
- `generated.proto` gives each field's number, protobuf type (scalar, message, map) and repetition;
- the Go types (`*.go` next to it) give what protobuf cannot: the JSON name and `omitempty` from the `json:` tag,
  whether the Go field is a pointer (present-on-the-wire means set, even when zero), whether a Go-embedded struct
  is inlined into its parent's JSON (`json:",inline"`), which structs are API kinds (they embed TypeMeta), and
  which messages are Go slice types wrapped in a message (`type ExtraValue []string` -> `message ExtraValue
  { repeated string items = 1; }`, a plain JSON array).

Usage:
    python tools/gen_k8s_proto_table.py --api /work/.mirror/kubernetes+api/repo \
        --apimachinery /work/.mirror/kubernetes+apimachinery/repo --rev v0.32.13 [--out apiserver/protobuf/_table.py] \
        [--verify-with-protoc]

The committed table is generated from the release matching the Kubernetes minor the apiserver reports (1.32):
a field a 1.32 server does not know is skipped, as the real one skips unknown fields.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

# Group/version directories of k8s.io/api that the table covers: every GA version kubectl's typed clients send.
API_PACKAGES = (
    "core/v1", "apps/v1", "batch/v1", "autoscaling/v1", "autoscaling/v2", "policy/v1", "networking/v1",
    "discovery/v1", "coordination/v1", "events/v1", "storage/v1", "rbac/v1", "scheduling/v1",
    "authentication/v1", "authorization/v1", "admissionregistration/v1", "certificates/v1", "flowcontrol/v1",
    "node/v1",
)
MACHINERY_PACKAGES = ("pkg/apis/meta/v1", "pkg/api/resource", "pkg/util/intstr", "pkg/runtime", "pkg/runtime/schema")

SCALARS = {"string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32",
           "fixed64", "sfixed32", "sfixed64", "double", "float"}


@dataclass
class ProtoField:
    number: int
    name: str
    type: str          # scalar name, fully qualified message name, or "map:<key>:<value>"
    repeated: bool


@dataclass
class GoField:
    json_name: str | None  # None: `json:"-"`
    omitempty: bool
    pointer: bool
    inline: bool
    go_name: str = ""  # the Go field name (an embedded struct's is its type name), used in decode errors


@dataclass
class Package:
    proto_package: str
    go_package: str
    group_version: str | None  # "apps/v1", "v1"; None for apimachinery packages
    messages: dict[str, list[ProtoField]] = field(default_factory=dict)
    go_fields: dict[tuple[str, int], GoField] = field(default_factory=dict)
    kinds: set[str] = field(default_factory=set)
    slice_types: set[str] = field(default_factory=set)


def git_show(repo: str, rev: str, path: str) -> str:
    return subprocess.run(["git", "-C", repo, "show", f"{rev}:{path}"], check=True, capture_output=True,
                          text=True).stdout


def git_ls(repo: str, rev: str, directory: str) -> list[str]:
    out = subprocess.run(["git", "-C", repo, "ls-tree", "--name-only", rev, directory + "/"], check=True,
                         capture_output=True, text=True).stdout
    return out.split()


# ---------------------------------------------------------------------------------------------- proto parsing

_TOKEN = re.compile(r'"[^"]*"|[A-Za-z_][\w.]*|\d+|[{}<>;=,\[\]()]')


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def parse_proto(text: str) -> tuple[str, dict[str, list[ProtoField]]]:
    """Package name and messages (nested ones as Outer.Inner) of one proto2 file as go-to-protobuf writes them."""
    toks = _TOKEN.findall(_strip_comments(text))
    package = ""
    messages: dict[str, list[ProtoField]] = {}
    stack: list[str] = []
    i = 0

    def qualify(t: str) -> str:
        if t in SCALARS or "." in t:
            return t
        return f"{package}.{t}"

    while i < len(toks):
        t = toks[i]
        if t == "package":
            package = toks[i + 1]
            i += 3
        elif t in ("syntax", "import", "option"):
            while toks[i] != ";":
                i += 1
            i += 1
        elif t == "message":
            stack.append(toks[i + 1])
            messages[".".join([package, *stack])] = []
            i += 3
        elif t == "}":
            stack.pop()
            i += 1
        elif t in ("optional", "repeated", "required") and stack:
            typ, name, num = toks[i + 1], toks[i + 2], int(toks[i + 4])
            messages[".".join([package, *stack])].append(ProtoField(num, name, qualify(typ), t == "repeated"))
            i += 5
            while toks[i] != ";":  # field options such as [default = ...]
                i += 1
            i += 1
        elif t == "map" and stack:
            # map < K , V > name = N ;
            key, value, name, num = toks[i + 2], toks[i + 4], toks[i + 6], int(toks[i + 8])
            messages[".".join([package, *stack])].append(ProtoField(num, name, f"map:{key}:{qualify(value)}", False))
            i += 10
        elif t == "reserved":
            while toks[i] != ";":
                i += 1
            i += 1
        else:
            raise SystemExit(f"unexpected token {t!r} in proto package {package}")
    return package, messages


# ------------------------------------------------------------------------------------------------- Go parsing

_STRUCT = re.compile(r"^type\s+(\w+)\s+struct\s*{\s*$")
_SLICE_TYPE = re.compile(r"^type\s+(\w+)\s+\[\]\S+\s*$")
_FIELD = re.compile(r"^(?:(\w+)\s+)?([^\s`]+)\s+`([^`]*)`")
_TAG = re.compile(r'(\w+):"([^"]*)"')


def parse_go(text: str, pkg: Package) -> None:
    """Record json names/omitempty/pointer/inline per (struct, proto field number), kinds and slice types."""
    struct: str | None = None
    for line in text.splitlines():
        if struct is None:
            m = _STRUCT.match(line)
            if m:
                struct = m.group(1)
                continue
            m = _SLICE_TYPE.match(line)
            if m:
                pkg.slice_types.add(m.group(1))
            continue
        if line.startswith("}"):
            struct = None
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("//"):
            continue
        m = _FIELD.match(stripped)
        if not m:
            continue
        name, gotype, tag = m.groups()
        tags = dict(_TAG.findall(tag))
        json_tag = tags.get("json", "")
        json_parts = json_tag.split(",")
        # An embedded struct without a JSON name is promoted into its parent (`json:",inline"` or `json:""`).
        embedded_inline = name is None and json_parts[0] == ""
        if embedded_inline and gotype.split(".")[-1] == "TypeMeta":
            pkg.kinds.add(struct)
        proto = tags.get("protobuf")
        parts = (proto or "").split(",")
        if len(parts) < 2 or not parts[1].isdigit():
            continue  # no protobuf tag, or `protobuf:"-"`
        number = int(parts[1])
        inline = "inline" in json_parts[1:] or embedded_inline
        json_name: str | None = json_parts[0] or None
        if json_name is None and not inline:
            json_name = name  # no json tag name: Go uses the field name
        if json_tag == "-":
            json_name = None
        pkg.go_fields[(struct, number)] = GoField(
            json_name=json_name, omitempty="omitempty" in json_parts[1:] or "omitzero" in json_parts[1:],
            pointer=gotype.startswith("*"), inline=inline,
            go_name=name or gotype.lstrip("*").split(".")[-1])


def load_package(repo: str, rev: str, directory: str, go_prefix: str, group_version: str | None) -> Package:
    proto_package, messages = parse_proto(git_show(repo, rev, f"{directory}/generated.proto"))
    pkg = Package(proto_package=proto_package, go_package=f"{go_prefix}/{directory}", group_version=group_version,
                  messages=messages)
    for path in git_ls(repo, rev, directory):
        base = path.rsplit("/", 1)[-1]
        if (not base.endswith(".go") or base.endswith("_test.go") or base.startswith("zz_generated")
                or base.startswith("generated.") or base.endswith("_doc_generated.go")):
            continue
        parse_go(git_show(repo, rev, path), pkg)
    return pkg


def group_version_of(repo: str, rev: str, directory: str) -> str:
    register = git_show(repo, rev, f"{directory}/register.go")
    m = re.search(r'^\s*(?:const\s+)?GroupName\s*=\s*"([^"]*)"', register, flags=re.M)
    if m is None:
        m = re.search(r"^// \+groupName=(\S*)\s*$", git_show(repo, rev, f"{directory}/doc.go"), flags=re.M)
    group = m.group(1) if m else ""
    version = directory.rsplit("/", 1)[-1]
    return f"{group}/{version}" if group else version


# ------------------------------------------------------------------------------------------------------ output

def field_flags(proto: ProtoField, go: GoField | None) -> str:
    flags = "r" if proto.repeated else ""
    if go is None:
        # No Go information: plain protobuf semantics (absent -> omitted, present -> kept).
        return flags + "op"
    if go.inline:
        flags += "i"
    if go.omitempty:
        flags += "o"
    if go.pointer:
        flags += "p"
    return flags


def render(packages: list[Package], source_note: str) -> str:
    out = [
        '"""GENERATED by tools/gen_k8s_proto_table.py -- do not edit by hand.',
        "",
        f"Source: {source_note}.",
        "MESSAGES: message -> fields (number, JSON name, type, flags). Type: a protobuf scalar, a fully qualified",
        "message, or 'map:<key type>:<value type>'. Flags: r repeated, i inlined into the parent's JSON (Go",
        "embedding), o omitempty, p Go pointer (set when present on the wire, even if zero).",
        "GROUP_VERSIONS: apiVersion -> protobuf package; KINDS: messages that are API kinds (embed TypeMeta);",
        "SLICE_MESSAGES: Go slice types wrapped as {repeated items = 1}, JSON arrays.",
        "GO_NAMES: (message, field number) -> Go field name where it is not the JSON name capitalised (errors).",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "Field = tuple[int, str, str, str]",
        "",
        "GROUP_VERSIONS: dict[str, str] = {",
    ]
    for pkg in packages:
        if pkg.group_version:
            out.append(f"    {pkg.group_version!r}: {pkg.proto_package!r},")
    out.append("}")
    out.append("")
    out.append("KINDS: frozenset[str] = frozenset({")
    for pkg in packages:
        for kind in sorted(pkg.kinds):
            if f"{pkg.proto_package}.{kind}" in pkg.messages:
                out.append(f"    {pkg.proto_package + '.' + kind!r},")
    out.append("})")
    out.append("")
    out.append("SLICE_MESSAGES: frozenset[str] = frozenset({")
    for pkg in packages:
        for name in sorted(pkg.slice_types):
            if f"{pkg.proto_package}.{name}" in pkg.messages:
                out.append(f"    {pkg.proto_package + '.' + name!r},")
    out.append("})")
    out.append("")
    out.append("GO_NAMES: dict[tuple[str, int], str] = {")
    for pkg in packages:
        for (struct, number), gofield in sorted(pkg.go_fields.items()):
            full = f"{pkg.proto_package}.{struct}"
            if full not in pkg.messages or not gofield.go_name:
                continue
            json_name = gofield.json_name or ""
            if gofield.go_name != json_name[:1].upper() + json_name[1:]:
                out.append(f"    ({full!r}, {number}): {gofield.go_name!r},")
    out.append("}")
    out.append("")
    out.append("MESSAGES: dict[str, tuple[Field, ...]] = {")
    for pkg in packages:
        for full, fields in sorted(pkg.messages.items()):
            short = full[len(pkg.proto_package) + 1:]
            out.append(f"    {full!r}: (")
            for f in sorted(fields, key=lambda f: f.number):
                go = pkg.go_fields.get((short, f.number))
                json_name = f.name
                if go is not None:
                    if go.json_name is None and not go.inline:
                        continue  # json:"-": never in JSON
                    json_name = go.json_name or f.name
                line = f"        ({f.number}, {json_name!r}, {f.type!r}, {field_flags(f, go)!r}),"
                if len(line) > 120:  # keep within the project's line length
                    out.append(f"        ({f.number}, {json_name!r},")
                    line = f"         {f.type!r}, {field_flags(f, go)!r}),"
                out.append(line)
            out.append("    ),")
    out.append("}")
    return "\n".join(out) + "\n"


def _add_referenced(packages: list[Package], api: str, machinery: str, rev: str) -> None:
    """Load packages that covered messages refer to (e.g. an alpha group's type used by a GA field) as type
    sources only: their kinds are not served, so they get no GROUP_VERSIONS entry."""
    while True:
        known = {name for p in packages for name in p.messages}
        wanted = set()
        for p in packages:
            for fields in p.messages.values():
                for f in fields:
                    target = f.type.rsplit(":", 1)[-1]
                    if "." in target and target not in known:
                        wanted.add(target.rsplit(".", 1)[0])
        if not wanted:
            return
        for proto_package in sorted(wanted):
            if proto_package.startswith("k8s.io.api."):
                directory = proto_package[len("k8s.io.api."):].replace(".", "/")
                packages.append(load_package(api, rev, directory, "k8s.io/api", None))
            elif proto_package.startswith("k8s.io.apimachinery."):
                directory = proto_package[len("k8s.io.apimachinery."):].replace(".", "/")
                packages.append(load_package(machinery, rev, directory, "k8s.io/apimachinery", None))
            else:
                raise SystemExit(f"no source for referenced protobuf package {proto_package}")


_DESCRIPTOR_TYPES = {1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 6: "fixed64", 7: "fixed32",
                     8: "bool", 9: "string", 12: "bytes", 13: "uint32", 15: "sfixed32", 16: "sfixed64", 17: "sint32",
                     18: "sint64"}


def verify_with_protoc(packages: list[Package], api: str, machinery: str, rev: str) -> int:
    """Compile the same generated.proto files with protoc (grpcio-tools) and compare every field's number, type
    and repetition with this script's own parse. Returns the number of differences (printed)."""
    import tempfile

    from google.protobuf import descriptor_pb2
    from grpc_tools import protoc

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = []
        for pkg in packages:
            repo, prefix = (api, "k8s.io/api/") if pkg.go_package.startswith("k8s.io/api/") else (
                machinery, "k8s.io/apimachinery/")
            directory = pkg.go_package[len(prefix):]
            target = root / pkg.go_package / "generated.proto"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(git_show(repo, rev, f"{directory}/generated.proto"))
            files.append(str(target.relative_to(root)))
        for extra in ("pkg/runtime/schema",):  # imported by many files, no messages we use
            target = root / "k8s.io/apimachinery" / extra / "generated.proto"
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(git_show(machinery, rev, f"{extra}/generated.proto"))
        out = root / "all.pb"
        if protoc.main(["protoc", f"-I{root}", f"--descriptor_set_out={out}", "--include_imports", *files]) != 0:
            print("protoc failed", file=sys.stderr)
            return 1
        fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    described: dict[str, descriptor_pb2.DescriptorProto] = {}

    def walk(prefix: str, messages: list[descriptor_pb2.DescriptorProto]) -> None:
        for mt in messages:
            described[f"{prefix}.{mt.name}"] = mt
            walk(f"{prefix}.{mt.name}", list(mt.nested_type))

    for f in fds.file:
        walk(f.package, list(f.message_type))
    differences = 0
    for pkg in packages:
        for full, fields in pkg.messages.items():
            mt = described.get(full)
            if mt is None:
                print(f"protoc has no message {full}", file=sys.stderr)
                differences += 1
                continue
            mine = {f.number: f for f in fields}
            for fd in mt.field:
                expected_repeated = fd.label == fd.LABEL_REPEATED
                if fd.type == fd.TYPE_MESSAGE:
                    type_name = fd.type_name.lstrip(".")
                    entry = described.get(type_name)
                    if entry is not None and entry.options.map_entry:
                        key, value = entry.field[0], entry.field[1]
                        value_type = (value.type_name.lstrip(".") if value.type == fd.TYPE_MESSAGE
                                      else _DESCRIPTOR_TYPES[value.type])
                        expected, expected_repeated = f"map:{_DESCRIPTOR_TYPES[key.type]}:{value_type}", False
                    else:
                        expected = type_name
                else:
                    expected = _DESCRIPTOR_TYPES[fd.type]
                got = mine.get(fd.number)
                if got is None or got.type != expected or got.repeated != expected_repeated:
                    print(f"{full}.{fd.name}: parsed {got}, protoc {expected} repeated={expected_repeated}",
                          file=sys.stderr)
                    differences += 1
    print(f"protoc check: {sum(len(p.messages) for p in packages)} messages, {differences} differences",
          file=sys.stderr)
    return differences


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--api", required=True, help="git directory of github.com/kubernetes/api")
    ap.add_argument("--apimachinery", required=True, help="git directory of github.com/kubernetes/apimachinery")
    ap.add_argument("--rev", default="v0.32.13", help="tag or commit in both repositories")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "apiserver/protobuf/_table.py"))
    ap.add_argument("--verify-with-protoc", action="store_true",
                    help="also compile the protos with protoc (grpcio-tools) and compare with this parser")
    args = ap.parse_args(argv)
    packages = []
    for d in MACHINERY_PACKAGES:
        packages.append(load_package(args.apimachinery, args.rev, d, "k8s.io/apimachinery", None))
    for d in API_PACKAGES:
        packages.append(load_package(args.api, args.rev, d, "k8s.io/api", group_version_of(args.api, args.rev, d)))
    meta = packages[0]
    meta.group_version = "meta.k8s.io/v1"
    _add_referenced(packages, args.api, args.apimachinery, args.rev)

    def rev_of(repo: str) -> str:
        return subprocess.run(["git", "-C", repo, "rev-parse", args.rev], check=True, capture_output=True,
                              text=True).stdout.strip()

    note = (f"kubernetes/api {args.rev} ({rev_of(args.api)[:12]}), "
            f"kubernetes/apimachinery {args.rev} ({rev_of(args.apimachinery)[:12]})")
    if args.verify_with_protoc and verify_with_protoc(packages, args.api, args.apimachinery, args.rev):
        return 1
    Path(args.out).write_text(render(packages, note))
    n = sum(len(p.messages) for p in packages)
    print(f"wrote {args.out}: {n} messages, {sum(len(p.kinds) for p in packages)} kinds", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
