"""The real kubectl (1.32 through the preinstalled dispatcher) against apiserver + etcd_raft and + real etcd.

Each test checks the text kubectl prints, as a user reading a book's session would see it.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.support.apiserver import ApiServer

pytestmark = pytest.mark.integration

DEPLOY = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels: {{app: {name}}}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: web
        image: {image}
        ports: [{{containerPort: 80}}]
"""


def deploy(name: str, replicas: int = 2, image: str = "nginx:1.25") -> str:
    return DEPLOY.format(name=name, replicas=replicas, image=image)


def test_version_and_api_resources(kube: ApiServer) -> None:
    out = kube.kubectl("version", "-o", "json").stdout
    v = json.loads(out)
    assert v["serverVersion"]["minor"] == "32" and v["clientVersion"]["minor"].startswith("32")
    res = kube.kubectl("api-resources").stdout
    header, *rows = res.splitlines()
    assert header.split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    by_name: dict[str, list[str]] = {}
    for r in rows:  # the first row of a name is the preferred group's (pods: core, not metrics.k8s.io)
        by_name.setdefault(r.split()[0], r.split())
    assert by_name["pods"] == ["pods", "po", "v1", "true", "Pod"]
    assert by_name["deployments"] == ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    assert by_name["nodes"] == ["nodes", "no", "v1", "false", "Node"]
    assert "customresourcedefinitions" in by_name and "leases" in by_name


def test_apply_twice_then_changed(kube: ApiServer) -> None:
    assert kube.kubectl("apply", "-f", "-", input=deploy("ap")).stdout.strip() == "deployment.apps/ap created"
    assert kube.kubectl("apply", "-f", "-", input=deploy("ap")).stdout.strip() == "deployment.apps/ap unchanged"
    assert kube.kubectl("apply", "-f", "-", input=deploy("ap", 3, "nginx:1.26")).stdout.strip() == \
        "deployment.apps/ap configured"
    obj = json.loads(kube.kubectl("get", "deploy", "ap", "-o", "json").stdout)
    assert obj["spec"]["replicas"] == 3
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"
    assert obj["metadata"]["generation"] == 2
    # server-side defaults are visible
    assert obj["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": "25%"}
    assert obj["spec"]["template"]["spec"]["restartPolicy"] == "Always"
    kube.kubectl("delete", "deploy", "ap")


def test_create_get_output_forms(kube: ApiServer) -> None:
    kube.kubectl("create", "-f", "-", input=deploy("getme", 1))
    name = kube.kubectl("get", "deploy", "getme", "-o", "name").stdout.strip()
    assert name == "deployment.apps/getme"
    y = yaml.safe_load(kube.kubectl("get", "deploy", "getme", "-o", "yaml").stdout)
    assert y["metadata"]["name"] == "getme" and y["metadata"]["uid"]
    table = kube.kubectl("get", "deploy", "getme").stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert table[1].split()[:4] == ["getme", "0/1", "0", "0"]
    wide = kube.kubectl("get", "deploy", "getme", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide[1].split()[5:] == ["web", "nginx:1.25", "app=getme"]
    dup = kube.kubectl("create", "-f", "-", input=deploy("getme", 1), check=False)
    assert dup.returncode == 1
    assert 'Error from server (AlreadyExists): error when creating "STDIN": deployments.apps "getme" already exists' \
        in dup.stderr
    missing = kube.kubectl("get", "deploy", "nope", check=False)
    assert missing.returncode == 1
    assert 'Error from server (NotFound): deployments.apps "nope" not found' in missing.stderr
    kube.kubectl("delete", "deploy", "getme")


def test_labels_selectors_sort_and_all_namespaces(kube: ApiServer) -> None:
    for name, tier, size in (("cm-a", "fe", "3"), ("cm-b", "be", "1"), ("cm-c", "fe", "2")):
        kube.kubectl("create", "-f", "-", input=yaml.safe_dump({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"tier": tier}},
            "data": {"size": size}}))
    fe = kube.kubectl("get", "cm", "-l", "tier=fe", "-o", "name").stdout.split()
    assert fe == ["configmap/cm-a", "configmap/cm-c"]
    not_fe = kube.kubectl("get", "cm", "-l", "tier!=fe,tier", "-o", "name").stdout.split()
    assert not_fe == ["configmap/cm-b"]
    in_set = kube.kubectl("get", "cm", "-l", "tier in (be,fe)", "-o", "name").stdout.split()
    assert in_set == ["configmap/cm-a", "configmap/cm-b", "configmap/cm-c"]
    by_size = kube.kubectl("get", "cm", "-l", "tier", "--sort-by", ".data.size", "-o", "name").stdout.split()
    assert by_size == ["configmap/cm-b", "configmap/cm-c", "configmap/cm-a"]
    all_ns = kube.kubectl("get", "cm", "-A").stdout.splitlines()
    assert all_ns[0].split() == ["NAMESPACE", "NAME", "DATA", "AGE"]
    assert any(line.split()[:3] == ["default", "cm-a", "1"] for line in all_ns[1:])
    bad = kube.kubectl("get", "cm", "-l", "a in (", check=False)
    assert bad.returncode == 1 and "unable to parse requirement" in bad.stderr
    kube.kubectl("delete", "cm", "-l", "tier")
    assert kube.kubectl("get", "cm", "-l", "tier", check=False).stderr.strip() == \
        "No resources found in default namespace."


