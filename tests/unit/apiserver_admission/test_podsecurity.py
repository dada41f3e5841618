"""PodSecurity admission: messages compared with what real clusters print, levels from namespace labels."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver.admission import AdmissionError, pod_security, pod_security_namespace

pytestmark = pytest.mark.unit

Obj = dict[str, Any]
RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}
BASELINE = {"pod-security.kubernetes.io/enforce": "baseline"}
GOOD_SC = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
           "seccompProfile": {"type": "RuntimeDefault"}}


def pod(*containers: Obj, **spec: Any) -> Obj:
    return {"metadata": {"name": "nginx", "namespace": "x"}, "spec": {"containers": list(containers), **spec}}


def c(name: str = "nginx", **extra: Any) -> Obj:
    return {"name": name, "image": "nginx", **extra}


def _message(p: Obj, labels: dict[str, str]) -> str:
    with pytest.raises(AdmissionError) as e:
        pod_security(p, "Pod", labels)
    assert (e.value.code, e.value.reason) == (403, "Forbidden")
    return e.value.message


def test_plain_pod_in_a_restricted_namespace() -> None:
    assert _message(pod(c()), RESTRICTED) == (
        'pods "nginx" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false '
        '(container "nginx" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities '
        '(container "nginx" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or '
        'container "nginx" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "nginx" '
        'must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")')


def test_host_everything_in_restricted() -> None:
    p = pod(c("otel", ports=[{"containerPort": 4317, "hostPort": 4317}, {"containerPort": 9411, "hostPort": 9411},
                             {"containerPort": 14250, "hostPort": 14250}],
              securityContext={"privileged": True, "runAsUser": 0}),
            hostNetwork=True, hostPID=True,
            volumes=[{"name": "proc", "hostPath": {"path": "/proc"}}, {"name": "sys", "hostPath": {"path": "/sys"}},
                     {"name": "tmp", "emptyDir": {}}])
    assert _message(p, RESTRICTED) == (
        'pods "nginx" is forbidden: violates PodSecurity "restricted:latest": host namespaces (hostNetwork=true, '
        'hostPID=true), hostPort (container "otel" uses hostPorts 14250, 4317, 9411), privileged (container "otel" '
        'must not set securityContext.privileged=true), allowPrivilegeEscalation != false (container "otel" must '
        'set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "otel" must set '
        'securityContext.capabilities.drop=["ALL"]), restricted volume types (volumes "proc", "sys" use restricted '
        'volume type "hostPath"), runAsNonRoot != true (pod or container "otel" must set '
        'securityContext.runAsNonRoot=true), runAsUser=0 (container "otel" must not set runAsUser=0), seccompProfile '
        '(pod or container "otel" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")')


def test_compliant_pod_passes_restricted() -> None:
    p = pod(c(securityContext=GOOD_SC), c("side", securityContext={**GOOD_SC, "capabilities": {
        "drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}), volumes=[{"name": "cfg", "configMap": {"name": "x"}}])
    assert pod_security(p, "Pod", RESTRICTED) == []
    pod_level = pod(c(securityContext={"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}),
                    securityContext={"runAsNonRoot": True, "seccompProfile": {"type": "Localhost"}})
    assert pod_security(pod_level, "Pod", RESTRICTED) == []


@pytest.mark.parametrize(("p", "detail"), [
    (pod(c(securityContext={"capabilities": {"add": ["NET_ADMIN", "SYS_TIME"]}}), c("b", securityContext={
        "capabilities": {"add": ["CHOWN"]}})),
     'non-default capabilities (container "nginx" must not include "NET_ADMIN", "SYS_TIME" in '
     'securityContext.capabilities.add)'),
    (pod(c(), volumes=[{"name": "h", "hostPath": {"path": "/"}}]), 'hostPath volumes (volume "h")'),
    (pod(c(securityContext={"seccompProfile": {"type": "Unconfined"}}),
         securityContext={"seccompProfile": {"type": "Unconfined"}}),
     'seccompProfile (pod and container "nginx" must not set securityContext.seccompProfile.type to "Unconfined")'),
    (pod(c(ports=[{"containerPort": 80, "hostPort": 80}]), c("b", ports=[{"containerPort": 81, "hostPort": 81}])),
     'hostPort (containers "nginx", "b" use hostPorts 80, 81)'),
    (pod(c(securityContext={"procMount": "Unmasked"})),
     'procMount (container "nginx" must not set securityContext.procMount to "Unmasked")'),
    (pod(c(), securityContext={"sysctls": [{"name": "kernel.msgmax", "value": "1"},
                                            {"name": "net.ipv4.tcp_syncookies", "value": "1"}]}),
     "forbidden sysctls (kernel.msgmax)"),
    (pod(c(), hostIPC=True), "host namespaces (hostIPC=true)"),
    (pod(c(ports=[{"containerPort": 9100, "hostPort": 9100}]), hostNetwork=True, hostPID=True, hostIPC=True,
         volumes=[{"name": "proc", "hostPath": {"path": "/proc"}}, {"name": "sys", "hostPath": {"path": "/sys"}}]),
     'host namespaces (hostNetwork=true, hostPID=true, hostIPC=true), hostPath volumes (volumes "proc", "sys"), '
     'hostPort (container "nginx" uses hostPort 9100)'),
])
def test_baseline_violations(p: Obj, detail: str) -> None:
    assert _message(p, BASELINE) == f'pods "nginx" is forbidden: violates PodSecurity "baseline:latest": {detail}'


def test_baseline_allows_what_restricted_refuses() -> None:
    assert pod_security(pod(c(securityContext={"runAsUser": 0})), "Pod", BASELINE) == []
    assert pod_security(pod(c(securityContext={"privileged": True})), "Pod", {}) == []
    assert pod_security(pod(c(securityContext={"privileged": True})), "Pod",
                        {"pod-security.kubernetes.io/enforce": "privileged"}) == []


def test_warn_mode_and_versions() -> None:
    labels = {"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted",
              "pod-security.kubernetes.io/warn-version": "v1.30"}
    warnings = pod_security(pod(c()), "Pod", labels)
    assert len(warnings) == 1 and warnings[0].startswith(
        'would violate PodSecurity "restricted:v1.30": allowPrivilegeEscalation != false')
    with pytest.raises(AdmissionError, match=r'violates PodSecurity "baseline:v1\.29"'):
        pod_security(pod(c(), hostPID=True), "Pod", {**BASELINE, "pod-security.kubernetes.io/enforce-version":
                                                     "v1.29"})


def test_workloads_get_warnings_not_refusals() -> None:
    deploy = {"metadata": {"name": "web"}, "spec": {"template": {"spec": {"containers": [c()], "hostNetwork": True}}}}
    warnings = pod_security(deploy, "Deployment", RESTRICTED)
    assert warnings == ['would violate PodSecurity "restricted:latest": host namespaces (hostNetwork=true), '
                        'allowPrivilegeEscalation != false (container "nginx" must set '
                        'securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "nginx" '
                        'must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container '
                        '"nginx" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "nginx" '
                        'must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")']
    cron = {"metadata": {"name": "c"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": {
        "containers": [c()], "hostPID": True}}}}}}
    assert pod_security(cron, "CronJob", BASELINE) == [
        'would violate PodSecurity "baseline:latest": host namespaces (hostPID=true)']
    assert pod_security({"metadata": {"name": "cm"}}, "ConfigMap", RESTRICTED) == []


def _ns(**labels: str) -> Obj:
    return {"metadata": {"name": "legacy", "labels": labels}}


def test_namespace_labels_are_validated() -> None:
    with pytest.raises(AdmissionError) as e:
        pod_security_namespace("CREATE", _ns(**{"pod-security.kubernetes.io/enforce": "strict"}), None, [])
    assert (e.value.code, e.value.reason) == (422, "Invalid")
    assert e.value.message == ('Namespace "legacy" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: '
                               'Unsupported value: "strict": supported values: "privileged", "baseline", "restricted"')
    with pytest.raises(AdmissionError, match=r"must be 'latest' or 'v1\.x'"):
        pod_security_namespace("CREATE", _ns(**{"pod-security.kubernetes.io/warn-version": "1.30"}), None, [])
    assert pod_security_namespace("CREATE", _ns(**RESTRICTED), None, []) == []


def test_raising_enforce_warns_about_existing_pods() -> None:
    pods = [pod(c()), {**pod(c()), "metadata": {"name": "tools"}},
            {**pod(c(securityContext={"privileged": True})), "metadata": {"name": "agent"}},
            {**pod(c(securityContext=GOOD_SC)), "metadata": {"name": "fine"}}]
    warnings = pod_security_namespace("UPDATE", _ns(**RESTRICTED), _ns(), pods)
    assert warnings == [
        'existing pods in namespace "legacy" violate the new PodSecurity enforce level "restricted:latest"',
        "agent: privileged, allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, "
        "seccompProfile",
        "nginx (and 1 other pod): allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != "
        "true, seccompProfile"]
    assert pod_security_namespace("UPDATE", _ns(**BASELINE), _ns(**RESTRICTED), pods) == []   # relaxed
    assert pod_security_namespace("UPDATE", _ns(**RESTRICTED), _ns(**RESTRICTED), pods) == []  # unchanged
