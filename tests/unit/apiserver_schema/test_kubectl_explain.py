"""The real kubectl (1.27, 1.32, 1.33 via the dispatcher) against our OpenAPI documents, served by a tiny
aiohttp server on a free loopback port: explain prints fields and types, and create picks server-side strict
validation (``fieldValidation=Strict``) from the documents -- the v3 JSON for 1.29+, the v2 protobuf for 1.27/1.28
(1.28 and 1.31 behave as their neighbours; checked by hand)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.procs import free_port
from tests.unit.apiserver_schema.docserver import DocServer

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")]

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: nginx}]
"""


@pytest.fixture(params=[27, 32, 33])
def server(request: pytest.FixtureRequest) -> Iterator[str]:
    srv = DocServer(free_port(), minor=request.param)
    srv.start()
    try:
        yield f"http://127.0.0.1:{srv.port}"
    finally:
        srv.stop()


def _kubectl(url: str, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": os.devnull}
    return subprocess.run(["kubectl", "--server", url, "--cache-dir", str(cache), *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_explain(server: str, tmp_path: Path) -> None:
    out = _kubectl(server, tmp_path, "explain", "deployment.spec.replicas")
    assert out.returncode == 0, out.stderr
    assert "KIND:       Deployment" in out.stdout and "FIELD: replicas <integer>" in out.stdout

    out = _kubectl(server, tmp_path, "explain", "pods.spec.containers")
    assert out.returncode == 0, out.stderr
    assert "FIELD: containers <[]Container>" in out.stdout
    assert "name\t<string> -required-" in out.stdout and "ports\t<[]ContainerPort>" in out.stdout

    out = _kubectl(server, tmp_path, "explain", "deployment")
    assert "spec\t<DeploymentSpec>" in out.stdout and "Declarative updates" in out.stdout

    out = _kubectl(server, tmp_path, "explain", "crontab.spec")
    assert out.returncode == 0, out.stderr
    assert "GROUP:      stable.example.com" in out.stdout and "cronSpec\t<string>" in out.stdout
    assert "When to run." in out.stdout


def test_create_uses_server_side_strict_validation(server: str, tmp_path: Path) -> None:
    manifest = tmp_path / "d.yaml"
    manifest.write_text(DEPLOYMENT)
    out = _kubectl(server, tmp_path, "create", "-f", str(manifest), "-v=6")
    # the docs server has no resource endpoints: the POST is a 404, but it must be sent with strict validation
    lines = [ln for ln in out.stderr.splitlines() if "deployments?" in ln and "POST" in ln]
    assert lines and "fieldValidation=Strict" in lines[0], out.stderr[-2000:]
    assert "/openapi/v3/apis/apps/v1?hash=" in out.stderr or "/openapi/v2" in out.stderr


def test_unknown_kind_falls_back_to_v2_protobuf(tmp_path: Path) -> None:
    # a kind the v3 documents lack sends kubectl 1.32 to /openapi/v2, which it can only read as protobuf
    srv = DocServer(free_port(), minor=32)
    srv.start()
    try:
        _unknown_kind(f"http://127.0.0.1:{srv.port}", tmp_path)
    finally:
        srv.stop()


def _unknown_kind(server: str, tmp_path: Path) -> None:
    manifest = tmp_path / "d.yaml"
    manifest.write_text(DEPLOYMENT.replace("apps/v1", "v1"))
    out = _kubectl(server, tmp_path, "apply", "-f", str(manifest))
    assert out.returncode == 1
    assert 'no matches for kind "Deployment" in version "v1"' in out.stderr, out.stderr