def test_label_annotate_patch_three_types(kube: ApiServer) -> None:
    kube.kubectl("create", "-f", "-", input=deploy("pt", 1))
    assert kube.kubectl("label", "deploy", "pt", "env=prod").stdout.strip() == "deployment.apps/pt labeled"
    assert kube.kubectl("annotate", "deploy", "pt", "owner=ops").stdout.strip() == "deployment.apps/pt annotated"
    # strategic merge: containers merge by name, so a new container is added beside the old one (patch items first,
    # as in the Kubernetes docs' "kubectl patch" example)
    kube.kubectl("patch", "deploy", "pt", "--type", "strategic", "-p",
                 '{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox"}]}}}}')
    merge = kube.kubectl("patch", "deploy", "pt", "--type", "merge", "-p", '{"spec":{"replicas":4}}')
    assert merge.stdout.strip() == "deployment.apps/pt patched"
    kube.kubectl("patch", "deploy", "pt", "--type", "json", "-p",
                 '[{"op":"replace","path":"/spec/template/spec/containers/1/image","value":"nginx:1.27"}]')
    obj = json.loads(kube.kubectl("get", "deploy", "pt", "-o", "json").stdout)
    assert obj["metadata"]["labels"]["env"] == "prod" and obj["metadata"]["annotations"]["owner"] == "ops"
    assert [(c["name"], c["image"]) for c in obj["spec"]["template"]["spec"]["containers"]] == \
        [("side", "busybox"), ("web", "nginx:1.27")]
    assert obj["spec"]["replicas"] == 4
    same = kube.kubectl("patch", "deploy", "pt", "--type", "merge", "-p", '{"spec":{"replicas":4}}')
    assert same.stdout.strip() == "deployment.apps/pt patched (no change)"
    bad = kube.kubectl("patch", "deploy", "pt", "--type", "json", "-p", '[{"op":"remove","path":"/nope"}]',
                       check=False)
    # kube-apiserver answers a failing JSON patch with a generic 422, which kubectl prints like this
    assert bad.returncode == 1 and "The request is invalid: the server rejected our request" in bad.stderr
    kube.kubectl("delete", "deploy", "pt")


