"""Exec over the streaming URL (WebSocket channel protocol), port-forward, and the image service."""

from __future__ import annotations

import asyncio
import json
import socket
import struct

import aiohttp
import grpc
import pytest

from node_agent.cri.pb import api_pb2 as pb
from tests.e2e.node_agent_cri.conftest import Cri
from tests.support.procs import free_port

pytestmark = pytest.mark.e2e


async def _exec_ws(url: str, protocol: str, stdin: bytes | None = None, resize: dict[str, int] | None = None
                   ) -> tuple[dict[int, bytes], str]:
    chans: dict[int, bytes] = {}
    async with aiohttp.ClientSession() as s, s.ws_connect(url, protocols=(protocol,)) as ws:
        assert ws.protocol == protocol
        if resize is not None:
            await ws.send_bytes(b"\x04" + json.dumps(resize).encode())
        if stdin is not None:
            await ws.send_bytes(b"\x00" + stdin)
            await ws.send_bytes(b"\xff\x00")  # v5: close stdin
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.BINARY and msg.data:
                chans[msg.data[0]] = chans.get(msg.data[0], b"") + msg.data[1:]
    return chans, protocol


async def test_exec_over_websocket(cri: Cri) -> None:
    sid, sb = cri.run_sandbox()
    cid = cri.run(sid, sb, "main", ["sleep", "300"])
    url = cri.rt.Exec(pb.ExecRequest(container_id=cid, cmd=["sh", "-c", "echo out; echo err >&2; exit 3"],
                                     stdout=True, stderr=True), timeout=5).url
    chans, _ = await _exec_ws(url, "v4.channel.k8s.io")
    assert chans[1] == b"out\n" and chans[2] == b"err\n"
    st = json.loads(chans[3])
    assert st["status"] == "Failure" and st["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
    # stdin through v5, success status
    url = cri.rt.Exec(pb.ExecRequest(container_id=cid, cmd=["cat"], stdin=True, stdout=True, stderr=True),
                      timeout=5).url
    chans, _ = await _exec_ws(url, "v5.channel.k8s.io", stdin=b"piped-in\n")
    assert chans[1] == b"piped-in\n" and json.loads(chans[3])["status"] == "Success"
    # tty: one output stream, the terminal size comes from the resize channel
    url = cri.rt.Exec(pb.ExecRequest(container_id=cid, cmd=["sh", "-c", "sleep 0.3; stty size"], tty=True,
                                     stdout=True), timeout=5).url
    chans, _ = await _exec_ws(url, "v5.channel.k8s.io", resize={"Width": 99, "Height": 33})
    assert b"33 99" in chans[1] and 2 not in chans
    # a used token is gone
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        assert r.status == 404


async def test_port_forward(cri: Cri) -> None:
    sid, sb = cri.run_sandbox()
    cri.run(sid, sb, "web", ["sh", "-c", "echo pf-reply | nc -l -p 8081; sleep 300"])
    url = cri.rt.PortForward(pb.PortForwardRequest(pod_sandbox_id=sid, port=[8081]), timeout=5).url
    got = b""
    frames: list[bytes] = []
    async with aiohttp.ClientSession() as s:
        for _ in range(50):  # nc may not listen yet
            async with s.ws_connect(url + "?port=8081", protocols=("v4.channel.k8s.io",)) as ws:
                frames = []
                async for msg in ws:
                    frames.append(msg.data)
                    if msg.data[0] == 0 and len(msg.data) > 3:
                        got = msg.data[1:]
                        break
                    if msg.data[0] == 1 and len(msg.data) > 3:
                        break  # error: connection refused
            if got:
                break
            await asyncio.sleep(0.1)
            url = cri.rt.PortForward(pb.PortForwardRequest(pod_sandbox_id=sid, port=[8081]), timeout=5).url
    assert got == b"pf-reply\n"
    assert frames[0] == b"\x00" + struct.pack("<H", 8081)
    # nothing listens on the host's own loopback at that port: the connection was made inside the pod
    with socket.socket() as sk:
        assert sk.connect_ex(("127.0.0.1", 8081)) != 0


def test_image_service(cri: Cri) -> None:
    imgs = cri.img.ListImages(pb.ListImagesRequest(), timeout=5).images
    assert len(imgs) == 1 and "docker.io/library/busybox:latest" in imgs[0].repo_tags
    for ref in ("busybox", "docker.io/library/busybox:latest", "busybox:1.35", imgs[0].id, imgs[0].id[7:19]):
        st = cri.img.ImageStatus(pb.ImageStatusRequest(image=pb.ImageSpec(image=ref)), timeout=5)
        assert st.image.id == imgs[0].id, ref
    assert not cri.img.ImageStatus(pb.ImageStatusRequest(image=pb.ImageSpec(image="nosuch")), timeout=5).image.id
    # another tag of a locally built image is an alias; no registry is contacted
    ref = cri.img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image="busybox:1.36")), timeout=30).image_ref
    assert ref == imgs[0].id
    with pytest.raises(grpc.RpcError) as e:
        cri.img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=f"127.0.0.1:{free_port()}/team/app:v1")),
                          timeout=30)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND and "failed to pull" in str(e.value.details())
    with pytest.raises(grpc.RpcError) as e:
        cri.img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image="Bad:Ref:x")), timeout=30)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fs = cri.img.ImageFsInfo(pb.ImageFsInfoRequest(), timeout=5).image_filesystems
    assert fs[0].used_bytes.value > 0
    # an image in use stays; once unused it can be removed, then creating a container from it fails with NotFound
    sid, sb = cri.run_sandbox()
    cid = cri.create(sid, sb, "user", ["true"])
    with pytest.raises(grpc.RpcError) as e:
        cri.img.RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image="busybox")), timeout=5)
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION and cid in str(e.value.details())
    cri.rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=30)
    cri.img.RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image="busybox")), timeout=5)
    cri.img.RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image="busybox")), timeout=5)
    assert not cri.img.ListImages(pb.ListImagesRequest(), timeout=5).images
    with pytest.raises(grpc.RpcError) as e:
        cri.create(sid, sb, "x", ["true"])
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
