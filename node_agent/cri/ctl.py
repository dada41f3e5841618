"""A small crictl for kemu's runtime: ``python -m node_agent.cri.ctl --socket S COMMAND``.

Commands: ``version``, ``pods``, ``ps [-a]``, ``images``, ``inspect ID``, ``inspectp ID``, ``logs ID``,
``exec ID CMD...``, ``stats``, ``stop ID``, ``rm ID``, ``stopp ID``, ``rmp ID``, ``pull IMAGE``, ``rmi IMAGE``.
IDs may be unique prefixes (as crictl's). Output is a plain table like crictl's; ``inspect`` prints JSON.
gRPC errors print ``rpc error: code = ... desc = ...`` on stderr and exit 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import grpc
from google.protobuf.json_format import MessageToDict

from node_agent.cri.pb import api_pb2 as pb
from node_agent.cri.pb import api_pb2_grpc as pb_grpc

_CT = {0: "Created", 1: "Running", 2: "Exited", 3: "Unknown"}
_SB = {0: "Ready", 1: "NotReady"}


def _age(ns: int) -> str:
    s = max(0, int(time.time() - ns / 1e9))
    return f"{s}s ago" if s < 120 else f"{s // 60}m ago" if s < 7200 else f"{s // 3600}h ago"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def run(argv: list[str], out: Any = sys.stdout) -> int:
    p = argparse.ArgumentParser(prog="python -m node_agent.cri.ctl")
    p.add_argument("--socket", required=True)
    p.add_argument("command")
    p.add_argument("args", nargs=argparse.REMAINDER)
    a = p.parse_args(argv)
    ch = grpc.insecure_channel(f"unix://{a.socket}")
    rt, img = pb_grpc.RuntimeServiceStub(ch), pb_grpc.ImageServiceStub(ch)
    args: list[str] = a.args
    try:
        if a.command == "version":
            v = rt.Version(pb.VersionRequest(version="v1"), timeout=10)
            print(f"RuntimeName:  {v.runtime_name}\nRuntimeVersion:  {v.runtime_version}\n"
                  f"RuntimeApiVersion:  {v.runtime_api_version}", file=out)
        elif a.command == "pods":
            rows = [["POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT"]]
            for s in rt.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=10).items:
                rows.append([s.id[:13], _age(s.created_at), _SB.get(s.state, "?"), s.metadata.name,
                             s.metadata.namespace, str(s.metadata.attempt)])
            print(_table(rows), file=out)
        elif a.command == "ps":
            rows = [["CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID"]]
            for c in rt.ListContainers(pb.ListContainersRequest(), timeout=10).containers:
                if c.state != pb.CONTAINER_RUNNING and "-a" not in args:
                    continue
                rows.append([c.id[:13], c.image.image, _age(c.created_at), _CT.get(c.state, "?"), c.metadata.name,
                             str(c.metadata.attempt), c.pod_sandbox_id[:13]])
            print(_table(rows), file=out)
        elif a.command == "images":
            rows = [["IMAGE", "TAG", "IMAGE ID", "SIZE"]]
            for i in img.ListImages(pb.ListImagesRequest(), timeout=10).images:
                for t in i.repo_tags or ["<none>:<none>"]:
                    name, _, tag = t.rpartition(":")
                    rows.append([name, tag, i.id[7:20], f"{i.size / 1e6:.1f}MB"])
            print(_table(rows), file=out)
        elif a.command == "inspect":
            st = rt.ContainerStatus(pb.ContainerStatusRequest(container_id=args[0]), timeout=10)
            print(json.dumps(MessageToDict(st), indent=2), file=out)
        elif a.command == "inspectp":
            st = rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=args[0]), timeout=10)
            print(json.dumps(MessageToDict(st), indent=2), file=out)
        elif a.command == "logs":
            path = rt.ContainerStatus(pb.ContainerStatusRequest(container_id=args[0]), timeout=10).status.log_path
            with open(path, "rb") as f:
                for line in f:
                    parts = line.rstrip(b"\n").split(b" ", 3)
                    if len(parts) == 4:
                        out.write(parts[3].decode(errors="replace") + ("\n" if parts[2] == b"F" else ""))
        elif a.command == "exec":
            cmd = args[1:][1:] if args[1:2] == ["--"] else args[1:]
            r = rt.ExecSync(pb.ExecSyncRequest(container_id=args[0], cmd=cmd, timeout=60), timeout=90)
            out.write(r.stdout.decode(errors="replace"))
            sys.stderr.write(r.stderr.decode(errors="replace"))
            return int(r.exit_code)
        elif a.command == "stats":
            rows = [["CONTAINER", "NAME", "CPU (s)", "MEM (working set)"]]
            for s in rt.ListContainerStats(pb.ListContainerStatsRequest(), timeout=10).stats:
                rows.append([s.attributes.id[:13], s.attributes.metadata.name,
                             f"{s.cpu.usage_core_nano_seconds.value / 1e9:.2f}",
                             f"{s.memory.working_set_bytes.value / 2**20:.1f}MiB"])
            print(_table(rows), file=out)
        elif a.command in ("stop", "rm", "stopp", "rmp", "pull", "rmi"):
            for x in args:
                if a.command == "stop":
                    rt.StopContainer(pb.StopContainerRequest(container_id=x, timeout=10), timeout=60)
                elif a.command == "rm":
                    rt.RemoveContainer(pb.RemoveContainerRequest(container_id=x), timeout=60)
                elif a.command == "stopp":
                    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=x), timeout=60)
                elif a.command == "rmp":
                    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=x), timeout=60)
                elif a.command == "pull":
                    x = img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=x)), timeout=900).image_ref
                else:
                    img.RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image=x)), timeout=60)
                print(x, file=out)
        else:
            print(f"unknown command {a.command!r}", file=sys.stderr)
            return 2
    except grpc.RpcError as e:
        print(f"rpc error: code = {e.code().name} desc = {e.details()}", file=sys.stderr)  # type: ignore[attr-defined]
        return 1
    except (IndexError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        ch.close()
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