def test_scale_and_describe_and_events(kube: ApiServer) -> None:
    kube.kubectl("create", "-f", "-", input=deploy("sc", 1))
    assert kube.kubectl("scale", "deploy", "sc", "--replicas=5").stdout.strip() == "deployment.apps/sc scaled"
    assert kube.kubectl("get", "deploy", "sc", "-o", "jsonpath={.spec.replicas}").stdout == "5"
    uid = kube.kubectl("get", "deploy", "sc", "-o", "jsonpath={.metadata.uid}").stdout
    ev = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "sc.1", "namespace": "default"},
          "involvedObject": {"kind": "Deployment", "name": "sc", "namespace": "default", "uid": uid,
                             "apiVersion": "apps/v1"},
          "reason": "ScalingReplicaSet", "message": "Scaled up replica set sc-abc to 5", "type": "Normal",
          "source": {"component": "deployment-controller"}, "count": 1,
          "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z"}
    kube.kubectl("create", "-f", "-", input=json.dumps(ev))
    desc = kube.kubectl("describe", "deploy", "sc").stdout
    assert "Name:                   sc" in desc and "Replicas:" in desc
    assert "ScalingReplicaSet" in desc and "Scaled up replica set sc-abc to 5" in desc
    events = kube.kubectl("get", "events").stdout.splitlines()
    assert events[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any("deployment/sc" in line and "ScalingReplicaSet" in line for line in events[1:])
    kube.kubectl("delete", "deploy", "sc")
    kube.kubectl("delete", "event", "sc.1")


def test_watch_prints_changes(kube: ApiServer) -> None:
    kube.kubectl("create", "-f", "-", input=yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
                                                            "metadata": {"name": "watched"}, "data": {"a": "1"}}))
    cmd = ["kubectl", "--kubeconfig", str(kube.kubeconfig), "--cache-dir", str(kube.cache_dir), "get", "cm",
           "watched", "-w", "--request-timeout=8s"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            time.sleep(1.5)
            kube.kubectl("patch", "cm", "watched", "--type", "merge", "-p", '{"data":{"b":"2"}}')
            kube.kubectl("delete", "cm", "watched")
            time.sleep(1.5)
        finally:
            proc.terminate()
        out, _ = proc.communicate(timeout=10)
    lines = [line.split() for line in out.splitlines()]
    assert lines[0] == ["NAME", "DATA", "AGE"]
    assert [row[:2] for row in lines[1:]] == [["watched", "1"], ["watched", "2"], ["watched", "2"]]


def test_delete_foreground_with_finalizer_waits(kube: ApiServer) -> None:
    kube.kubectl("create", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fin", "finalizers": ["example.com/hold"]}}))
    out = kube.kubectl("delete", "cm", "fin", "--wait=false").stdout.strip()
    assert out == 'configmap "fin" deleted'
    obj = json.loads(kube.kubectl("get", "cm", "fin", "-o", "json").stdout)
    assert obj["metadata"]["deletionTimestamp"] and obj["metadata"]["finalizers"] == ["example.com/hold"]
    kube.kubectl("patch", "cm", "fin", "--type", "json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]')
    assert kube.kubectl("get", "cm", "fin", check=False).returncode == 1
    # foreground: the foregroundDeletion finalizer holds the owner until the garbage collector releases it
    kube.kubectl("create", "-f", "-", input=deploy("fg", 1))
    kube.kubectl("delete", "deploy", "fg", "--cascade=foreground", "--wait=false")
    obj = json.loads(kube.kubectl("get", "deploy", "fg", "-o", "json").stdout)
    assert "foregroundDeletion" in obj["metadata"]["finalizers"] and obj["metadata"]["deletionTimestamp"]
    kube.kubectl("patch", "deploy", "fg", "--type", "merge", "-p", '{"metadata":{"finalizers":null}}')
    assert kube.kubectl("get", "deploy", "fg", check=False).returncode == 1
    # background: gone at once
    kube.kubectl("create", "-f", "-", input=deploy("bg", 1))
    assert kube.kubectl("delete", "deploy", "bg", "--cascade=background").stdout.strip() == \
        'deployment.apps "bg" deleted'
    assert kube.kubectl("get", "deploy", "bg", check=False).returncode == 1


def test_namespaces_quota_limitrange(kube: ApiServer) -> None:
    assert kube.kubectl("create", "namespace", "team-a").stdout.strip() == "namespace/team-a created"
    # no controller-manager runs in this suite: create the namespace's default ServiceAccount as its controller would
    kube.kubectl("create", "serviceaccount", "default", "-n", "team-a")
    ns = kube.kubectl("get", "ns", "team-a").stdout.splitlines()
    assert ns[0].split() == ["NAME", "STATUS", "AGE"] and ns[1].split()[:2] == ["team-a", "Active"]
    kube.kubectl("create", "quota", "q", "--hard=pods=2,configmaps=5", "-n", "team-a")
    kube.kubectl("create", "-n", "team-a", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "lr"},
        "spec": {"limits": [{"type": "Container", "default": {"memory": "128Mi"},
                             "defaultRequest": {"memory": "64Mi"}}]}}))
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    kube.kubectl("create", "-n", "team-a", "-f", "-", input=json.dumps(pod))
    got = json.loads(kube.kubectl("get", "pod", "p", "-n", "team-a", "-o", "json").stdout)
    assert got["spec"]["containers"][0]["resources"] == {"limits": {"memory": "128Mi"},
                                                         "requests": {"memory": "64Mi"}}
    assert got["status"]["qosClass"] == "Burstable"
    missing = kube.kubectl("create", "-n", "nope", "-f", "-", input=json.dumps(pod), check=False)
    assert 'namespaces "nope" not found' in missing.stderr


def test_explain_and_auth_can_i(kube: ApiServer) -> None:
    ex = kube.kubectl("explain", "deployment.spec.replicas").stdout
    assert "replicas" in ex and "integer" in ex
    assert kube.kubectl("auth", "can-i", "create", "pods").stdout.strip() == "yes"
    alice = kube.kubeconfig.parent / "alice.kubeconfig"
    alice.write_text(kube.kubeconfig.read_text().replace(kube.token, "kemu-test-alice-token"))
    no = kube.kubectl("auth", "can-i", "create", "pods", kubeconfig=alice, check=False)
    assert no.stdout.strip() == "no"
    denied = kube.kubectl("get", "pods", kubeconfig=alice, check=False)
    assert 'Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" in API ' \
           'group "" in the namespace "default"' in denied.stderr


def test_bad_input_is_a_status(kube: ApiServer) -> None:
    bad_kind = kube.kubectl("create", "-f", "-", input="apiVersion: v1\nkind: Deployment\nmetadata: {name: x}\n",
                            check=False)
    assert bad_kind.returncode == 1
    assert 'no matches for kind "Deployment" in version "v1"' in bad_kind.stderr
    bad_name = kube.kubectl("create", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}}), check=False)
    assert 'The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 ' \
           'subdomain must consist of' in bad_name.stderr
    unknown = kube.kubectl("create", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "u"}, "bogus": 1}), check=False)
    assert unknown.returncode == 1 and 'unknown field "bogus"' in unknown.stderr
    mismatch = kube.kubectl("create", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "mm"},
        "spec": {"selector": {"matchLabels": {"a": "b"}},
                 "template": {"metadata": {"labels": {"a": "c"}},
                              "spec": {"containers": [{"name": "c", "image": "x"}]}}}}), check=False)
    assert "`selector` does not match template `labels`" in mismatch.stderr


CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: crontabs.stable.example.com}
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct]}
  versions:
  - name: v1
    served: true
    storage: true
    additionalPrinterColumns:
    - {name: Spec, type: string, jsonPath: .spec.cronSpec}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              cronSpec: {type: string}
              image: {type: string}
              replicas: {type: integer, minimum: 1, default: 1}
"""


def test_custom_resources(kube: ApiServer) -> None:
    """The Kubernetes docs' CronTab example: a CRD is served at once, with its columns, validation, defaults."""
    kube.kubectl("apply", "-f", "-", input=CRD)
    deadline = time.monotonic() + 20
    while "crontabs" not in kube.kubectl("api-resources", "--api-group=stable.example.com").stdout:
        assert time.monotonic() < deadline, "the CRD's resource never appeared in discovery"
        time.sleep(0.5)
    ct = "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: my-cron}\n" \
         "spec: {cronSpec: '* * * * */5', image: my-cron-image}\n"
    assert kube.kubectl("apply", "-f", "-", input=ct).stdout.strip() == "crontab.stable.example.com/my-cron created"
    rows = kube.kubectl("get", "ct").stdout.splitlines()
    assert rows[0].split() == ["NAME", "SPEC", "REPLICAS"]  # only the declared columns, as apiextensions serves
    assert rows[1].split()[:6] == ["my-cron", "*", "*", "*", "*", "*/5"] and rows[1].split()[6] == "1"
    bad = kube.kubectl("apply", "-f", "-", input=ct.replace("my-cron}", "bad-cron}").replace(
        "image: my-cron-image}", "image: x, replicas: 0}"), check=False)
    assert bad.returncode == 1 and "spec.replicas" in bad.stderr and "should be greater than or equal to 1" \
        in bad.stderr
    assert "cronSpec" in kube.kubectl("explain", "crontab.spec").stdout
    kube.kubectl("delete", "crontab", "my-cron")
    kube.kubectl("delete", "crd", "crontabs.stable.example.com")


