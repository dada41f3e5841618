"""The pods the module creates at once (so their start-ups, restarts and back-offs overlap)."""

from __future__ import annotations

from typing import Any

SLEEP = "sleep 3600"


def _c(name: str, script: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox", "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", script], **kw}


def _pod(name: str, node: str, containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default",
                                                            "labels": {"app": name}},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 2, "containers": containers, **spec}}


SCRATCH = [{"name": "scratch", "emptyDir": {}}]
AT_SCRATCH = [{"name": "scratch", "mountPath": "/scratch"}]

# Each run bumps a counter kept in the emptyDir (which outlives container restarts), so instances are told apart.
COUNTED = "n=$(cat /scratch/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /scratch/n; echo instance-$n; "


def config_objects() -> list[dict[str, Any]]:
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kt-conf", "namespace": "default"},
         "data": {"color": "teal", "size": "XL", "nested": "deep-value"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "kt-secret", "namespace": "default"},
         "stringData": {"user": "admin", "password": "s3cr3t-pw"}},
    ]


def all_pods(node: str, hostpath: str) -> list[dict[str, Any]]:
    return [
        *config_objects(),
        _pod("solo", node, [_c("main", "echo solo-started; exec " + SLEEP)]),
        _pod("duo", node, [
            _c("server", "echo from-server > /scratch/note; echo server-log-line; "
                         "while true; do echo hello-over-localhost | nc -l -p 7070; done", volumeMounts=AT_SCRATCH),
            _c("client", "echo client-log-line; exec " + SLEEP, volumeMounts=AT_SCRATCH)],
            volumes=SCRATCH),
        _pod("oom", node, [_c("hog", COUNTED + "head -c 400m /dev/zero | tail",
                              resources={"limits": {"memory": "20Mi"}}, volumeMounts=AT_SCRATCH)],
             volumes=SCRATCH),
        _pod("cpu", node, [_c("spin", "while :; do :; done", resources={"limits": {"cpu": "200m"}})]),
        _pod("liveness", node, [_c("main", "echo live; exec " + SLEEP, livenessProbe={
            "exec": {"command": ["sh", "-c", "exit 1"]}, "periodSeconds": 1, "failureThreshold": 2})]),
        _pod("readiness", node, [_c("main", "exec " + SLEEP, readinessProbe={
            "exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1, "failureThreshold": 1})]),
        _pod("init", node, [_c("app", "cat /scratch/order; exec " + SLEEP, volumeMounts=AT_SCRATCH)],
             initContainers=[_c(f"init-{i}", f"sleep 0.{i}; echo step-{i} >> /scratch/order", volumeMounts=AT_SCRATCH)
                             for i in (1, 2, 3)],
             volumes=SCRATCH),
        _pod("ticker", node, [_c("main", "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.5; done")]),
        _pod("restarts", node, [_c("main", COUNTED + "sleep 1; exit 3", volumeMounts=AT_SCRATCH)],
             volumes=SCRATCH),
        _pod("config", node, [_c("main", "exec " + SLEEP, env=[
            {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "kt-conf", "key": "color"}}},
            {"name": "DB_USER", "valueFrom": {"secretKeyRef": {"name": "kt-secret", "key": "user"}}},
            {"name": "MY_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "MY_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "MEM_MI", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
            {"name": "CPU_M", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}}],
            envFrom=[{"configMapRef": {"name": "kt-conf"}, "prefix": "CM_"}, {"secretRef": {"name": "kt-secret"}}],
            resources={"limits": {"memory": "64Mi", "cpu": "300m"}},
            volumeMounts=[{"name": "cm", "mountPath": "/etc/cm"}, {"name": "sec", "mountPath": "/etc/sec"},
                          {"name": "cm-items", "mountPath": "/etc/cm-items"}])],
            volumes=[{"name": "cm", "configMap": {"name": "kt-conf"}},
                     {"name": "sec", "secret": {"secretName": "kt-secret"}},
                     {"name": "cm-items", "configMap": {"name": "kt-conf", "items": [
                         {"key": "nested", "path": "a/b/nested.txt"}]}}]),
        _pod("graceful", node, [_c("main", "trap 'echo got-SIGTERM >> /host/events; exit 0' TERM; "
                                           "echo running >> /host/events; while true; do sleep 0.2; done",
                                   volumeMounts=[{"name": "host", "mountPath": "/host"}],
                                   lifecycle={"preStop": {"exec": {"command": [
                                       "sh", "-c", "echo prestop-ran >> /host/events"]}}})],
             volumes=[{"name": "host", "hostPath": {"path": hostpath, "type": "Directory"}}],
             terminationGracePeriodSeconds=20),
        _pod("stubborn", node, [_c("main", "trap '' TERM; echo ignoring-TERM; while true; do sleep 0.2; done")],
             terminationGracePeriodSeconds=6),
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
         "spec": {"nodeName": node, "terminationGracePeriodSeconds": 2,
                  "containers": [{"name": "nginx", "image": "nginx", "imagePullPolicy": "IfNotPresent",
                                  "ports": [{"containerPort": 80}]}]}},
    ]
