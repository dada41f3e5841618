"""apiserver.kinds through the real path: kubectl -> apiserver -> real etcd.

What a user sees: defaults in ``kubectl get -o json`` and the real validation messages on stderr for the classic
mistakes (selector not matching the template, a Job with restartPolicy Always, editing a pod's ports, changing a
Deployment's selector, bad names). One control plane per module (3-member real etcd + one apiserver).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.apiserver import ApiServer, start_apiserver
from tests.support.procs import ProcessGroup
from tests.support.real_etcd import start_real_etcd

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    base: Path = tmp_path_factory.mktemp("kinds")
    group = ProcessGroup(base / "logs")
    try:
        members = start_real_etcd(group, base / "store")
        server = start_apiserver(group, [m.client_url for m in members], base / "apiserver")
        # No controller-manager here: create what the ServiceAccount controller would (pods need it to admit).
        server.kubectl("create", "serviceaccount", "default")
        yield server
    finally:
        group.close()


DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: %s}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx}]
"""


def test_deployment_defaults_and_selector_rules(kube: ApiServer) -> None:
    bad = kube.kubectl("apply", "-f", "-", input=DEPLOY % "other", check=False)
    assert bad.returncode == 1
    assert ('The Deployment "web" is invalid: spec.template.metadata.labels: Invalid value: '
            'map[string]string{"app":"web"}: `selector` does not match template `labels`') in bad.stderr
    kube.kubectl("apply", "-f", "-", input=DEPLOY % "web")
    spec = json.loads(kube.kubectl("get", "deploy", "web", "-o", "json").stdout)["spec"]
    assert (spec["replicas"], spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (1, 10, 600)
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    c = spec["template"]["spec"]["containers"][0]
    assert (c["imagePullPolicy"], c["terminationMessagePath"], c["terminationMessagePolicy"], c["resources"]) == \
        ("Always", "/dev/termination-log", "File", {})
    moved = kube.kubectl("apply", "-f", "-", input=(DEPLOY % "web2").replace("{app: web}}", "{app: web2}}"),
                         check=False)
    assert moved.returncode == 1
    assert ('spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, '
            'MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable') in moved.stderr


def test_job_restart_policy_and_generated_selector(kube: ApiServer) -> None:
    job = ("apiVersion: batch/v1\nkind: Job\nmetadata: {name: pi}\nspec:\n  template:\n    spec:\n"
           "      containers: [{name: pi, image: perl}]\n")
    bad = kube.kubectl("create", "-f", "-", input=job, check=False)
    assert bad.returncode == 1
    assert ('The Job "pi" is invalid: spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", '
            '"Never"') in bad.stderr
    kube.kubectl("create", "-f", "-", input=job.replace("containers:", "restartPolicy: Never\n      containers:"))
    obj = json.loads(kube.kubectl("get", "job", "pi", "-o", "json").stdout)
    uid = obj["metadata"]["uid"]
    assert obj["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    labels = obj["spec"]["template"]["metadata"]["labels"]
    assert labels["job-name"] == "pi" and labels["controller-uid"] == uid
    assert (obj["spec"]["backoffLimit"], obj["spec"]["completionMode"], obj["spec"]["suspend"]) == \
        (6, "NonIndexed", False)


def test_pod_names_and_immutable_spec(kube: ApiServer) -> None:
    bad = kube.kubectl("run", "Foo_bar", "--image=nginx", check=False)
    assert bad.returncode == 1
    # kubectl run names the container after the pod, so both are wrong; kubectl lists several causes one a line
    assert bad.stderr.startswith('The Pod "Foo_bar" is invalid: \n* metadata.name: Invalid value: "Foo_bar": a '
                                 'lowercase RFC 1123 subdomain must consist of')
    assert '* spec.containers[0].name: Invalid value: "Foo_bar": a lowercase RFC 1123 label must consist of' \
        in bad.stderr
    kube.kubectl("run", "p1", "--image=nginx:1.25", "--port=80")
    pod = json.loads(kube.kubectl("get", "pod", "p1", "-o", "json").stdout)
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert (pod["spec"]["dnsPolicy"], pod["spec"]["enableServiceLinks"], pod["spec"]["schedulerName"]) == \
        ("ClusterFirst", True, "default-scheduler")
    kube.kubectl("set", "image", "pod/p1", "p1=nginx:1.27")
    edited = kube.kubectl("patch", "pod", "p1", "-p",
                          '{"spec":{"containers":[{"name":"p1","ports":[{"containerPort":8080}]}]}}', check=False)
    assert edited.returncode == 1
    assert 'The Pod "p1" is invalid: spec: Forbidden: pod updates may not change fields other than ' \
           '`spec.containers[*].image`' in edited.stderr


def test_service_defaults_and_errors(kube: ApiServer) -> None:
    kube.kubectl("create", "service", "nodeport", "np", "--tcp=80:8080")
    spec = json.loads(kube.kubectl("get", "svc", "np", "-o", "json").stdout)["spec"]
    assert (spec["type"], spec["sessionAffinity"], spec["externalTrafficPolicy"], spec["ipFamilyPolicy"]) == \
        ("NodePort", "None", "Cluster", "SingleStack")
    assert spec["ports"][0]["protocol"] == "TCP" and 30000 <= spec["ports"][0]["nodePort"] <= 32767
    svc = ("apiVersion: v1\nkind: Service\nmetadata: {name: two}\nspec:\n  ports: [{port: 80}, {port: 443, "
           "protocol: HTTP}]\n")
    bad = kube.kubectl("create", "-f", "-", input=svc, check=False)
    assert bad.returncode == 1
    assert 'spec.ports[0].name: Required value' in bad.stderr
    assert 'spec.ports[1].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"' in bad.stderr
