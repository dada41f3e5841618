from __future__ import annotations

import pytest

from node_agent.kubelet.containers import container_request, pod_log_dir, sandbox_request
from node_agent.kubelet.volumes import Mount
from node_agent.kubelet.worker import referenced_names

from .helpers import c, pod

pytestmark = pytest.mark.unit


def test_sandbox_request() -> None:
    p = pod(meta={"labels": {"app": "web"}, "annotations": {"a": "b"}})
    r = sandbox_request(p, 2, "/logs", dns_servers=("10.96.0.10",))
    assert (r.name, r.namespace, r.uid, r.attempt, r.hostname) == ("web", "default", "u1", 2, "web")
    assert r.log_directory == "/logs/default_web_u1" == pod_log_dir("/logs", p)
    assert r.labels == {"app": "web", "io.kubernetes.pod.uid": "u1", "io.kubernetes.pod.name": "web",
                        "io.kubernetes.pod.namespace": "default"}
    assert r.dns_searches == ("default.svc.cluster.local", "svc.cluster.local", "cluster.local")
    assert sandbox_request(pod(spec={"hostname": "h1"}), 0, "/l").hostname == "h1"


def test_container_request() -> None:
    spec = c("app", command=["sh", "-c"], args=["echo $(GREETING) $$(GREETING)"], workingDir="/w",
             resources={"limits": {"cpu": "500m", "memory": "64Mi"}})
    r = container_request(pod([spec]), spec, 3, [("GREETING", "hi")], [Mount("/data", "/h/data", False)])
    assert r.command == ("sh", "-c") and r.args == ("echo hi $(GREETING)",)
    assert (r.name, r.attempt, r.image, r.working_dir, r.log_path) == ("app", 3, "busybox:1.36", "/w", "app/3.log")
    assert r.labels["io.kubernetes.container.name"] == "app" and r.labels["io.kubernetes.pod.uid"] == "u1"
    assert (r.cpu_quota, r.cpu_period, r.cpu_shares, r.memory_limit_in_bytes) == (50000, 100000, 512, 64 << 20)
    assert r.mounts[0].container_path == "/data" and r.envs == (("GREETING", "hi"),)


def test_referenced_names() -> None:
    p = pod([c("app", envFrom=[{"configMapRef": {"name": "cm1"}}, {"secretRef": {"name": "s1"}}],
               env=[{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s2", "key": "k"}}}])],
            spec={"volumes": [{"name": "v", "configMap": {"name": "cm2"}},
                              {"name": "p", "projected": {"sources": [{"secret": {"name": "s3"}},
                                                                      {"configMap": {"name": "cm3"}}]}}]})
    assert referenced_names(p) == ({"cm1", "cm2", "cm3"}, {"s1", "s2", "s3"})


def test_security_fields() -> None:
    spec = c("app", securityContext={"runAsUser": 2000, "privileged": True, "readOnlyRootFilesystem": True})
    p = pod([spec, c("b")], spec={"shareProcessNamespace": True, "hostNetwork": True,
                                  "securityContext": {"runAsUser": 1000, "runAsGroup": 3000}})
    sr = sandbox_request(p, 0, "/l")
    assert (sr.share_pid, sr.host_network, sr.run_as_user, sr.run_as_group) == (True, True, 1000, 3000)
    r = container_request(p, spec, 0, [], [])
    assert (r.run_as_user, r.run_as_group, r.privileged, r.read_only_rootfs) == (2000, 3000, True, True)
    r2 = container_request(p, c("b"), 0, [], [])
    assert (r2.run_as_user, r2.privileged) == (1000, False)
