"""Through the real kemu apiserver: an object kubectl creates with a protobuf body is stored exactly as the same
object sent as JSON (`kubectl create ... --dry-run=client -o json | kubectl create -f -`).

Namespaced objects are created under the same name in two namespaces (one per encoding) so names that leak into
labels and selectors agree; cluster-scoped ones get two names. Compared after removing what differs by design:
identity and bookkeeping metadata (namespace, name, uid, resourceVersion, creationTimestamp, managedFields),
values the server allocates (a Service's clusterIP(s)) and the uid where the server copies it (a Job's
controller-uid labels). One real etcd member and one apiserver for the module.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.apiserver import ApiServer, start_apiserver
from tests.support.procs import ProcessGroup
from tests.support.real_etcd import start_real_etcd

pytestmark = pytest.mark.integration

VOLATILE_META = ("namespace", "name", "uid", "resourceVersion", "creationTimestamp", "managedFields", "generation")


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    base: Path = tmp_path_factory.mktemp("pbkube")
    group = ProcessGroup(base / "logs")
    try:
        [member] = start_real_etcd(group, base / "etcd", size=1)
        server = start_apiserver(group, [member.client_url], base / "apiserver")
        (base / "blob.bin").write_bytes(bytes(range(256)))
        server.kubectl("create", "namespace", "via-pb")
        server.kubectl("create", "namespace", "via-json")
        yield server
    finally:
        group.close()


def _comparable(obj: dict[str, Any]) -> dict[str, Any]:
    # The object's own uid also appears where the server derives values from it (a Job's controller-uid labels).
    text = json.dumps(obj)
    uid = obj.get("metadata", {}).get("uid")
    obj = json.loads(text.replace(uid, "<uid>") if uid else text)
    for key in VOLATILE_META:
        obj.get("metadata", {}).pop(key, None)
    spec = obj.get("spec", {})
    if obj.get("kind") == "Service":
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
    return obj  # type: ignore[no-any-return]


NAMESPACED = [
    ["configmap", "cm", "--from-literal=a=b", "--from-file=blob.bin={blob}"],
    ["secret", "generic", "sec", "--from-literal=user=admin", "--from-file=blob={blob}"],
    ["deployment", "web", "--image=nginx", "--replicas=3", "--port=80"],
    ["service", "clusterip", "svc", "--tcp=80:8080"],
    ["job", "once", "--image=busybox", "--", "echo", "hi"],
    ["cronjob", "tick", "--image=busybox", "--schedule=*/1 * * * *"],
    ["quota", "q", "--hard=pods=2,cpu=1"],
    ["role", "reader", "--verb=get", "--resource=pods"],
    ["poddisruptionbudget", "pdb", "--min-available=1", "--selector=a=b"],
    ["ingress", "ing", "--rule=foo.com/bar=svc:80"],
]


def _split(args: list[str]) -> tuple[list[str], list[str]]:
    cut = args.index("--") if "--" in args else len(args)
    return args[:cut], args[cut:]


@pytest.mark.parametrize("args", NAMESPACED, ids=[a[0] if a[0] not in ("secret", "service") else "-".join(a[:2])
                                                   for a in NAMESPACED])
def test_protobuf_create_stores_the_same_object_as_json(kube: ApiServer, args: list[str]) -> None:
    blob = str(kube.kubeconfig.parent.parent / "blob.bin")
    argv = [a.format(blob=blob) for a in args]
    head, tail = _split(argv)
    # kubectl's typed create: a protobuf body.
    kube.kubectl("create", *head, "-n", "via-pb", *tail)
    # The same object as JSON: kubectl's own dry-run output, created from a file.
    manifest = kube.kubectl("create", *head, "-n", "via-json", "--dry-run=client", "-o", "json", *tail).stdout
    kube.kubectl("create", "-f", "-", "-n", "via-json", input=manifest)
    kind_name = json.loads(manifest)
    resource = f"{kind_name['kind'].lower()}/{kind_name['metadata']['name']}"
    via_pb = json.loads(kube.kubectl("get", resource, "-n", "via-pb", "-o", "json").stdout)
    via_json = json.loads(kube.kubectl("get", resource, "-n", "via-json", "-o", "json").stdout)
    assert _comparable(via_pb) == _comparable(via_json)


def test_cluster_scoped_priority_class(kube: ApiServer) -> None:
    kube.kubectl("create", "priorityclass", "pc-pb", "--value=1000", "--description=x")
    manifest = json.loads(kube.kubectl("create", "priorityclass", "pc-json", "--value=1000", "--description=x",
                                       "--dry-run=client", "-o", "json").stdout)
    kube.kubectl("create", "-f", "-", input=json.dumps(manifest))
    a = json.loads(kube.kubectl("get", "priorityclass", "pc-pb", "-o", "json").stdout)
    b = json.loads(kube.kubectl("get", "priorityclass", "pc-json", "-o", "json").stdout)
    assert _comparable(a) == _comparable(b)


def test_auth_can_i_and_bad_protobuf_body(kube: ApiServer) -> None:
    assert kube.kubectl("auth", "can-i", "list", "pods").stdout.strip() == "yes"
    # A protobuf body the decoder refuses is a 400 Status carrying the Go decoder's message.
    req = urllib.request.Request(kube.url + "/api/v1/namespaces/via-pb/configmaps", data=b"k8s\x00\x0a\x05ab",
                                 method="POST", headers={"Content-Type": "application/vnd.kubernetes.protobuf",
                                                         "Authorization": f"Bearer {kube.token}"})
    ctx = ssl.create_default_context(cafile=str(kube.ca_file))
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10, context=ctx)
    assert err.value.code == 400
    status = json.loads(err.value.read())
    assert status["kind"] == "Status" and status["reason"] == "BadRequest"
    assert status["message"] == "unexpected EOF"


def test_drain_without_eviction_deletes_through_a_protobuf_delete_options_body(kube: ApiServer) -> None:
    """`kubectl drain --disable-eviction` DELETEs each pod with a protobuf DeleteOptions body (apiVersion v1)."""
    # Its own namespace: the quota created above would refuse a pod without cpu requests.
    kube.kubectl("create", "namespace", "drain-pb")
    kube.kubectl("create", "serviceaccount", "default", "-n", "drain-pb")
    kube.kubectl("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "Node",
                                                        "metadata": {"name": "pb-node"}}))
    kube.kubectl("create", "-n", "drain-pb", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "victim"},
        "spec": {"nodeName": "pb-node", "containers": [{"name": "c", "image": "busybox"}]}}))
    out = kube.kubectl("drain", "pb-node", "--disable-eviction", "--force", "--grace-period=0", "--timeout=30s")
    assert "pod/victim deleted" in out.stdout and "node/pb-node drained" in out.stdout
    gone = kube.kubectl("get", "pod", "victim", "-n", "drain-pb", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr
