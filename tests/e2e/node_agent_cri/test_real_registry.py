"""PullImage against a real registry: Debian's ``docker-registry`` (the CNCF distribution server) on 127.0.0.1.

The test pushes an image with the plain v2 upload API (monolithic blob uploads, then the manifest) and pulls it
through CRI, by tag and by digest. Skips when docker-registry is not installed (Makefile APT_PKGS lists it)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
import urllib.request
from pathlib import Path

import pytest

from node_agent.cri.pb import api_pb2 as pb
from tests.e2e.node_agent_cri.conftest import Cri
from tests.support.procs import ProcessGroup, free_port, port_open, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("docker-registry") is None,
                                                  reason="Debian's docker-registry is not installed")]


def _sha(b: bytes) -> str:
    return "sha256:" + hashlib.sha256(b).hexdigest()


def _push(base: str, repo: str, tag: str, config: bytes, layers: list[bytes]) -> str:
    for blob in [config, *layers]:
        req = urllib.request.Request(f"{base}/v2/{repo}/blobs/uploads/", method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            location = r.headers["Location"]
        sep = "&" if "?" in location else "?"
        url = location if location.startswith("http") else base + location
        put = urllib.request.Request(f"{url}{sep}digest={_sha(blob)}", data=blob, method="PUT",
                                     headers={"Content-Type": "application/octet-stream"})
        urllib.request.urlopen(put, timeout=10).close()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _sha(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": _sha(x), "size": len(x)}
                   for x in layers]}).encode()
    put = urllib.request.Request(f"{base}/v2/{repo}/manifests/{tag}", data=manifest, method="PUT",
                                 headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    urllib.request.urlopen(put, timeout=10).close()
    return _sha(manifest)


def test_pull_from_debian_docker_registry(cri: Cri, procs: ProcessGroup, tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "registry.yml").write_text(json.dumps({
        "version": 0.1, "log": {"level": "warn"},
        "storage": {"filesystem": {"rootdirectory": str(tmp_path / "registry-data")}},
        "http": {"addr": f"127.0.0.1:{port}"}}))
    procs.start("registry", ["docker-registry", "serve", str(tmp_path / "registry.yml")])
    wait_for(lambda: port_open(port), 20, 0.05, what="docker-registry")
    busybox = next(p for p in (cri.root / "images").iterdir() if len(p.name) == 64)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        tf.add(busybox / "rootfs", arcname=".")
    layer = gzip.compress(buf.getvalue(), compresslevel=1)
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []},
                         "config": {"Cmd": ["sh", "-c", "echo from-real-registry"], "Env": ["PATH=/bin"]}}).encode()
    digest = _push(f"http://127.0.0.1:{port}", "kemu/bb", "v1", config, [layer])
    ref = f"127.0.0.1:{port}/kemu/bb:v1"
    image_ref = cri.img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=ref)), timeout=120).image_ref
    assert image_ref == _sha(config)
    by_digest = f"127.0.0.1:{port}/kemu/bb@{digest}"
    st = cri.img.ImageStatus(pb.ImageStatusRequest(image=pb.ImageSpec(image=by_digest)), timeout=5).image
    assert st.id == image_ref and st.repo_digests == [by_digest] and st.repo_tags == [ref]
    sid, sb = cri.run_sandbox()
    cfg = pb.ContainerConfig(metadata=pb.ContainerMetadata(name="app"), image=pb.ImageSpec(image=ref),
                             log_path="app.log")
    cid = cri.rt.CreateContainer(pb.CreateContainerRequest(pod_sandbox_id=sid, config=cfg, sandbox_config=sb),
                                 timeout=30).container_id
    cri.rt.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=30)
    assert cri.wait_exited(cid).exit_code == 0
    assert b"from-real-registry" in Path(f"{sb.log_directory}/app.log").read_bytes()
