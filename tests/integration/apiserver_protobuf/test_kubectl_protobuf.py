"""The real kubectl 1.32 sends protobuf create bodies; apiserver.protobuf.decode must turn each into exactly the
JSON kubectl itself prints for the same command with `--dry-run=client -o json`.

No normalisation is needed: decode reproduces Go's encoding/json output, including what the dry-run prints for
unset fields (`"creationTimestamp": null`, `"status": {}`, `"resources": {}`, `"strategy": {}`). Commands
without a dry-run form (auth can-i, create token) are compared with the literal JSON Go prints for the object
kubectl builds. One capture server (HTTPS, self-signed CA, token auth) serves the whole module.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apiserver import protobuf
from tests.integration.apiserver_protobuf.capture import CaptureServer, dry_run_json, kubectl
from tests.integration.apiserver_protobuf.tlsfiles import make_ca_and_cert

pytestmark = pytest.mark.integration

BINARY = bytes(range(256))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CaptureServer]:
    work = tmp_path_factory.mktemp("pbcapture")
    (work / "blob.bin").write_bytes(BINARY)
    s = CaptureServer(work)
    try:
        yield s
    finally:
        s.close()


def _tls_pair(work: Path) -> tuple[Path, Path]:
    """A certificate and key for `create secret tls` (made once per module)."""
    cert, key = work / "tls" / "web.crt", work / "tls" / "web.key"
    if not cert.exists():
        make_ca_and_cert(work / "tls", "web")
    return cert, key


def _create(server: CaptureServer, args: list[str]) -> tuple[Any, bytes]:
    """Run one kubectl command; the decoded protobuf body it POSTed and kubectl's stdout."""
    server.requests.clear()
    out = kubectl(server, *args)
    assert out.returncode == 0, out.stderr.decode()
    posts = server.posts()
    assert len(posts) == 1, [p.path for p in server.requests]
    assert posts[0].content_type == protobuf.MEDIA_TYPE
    return protobuf.decode(posts[0].body), out.stdout


CASES: list[tuple[str, list[str]]] = [
    ("configmap", ["create", "configmap", "cm1", "--from-literal=a=b", "--from-file=blob.bin={work}/blob.bin"]),
    ("secret-generic", ["create", "secret", "generic", "s1", "--from-literal=user=admin",
                        "--from-file=blob={work}/blob.bin"]),
    ("secret-tls", ["create", "secret", "tls", "t1", "--cert={cert}", "--key={key}"]),
    ("secret-docker", ["create", "secret", "docker-registry", "dr1", "--docker-server=r.example",
                       "--docker-username=u", "--docker-password=p"]),
    ("deployment", ["create", "deployment", "web", "--image=nginx", "--replicas=3", "--port=80"]),
    ("deployment-zero", ["create", "deployment", "idle", "--image=nginx", "--image=busybox", "--replicas=0"]),
    ("namespace", ["create", "namespace", "ns1"]),
    ("service-clusterip", ["create", "service", "clusterip", "svc1", "--tcp=80:8080", "--tcp=443:https"]),
    ("service-nodeport", ["create", "service", "nodeport", "np1", "--tcp=80:8080", "--node-port=30080"]),
    ("service-externalname", ["create", "service", "externalname", "en1", "--external-name=example.com"]),
    ("service-headless", ["create", "service", "clusterip", "hl1", "--clusterip=None"]),
    ("serviceaccount", ["create", "serviceaccount", "sa1"]),
    ("job", ["create", "job", "j1", "--image=busybox", "--", "echo", "hi"]),
    ("cronjob", ["create", "cronjob", "cj1", "--image=busybox", "--schedule=*/1 * * * *"]),
    ("cronjob-cmd", ["create", "cronjob", "cj2", "--image=busybox", "--schedule=@hourly", "--restart=OnFailure",
                     "--", "sleep", "5"]),
    ("quota", ["create", "quota", "q1", "--hard=pods=2,cpu=1"]),
    ("quota-scopes", ["create", "quota", "q2", "--hard=requests.memory=1Gi,limits.cpu=500m", "--scopes=BestEffort"]),
    ("role", ["create", "role", "r1", "--verb=get", "--resource=pods"]),
    ("clusterrole", ["create", "clusterrole", "cr1", "--verb=get,list", "--resource=pods,deployments.apps"]),
    ("clusterrole-url", ["create", "clusterrole", "cr2", "--verb=get", "--non-resource-url=/logs/*"]),
    ("rolebinding", ["create", "rolebinding", "rb1", "--role=r1", "--user=bob", "--serviceaccount=default:sa"]),
    ("clusterrolebinding", ["create", "clusterrolebinding", "crb1", "--clusterrole=cr1", "--group=devs"]),
    ("priorityclass", ["create", "priorityclass", "pc1", "--value=1000"]),
    ("priorityclass-zero", ["create", "priorityclass", "pc0", "--value=0", "--global-default=false",
                            "--preemption-policy=Never", "--description=none"]),
    ("pdb", ["create", "poddisruptionbudget", "pdb1", "--min-available=1", "--selector=a=b"]),
    ("pdb-percent", ["create", "poddisruptionbudget", "pdb2", "--max-unavailable=50%", "--selector=a=b"]),
    ("ingress", ["create", "ingress", "ing1", "--rule=foo.com/bar=svc:80"]),
    ("ingress-full", ["create", "ingress", "ing2", "--class=nginx", "--rule=foo.com/*=svc:http,tls=sec",
                      "--annotation=a=b", "--default-backend=def:8080"]),
]


