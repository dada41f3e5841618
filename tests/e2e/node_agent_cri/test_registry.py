"""PullImage from an OCI distribution registry: a small v2 registry served by the test on 127.0.0.1 (bearer token
auth, an OCI index pointing at a Docker v2 manifest, gzip layers with a whiteout, blobs redirected to a CDN on
another host that refuses the registry token), then a container runs from it."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from aiohttp import web

from node_agent.cri.pb import api_pb2 as pb
from tests.e2e.node_agent_cri.conftest import Cri

pytestmark = pytest.mark.e2e


def _sha(b: bytes) -> str:
    return "sha256:" + hashlib.sha256(b).hexdigest()


def _layer(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tf.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue())


@pytest.fixture
async def registry(cri: Cri) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    busybox = next(p for p in (cri.root / "images").iterdir() if len(p.name) == 64)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        tf.add(busybox / "rootfs", arcname=".")
    base = gzip.compress(buf.getvalue())
    top = _layer({"app/hello.sh": b"#!/bin/sh\necho hello-from-registry\n", "etc/.wh.nsswitch.conf": b""})
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "config": {"Cmd": ["/app/hello.sh"], "Env": ["PATH=/bin:/usr/bin", "FROM=registry"]}
                         }).encode()
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"digest": _sha(config), "size": len(config)},
                           "layers": [{"digest": _sha(base), "size": len(base)},
                                      {"digest": _sha(top), "size": len(top)}]}).encode()
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [{"digest": "sha256:" + "0" * 64, "platform": {"architecture": "arm64",
                                                                                     "os": "linux"}},
                                      {"digest": _sha(manifest), "platform": {"architecture": "amd64",
                                                                               "os": "linux"}}]}).encode()
    blobs = {_sha(b): b for b in (config, base, top)}
    manifests = {"v1": index, _sha(manifest): manifest, _sha(index): index}
    seen: dict[str, Any] = {"auth": 0, "config_id": _sha(config), "index_digest": _sha(index)}

    async def token(request: web.Request) -> web.Response:
        assert request.query["scope"] == "repository:team/bb:pull"
        seen["auth"] += 1
        return web.json_response({"token": "t0k"})

    def authorized(request: web.Request) -> None:
        if request.headers.get("Authorization") != "Bearer t0k":
            realm = f"http://{request.host}/token"
            raise web.HTTPUnauthorized(headers={"WWW-Authenticate": f'Bearer realm="{realm}",service="test",'
                                                                    f'scope="repository:team/bb:pull"'})

    async def get_manifest(request: web.Request) -> web.Response:
        authorized(request)
        body = manifests.get(request.match_info["ref"])
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(body=body, content_type=json.loads(body)["mediaType"],
                            headers={"Docker-Content-Digest": _sha(body)})

    async def get_blob(request: web.Request) -> web.Response:
        authorized(request)
        digest = request.match_info["digest"]
        if digest not in blobs:
            raise web.HTTPNotFound()
        # like Docker Hub: blobs come from a CDN on another host, by a pre-signed URL
        raise web.HTTPTemporaryRedirect(f"http://localhost:{request.url.port}/cdn/{digest}?sig=x")

    async def cdn(request: web.Request) -> web.Response:
        if "Authorization" in request.headers:
            raise web.HTTPBadRequest(text="Only one auth mechanism allowed")
        seen["cdn"] = seen.get("cdn", 0) + 1
        return web.Response(body=blobs[request.match_info["digest"]], content_type="application/octet-stream")

    app = web.Application()
    app.router.add_get("/token", token)
    app.router.add_get("/v2/team/bb/manifests/{ref}", get_manifest)
    app.router.add_get("/v2/team/bb/blobs/{digest}", get_blob)
    app.router.add_get("/cdn/{digest}", cdn)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


async def test_pull_from_registry_and_run(cri: Cri, registry: tuple[str, dict[str, Any]]) -> None:
    host, seen = registry
    ref = f"{host}/team/bb:v1"

    def pull(image: str) -> str:
        return str(cri.img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=image)), timeout=60).image_ref)
    image_ref = await asyncio.to_thread(pull, ref)
    assert image_ref == seen["config_id"] and seen["auth"] == 1 and seen["cdn"] == 3
    st = cri.img.ImageStatus(pb.ImageStatusRequest(image=pb.ImageSpec(image=ref)), timeout=5).image
    assert st.id == image_ref and ref in st.repo_tags
    sid, sb = cri.run_sandbox()
    cfg = pb.ContainerConfig(metadata=pb.ContainerMetadata(name="app"), image=pb.ImageSpec(image=ref),
                             log_path="app.log")
    cid = cri.rt.CreateContainer(pb.CreateContainerRequest(pod_sandbox_id=sid, config=cfg, sandbox_config=sb),
                                 timeout=30).container_id
    cri.rt.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=30)
    assert cri.wait_exited(cid).exit_code == 0
    assert b"hello-from-registry" in Path(f"{sb.log_directory}/app.log").read_bytes()
    # a digest reference of the index names the same image; a fresh pull by digest reuses the stored layers
    by_digest = f"{host}/team/bb@{seen['index_digest']}"
    assert cri.img.ImageStatus(pb.ImageStatusRequest(image=pb.ImageSpec(image=by_digest)), timeout=5).image.id \
        == image_ref
    assert await asyncio.to_thread(pull, by_digest) == image_ref
    with pytest.raises(grpc.RpcError) as e:
        await asyncio.to_thread(pull, f"{host}/team/bb:nosuchtag")
    assert e.value.code() == grpc.StatusCode.NOT_FOUND and "not found" in str(e.value.details())