@pytest.mark.parametrize("minor", [27, 33])
def test_other_kubectl_minors(kube: ApiServer, minor: int, tmp_path: Path) -> None:
    """The dispatcher runs the bundled kubectl matching the server's /version minor: a smoke set on 1.27 and 1.33
    (a second apiserver on the same store reports that minor)."""
    from tests.support.apiserver import start_apiserver
    from tests.support.procs import ProcessGroup

    group = ProcessGroup(tmp_path / "logs")
    try:
        other = start_apiserver(group, kube.etcd_urls, tmp_path / "api", name=f"apiserver-1{minor}", minor=minor)
        v = json.loads(other.kubectl("version", "-o", "json").stdout)
        assert v["serverVersion"]["minor"] == str(minor) and v["clientVersion"]["minor"].startswith(str(minor))
        other.kubectl("apply", "-f", "-", input=deploy(f"m{minor}", 2))
        assert other.kubectl("get", "deploy", f"m{minor}", "--no-headers").stdout.split()[:2] == \
            [f"m{minor}", "0/2"]
        other.kubectl("scale", "deploy", f"m{minor}", "--replicas=3")
        other.kubectl("patch", "deploy", f"m{minor}", "-p", '{"metadata":{"labels":{"x":"y"}}}')
        assert other.kubectl("get", "deploy", "-l", "x=y", "-o", "name").stdout.strip() == \
            f"deployment.apps/m{minor}"
        assert "replicas" in other.kubectl("explain", "deployment.spec").stdout
        other.kubectl("delete", "deploy", f"m{minor}")
    finally:
        group.close()


def test_server_dry_run_and_field_validation(kube: ApiServer) -> None:
    out = kube.kubectl("apply", "-f", "-", "--dry-run=server", input=deploy("dry", 1)).stdout.strip()
    assert out == "deployment.apps/dry created (server dry run)"
    assert kube.kubectl("get", "deploy", "dry", check=False).returncode == 1
    manifest = yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fv"}, "bogus": 1})
    warn = kube.kubectl("create", "-f", "-", "--validate=warn", input=manifest)
    assert 'unknown field "bogus"' in warn.stderr and warn.stdout.strip() == "configmap/fv created"
    assert "bogus" not in kube.kubectl("get", "cm", "fv", "-o", "json").stdout
    kube.kubectl("delete", "cm", "fv")


def test_pod_security_and_priority_admission(kube: ApiServer) -> None:
    kube.kubectl("create", "namespace", "psa")
    kube.kubectl("create", "serviceaccount", "default", "-n", "psa")

    def pod(name: str, privileged: bool, priority_class: str | None = None) -> str:
        spec: dict[str, object] = {"containers": [{"name": "c", "image": "busybox",
                                                   "securityContext": {"privileged": privileged}}]}
        if priority_class:
            spec["priorityClassName"] = priority_class
        return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})

    kube.kubectl("create", "-n", "psa", "-f", "-", input=pod("early", True))
    relabel = kube.kubectl("label", "ns", "psa", "pod-security.kubernetes.io/enforce=baseline",
                           "pod-security.kubernetes.io/warn=restricted")
    assert 'existing pods in namespace "psa" violate the new PodSecurity enforce level "baseline:latest"' \
        in relabel.stderr
    denied = kube.kubectl("create", "-n", "psa", "-f", "-", input=pod("priv", True), check=False)
    assert denied.returncode == 1
    assert 'pods "priv" is forbidden: violates PodSecurity "baseline:latest": privileged (container "c" must not ' \
           'set securityContext.privileged=true)' in denied.stderr
    allowed = kube.kubectl("create", "-n", "psa", "-f", "-", input=pod("plain", False))
    assert 'Warning: would violate PodSecurity "restricted:latest"' in allowed.stderr
    bad_label = kube.kubectl("label", "ns", "psa", "--overwrite", "pod-security.kubernetes.io/enforce=strict",
                             check=False)
    assert 'Unsupported value: "strict"' in bad_label.stderr

    kube.kubectl("create", "priorityclass", "high", "--value=1000")
    kube.kubectl("create", "-n", "psa", "-f", "-", input=pod("important", False, "high"))
    got = json.loads(kube.kubectl("get", "pod", "important", "-n", "psa", "-o", "json").stdout)
    assert got["spec"]["priority"] == 1000
    unknown = kube.kubectl("create", "-n", "psa", "-f", "-", input=pod("lost", False, "nope"), check=False)
    assert "no PriorityClass with name nope was found" in unknown.stderr
    second = kube.kubectl("create", "priorityclass", "other-default", "--value=5", "--global-default", check=False)
    assert second.returncode == 0, second.stderr  # the first global default
    third = kube.kubectl("create", "priorityclass", "third-default", "--value=6", "--global-default", check=False)
    assert "PriorityClass other-default is already marked as default. Only one default can exist" in third.stderr
    kube.kubectl("delete", "priorityclass", "other-default", "high")