@pytest.mark.parametrize(("name", "args"), CASES, ids=[c[0] for c in CASES])
def test_create_body_decodes_to_the_dry_run_json(server: CaptureServer, name: str, args: list[str]) -> None:
    work = server.kubeconfig.parent
    cert, key = _tls_pair(work)
    argv = [a.format(work=work, cert=cert, key=key) for a in args]
    got, stdout = _create(server, argv)
    assert got == dry_run_json(server, *argv), json.dumps(got, indent=1)
    # kubectl accepted our JSON answer to its protobuf request.
    assert stdout.decode().strip().endswith("created")


def test_binary_file_is_base64_in_binary_data(server: CaptureServer) -> None:
    work = server.kubeconfig.parent
    got, _ = _create(server, ["create", "configmap", "bin1", f"--from-file=blob.bin={work}/blob.bin"])
    assert base64.b64decode(got["binaryData"]["blob.bin"]) == BINARY
    assert "data" not in got


def test_auth_can_i_posts_a_self_subject_access_review(server: CaptureServer) -> None:
    got, stdout = _create(server, ["auth", "can-i", "list", "pods"])
    assert stdout == b"yes\n"
    assert got == {
        "kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": {"resourceAttributes": {"namespace": "default", "verb": "list", "resource": "pods"}},
        # SubjectAccessReviewStatus.allowed has no omitempty: Go prints the false.
        "status": {"allowed": False},
    }


def test_create_token_posts_a_token_request(server: CaptureServer) -> None:
    got, stdout = _create(server, ["create", "token", "builder", "--duration=10m", "--audience=api"])
    assert stdout == b"captured"  # kubectl prints the token without a newline
    assert got == {
        "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        # boundObjectRef is a pointer without omitempty: Go prints null for it.
        "spec": {"audiences": ["api"], "expirationSeconds": 600, "boundObjectRef": None},
        "status": {"token": "", "expirationTimestamp": None},
    }
    assert server.posts()[0].path == "/api/v1/namespaces/default/serviceaccounts/builder/token"


DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "web", "namespace": "default", "uid": "u-web", "resourceVersion": "5"},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}}
CRONJOB = {"apiVersion": "batch/v1", "kind": "CronJob",
           "metadata": {"name": "nightly", "namespace": "default", "uid": "u-cj"},
           "spec": {"schedule": "@hourly", "jobTemplate": {"spec": {"backoffLimit": 2, "template": {"spec": {
               "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox", "args": ["date"]}]}}}}}}
NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "uid": "u-n1"}, "spec": {}}
POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "p1", "namespace": "default", "uid": "u-p1", "ownerReferences": [
           {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u-rs", "controller": True}]},
       "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i"}]}}


@pytest.fixture
def canned(server: CaptureServer) -> Iterator[CaptureServer]:
    server.objects.update({
        "/apis/apps/v1/namespaces/default/deployments/web": DEPLOYMENT,
        "/apis/batch/v1/namespaces/default/cronjobs/nightly": CRONJOB,
        "/api/v1/nodes/n1": NODE,
        "/api/v1/pods?spec.nodeName=n1": {"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "9"},
                                          "items": [POD]},
    })
    try:
        yield server
    finally:
        server.objects.clear()


@pytest.mark.parametrize("args", [
    ["autoscale", "deployment", "web", "--min=2", "--max=5", "--cpu-percent=80"],
    ["create", "job", "manual-1", "--from=cronjob/nightly"],
], ids=["autoscale", "job-from-cronjob"])
def test_commands_that_read_first_then_create(canned: CaptureServer, args: list[str]) -> None:
    canned.requests.clear()
    out = kubectl(canned, *args)
    assert out.returncode == 0, out.stderr.decode()
    posts = canned.posts()
    assert [p.content_type for p in posts] == [protobuf.MEDIA_TYPE]
    assert protobuf.decode(posts[0].body) == dry_run_json(canned, *args)


def test_drain_without_eviction_deletes_with_protobuf_delete_options(canned: CaptureServer) -> None:
    """kubectl drain --disable-eviction (and drain against a server without the eviction subresource) sends
    DELETE with a protobuf DeleteOptions body under apiVersion "v1"; the Eviction POST itself is JSON in 1.32."""
    canned.requests.clear()
    out = kubectl(canned, "drain", "n1", "--timeout=10s", "--disable-eviction", "--grace-period=7")
    assert out.returncode == 0, out.stderr.decode()
    deletes = [r for r in canned.requests if r.method == "DELETE"]
    assert [(d.path, d.content_type) for d in deletes] == [("/api/v1/namespaces/default/pods/p1", protobuf.MEDIA_TYPE)]
    assert protobuf.decode(deletes[0].body) == {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 7}
    canned.requests.clear()
    out = kubectl(canned, "drain", "n1", "--timeout=10s")
    assert out.returncode == 0, out.stderr.decode()
    evictions = canned.posts()
    assert [e.path for e in evictions] == ["/api/v1/namespaces/default/pods/p1/eviction"]
    assert evictions[0].content_type == "application/json"
