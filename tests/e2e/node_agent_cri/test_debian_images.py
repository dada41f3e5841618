"""Images built from Debian packages run their real programs (slow: downloads packages once into
/var/cache/kemu/images, keyed by package versions): nginx serves its default page on port 80, redis answers PING,
python runs; ``image: nginx`` works through PullImage alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from node_agent.cri.pb import api_pb2 as pb
from tests.e2e.node_agent_cri.conftest import Cri
from tests.support.procs import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _run_image(cri: Cri, sid: str, sb: Any, name: str, image: str, cmd: list[str] | None = None) -> str:
    ref = cri.img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=image)), timeout=900).image_ref
    assert ref.startswith("sha256:")
    cfg = pb.ContainerConfig(metadata=pb.ContainerMetadata(name=name), image=pb.ImageSpec(image=image),
                             command=cmd or [], log_path=f"{name}.log")
    cid = cri.rt.CreateContainer(pb.CreateContainerRequest(pod_sandbox_id=sid, config=cfg, sandbox_config=sb),
                                 timeout=30).container_id
    cri.rt.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=30)
    return cid


def test_nginx_redis_python(cri: Cri) -> None:
    sid, sb = cri.run_sandbox()
    web = _run_image(cri, sid, sb, "nginx", "nginx")
    db = _run_image(cri, sid, sb, "redis", "redis:7")
    wait_for(lambda: b"Welcome to nginx!" in cri.exec(web, ["wget", "-qO-", "http://127.0.0.1:80/"]).stdout, 20,
             0.2, what="nginx default page")
    wait_for(lambda: cri.exec(db, ["redis-cli", "ping"]).stdout == b"PONG\n", 20, 0.2, what="redis PING")
    py = _run_image(cri, sid, sb, "py", "python:3", ["python3", "-c",
                    "import socket; s = socket.create_connection(('127.0.0.1', 6379)); s.sendall(b'PING\\r\\n');"
                    " print(s.recv(64).decode().strip())"])
    st = cri.wait_exited(py, 30)
    assert st.exit_code == 0, st
    assert b"+PONG" in Path(f"{sb.log_directory}/py.log").read_bytes()
