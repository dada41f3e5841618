"""Columns and cells of every built-in resource, for realistic objects (shapes from the Kubernetes docs)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from apiserver.resources import BUILTIN, VIRTUAL
from apiserver.tables import column_definitions, has_printer, row_cells

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
Obj = dict[str, Any]


def meta(name: str, age_s: int = 300, **extra: Any) -> Obj:
    created = (NOW - dt.timedelta(seconds=age_s)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"name": name, "namespace": "default", "creationTimestamp": created, **extra}


def ts(ago_s: int) -> str:
    return (NOW - dt.timedelta(seconds=ago_s)).strftime("%Y-%m-%dT%H:%M:%SZ")


TEMPLATE = {"metadata": {"labels": {"app": "nginx"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2"},
                                    {"name": "sidecar", "image": "busybox"}]}}
SELECTOR = {"matchLabels": {"app": "nginx"}, "matchExpressions": [{"key": "tier", "operator": "In",
                                                                    "values": ["web", "front"]}]}

CASES: list[tuple[str, str, Obj, list[str], list[Any]]] = [
    ("apps", "deployments",
     {"metadata": meta("nginx-deployment"), "spec": {"replicas": 3, "selector": SELECTOR, "template": TEMPLATE},
      "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}},
     ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"],
     ["nginx-deployment", "2/3", 3, 2, "5m", "nginx,sidecar", "nginx:1.14.2,busybox",
      "app=nginx,tier in (front,web)"]),
    ("apps", "deployments", {"metadata": meta("empty"), "spec": {"template": {"spec": {}}}},
     ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"],
     ["empty", "0/0", 0, 0, "5m", "", "", ""]),
    ("apps", "replicasets",
     {"metadata": meta("frontend-7d8f"), "spec": {"replicas": 3, "selector": {"matchLabels": {"tier": "frontend"}},
                                                  "template": TEMPLATE},
      "status": {"replicas": 3, "readyReplicas": 1}},
     ["Name", "Desired", "Current", "Ready", "Age", "Containers", "Images", "Selector"],
     ["frontend-7d8f", 3, 3, 1, "5m", "nginx,sidecar", "nginx:1.14.2,busybox", "tier=frontend"]),
    ("apps", "statefulsets",
     {"metadata": meta("web", 7200), "spec": {"replicas": 3, "template": TEMPLATE}, "status": {"readyReplicas": 3}},
     ["Name", "Ready", "Age", "Containers", "Images"],
     ["web", "3/3", "120m", "nginx,sidecar", "nginx:1.14.2,busybox"]),
    ("apps", "daemonsets",
     {"metadata": meta("fluentd", 3 * 86400), "spec": {"selector": {"matchLabels": {"name": "fluentd"}},
                                                      "template": {"spec": {"nodeSelector": {
                                                          "kubernetes.io/os": "linux", "disk": "ssd"},
                                                          "containers": [{"name": "f", "image": "fluentd:v2"}]}}},
      "status": {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 1,
                 "updatedNumberScheduled": 2, "numberAvailable": 1}},
     ["Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age", "Containers",
      "Images", "Selector"],
     ["fluentd", 2, 2, 1, 2, 1, "disk=ssd,kubernetes.io/os=linux", "3d", "f", "fluentd:v2", "name=fluentd"]),
    ("apps", "controllerrevisions",
     {"metadata": meta("web-6596", ownerReferences=[{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web",
                                                     "uid": "u", "controller": True}]), "revision": 2},
     ["Name", "Controller", "Revision", "Age"], ["web-6596", "statefulset.apps/web", 2, "5m"]),
    ("apps", "controllerrevisions", {"metadata": meta("orphan"), "revision": 1},
     ["Name", "Controller", "Revision", "Age"], ["orphan", "<none>", 1, "5m"]),
    ("", "replicationcontrollers",
     {"metadata": meta("nginx"), "spec": {"replicas": 3, "selector": {"app": "nginx"}, "template": TEMPLATE},
      "status": {"replicas": 3, "readyReplicas": 3}},
     ["Name", "Desired", "Current", "Ready", "Age", "Containers", "Images", "Selector"],
     ["nginx", 3, 3, 3, "5m", "nginx,sidecar", "nginx:1.14.2,busybox", "app=nginx"]),
    ("", "podtemplates", {"metadata": meta("tpl"), "template": TEMPLATE},
     ["Name", "Containers", "Images", "Pod Labels"], ["tpl", "nginx,sidecar", "nginx:1.14.2,busybox", "app=nginx"]),
    ("batch", "jobs",
     {"metadata": meta("pi", 600), "spec": {"completions": 1, "parallelism": 1, "selector": {"matchLabels": {
         "batch.kubernetes.io/controller-uid": "abc"}}, "template": {"spec": {"containers": [
             {"name": "pi", "image": "perl:5.34.0"}]}}},
      "status": {"succeeded": 1, "startTime": ts(600), "completionTime": ts(588),
                 "conditions": [{"type": "SuccessCriteriaMet", "status": "True"},
                                {"type": "Complete", "status": "True"}]}},
     ["Name", "Status", "Completions", "Duration", "Age", "Containers", "Images", "Selector"],
     ["pi", "Complete", "1/1", "12s", "10m", "pi", "perl:5.34.0", "batch.kubernetes.io/controller-uid=abc"]),
    ("batch", "jobs",
     {"metadata": meta("work", 200), "spec": {"parallelism": 3, "template": {"spec": {"containers": []}}},
      "status": {"succeeded": 1, "startTime": ts(190)}},
     ["Name", "Status", "Completions", "Duration", "Age", "Containers", "Images", "Selector"],
     ["work", "Running", "1/1 of 3", "3m10s", "3m20s", "", "", "<none>"]),
    ("batch", "cronjobs",
     {"metadata": meta("hello", 86400 * 10), "spec": {"schedule": "* * * * *", "timeZone": "Etc/UTC",
                                                      "suspend": False, "jobTemplate": {"spec": {"template": {
                                                          "spec": {"containers": [{"name": "hello",
                                                                                   "image": "busybox:1.28"}]}}}}},
      "status": {"active": [{"name": "hello-1"}], "lastScheduleTime": ts(40)}},
     ["Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age", "Containers", "Images",
      "Selector"],
     ["hello", "* * * * *", "Etc/UTC", "False", 1, "40s", "10d", "hello", "busybox:1.28", "<none>"]),
    ("batch", "cronjobs", {"metadata": meta("new", 5), "spec": {"schedule": "@hourly"}},
     ["Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age", "Containers", "Images",
      "Selector"],
     ["new", "@hourly", "<none>", "<unset>", 0, "<none>", "5s", "", "", "<none>"]),
    ("", "services",
     {"metadata": meta("my-service"), "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.12",
                                               "clusterIPs": ["10.96.0.12"], "selector": {"app": "web"},
                                               "ports": [{"port": 80, "protocol": "TCP", "targetPort": 9376},
                                                         {"port": 53, "protocol": "UDP"}]}},
     ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"],
     ["my-service", "ClusterIP", "10.96.0.12", "<none>", "80/TCP,53/UDP", "5m", "app=web"]),
    ("", "services",
     {"metadata": meta("np"), "spec": {"type": "NodePort", "clusterIPs": ["10.96.0.13"], "externalIPs": ["1.2.3.4"],
                                       "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}},
     ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"],
     ["np", "NodePort", "10.96.0.13", "1.2.3.4", "80:30080/TCP", "5m", "<none>"]),
    ("", "services",
     {"metadata": meta("lb"), "spec": {"type": "LoadBalancer", "clusterIPs": ["10.96.0.14"],
                                       "ports": [{"port": 443, "nodePort": 31443, "protocol": "TCP"}]},
      "status": {"loadBalancer": {}}},
     ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"],
     ["lb", "LoadBalancer", "10.96.0.14", "<pending>", "443:31443/TCP", "5m", "<none>"]),
    ("", "services",
     {"metadata": meta("lb2"), "spec": {"type": "LoadBalancer", "clusterIPs": ["10.96.0.15"],
                                        "externalIPs": ["9.9.9.9"], "ports": []},
      "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}, {"hostname": "a-very-long-name.example.com"},
                                              {"ip": "203.0.113.9"}]}}},
     ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"],
     ["lb2", "LoadBalancer", "10.96.0.15", "203.0.113.9,a-very-long-name.example.com,9.9.9.9", "<none>", "5m",
      "<none>"]),
    ("", "services",
     {"metadata": meta("db"), "spec": {"type": "ExternalName", "externalName": "db.example.com"}},
     ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"],
     ["db", "ExternalName", "<none>", "db.example.com", "<none>", "5m", "<none>"]),
    ("", "services",
     {"metadata": meta("headless"), "spec": {"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"],
                                             "ports": [{"port": 80, "protocol": "TCP"}]}},
     ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"],
     ["headless", "ClusterIP", "None", "<none>", "80/TCP", "5m", "<none>"]),
    ("", "endpoints",
     {"metadata": meta("my-service"), "subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
                                                   "ports": [{"port": 80}]},
                                                  {"addresses": [{"ip": "10.0.0.3"}, {"ip": "fd00::4"}],
                                                   "ports": [{"port": 80}]}]},
     ["Name", "Endpoints", "Age"], ["my-service", "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...", "5m"]),
    ("", "endpoints",
     {"metadata": meta("v6"), "subsets": [{"addresses": [{"ip": "fd00::4"}], "ports": [{"port": 8080}]}]},
     ["Name", "Endpoints", "Age"], ["v6", "[fd00::4]:8080", "5m"]),
    ("", "endpoints",
     {"metadata": meta("headless"), "subsets": [{"addresses": [{"ip": "10.0.0.1"}]}]},
     ["Name", "Endpoints", "Age"], ["headless", "10.0.0.1", "5m"]),
    ("", "endpoints", {"metadata": meta("none")}, ["Name", "Endpoints", "Age"], ["none", "<none>", "5m"]),
    ("discovery.k8s.io", "endpointslices",
     {"metadata": meta("example-abc"), "addressType": "IPv4",
      "ports": [{"name": "http", "protocol": "TCP", "port": 80}, {"name": "metrics"}],
      "endpoints": [{"addresses": ["10.1.2.3"], "conditions": {"ready": True}},
                    {"addresses": ["10.1.2.4", "10.1.2.5", "10.1.2.6"]}]},
     ["Name", "AddressType", "Ports", "Endpoints", "Age"],
     ["example-abc", "IPv4", "80,metrics", "10.1.2.3,10.1.2.4,10.1.2.5 + 1 more...", "5m"]),
    ("discovery.k8s.io", "endpointslices", {"metadata": meta("empty"), "addressType": "IPv4"},
     ["Name", "AddressType", "Ports", "Endpoints", "Age"], ["empty", "IPv4", "<unset>", "<unset>", "5m"]),
    ("", "nodes",
     {"metadata": meta("kind-control-plane", 86400 * 30, labels={"node-role.kubernetes.io/control-plane": "",
                                                                  "kubernetes.io/hostname": "kind"}),
      "spec": {"unschedulable": True},
      "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                 "addresses": [{"type": "InternalIP", "address": "172.18.0.2"},
                               {"type": "Hostname", "address": "kind"}],
                 "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
                              "kernelVersion": "6.1.0-18-amd64", "containerRuntimeVersion": "containerd://1.7.13"}}},
     ["Name", "Status", "Roles", "Age", "Version", "Internal-IP", "External-IP", "OS-Image", "Kernel-Version",
      "Container-Runtime"],
     ["kind-control-plane", "Ready,SchedulingDisabled", "control-plane", "30d", "v1.32.0", "172.18.0.2", "<none>",
      "Debian GNU/Linux 12 (bookworm)", "6.1.0-18-amd64", "containerd://1.7.13"]),
    ("", "nodes",
     {"metadata": meta("w1", labels={"kubernetes.io/role": "worker", "node-role.kubernetes.io/infra": "x",
                                     "node-role.kubernetes.io/": ""}),
      "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}},
     ["Name", "Status", "Roles", "Age", "Version", "Internal-IP", "External-IP", "OS-Image", "Kernel-Version",
      "Container-Runtime"],
     ["w1", "NotReady", "infra,worker", "5m", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"]),
    ("", "nodes", {"metadata": meta("new")},
     ["Name", "Status", "Roles", "Age", "Version", "Internal-IP", "External-IP", "OS-Image", "Kernel-Version",
      "Container-Runtime"],
     ["new", "Unknown", "<none>", "5m", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"]),
    ("", "namespaces", {"metadata": meta("kube-system", 86400 * 400), "status": {"phase": "Active"}},
     ["Name", "Status", "Age"], ["kube-system", "Active", "400d"]),
    ("", "namespaces", {"metadata": meta("gone"), "status": {"phase": "Terminating"}},
     ["Name", "Status", "Age"], ["gone", "Terminating", "5m"]),
    ("", "configmaps", {"metadata": meta("game-config"), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AAA="}},
     ["Name", "Data", "Age"], ["game-config", 3, "5m"]),
    ("", "secrets", {"metadata": meta("db-user-pass"), "type": "Opaque", "data": {"username": "YWRtaW4=",
                                                                                  "password": "cGFzcw=="}},
     ["Name", "Type", "Data", "Age"], ["db-user-pass", "Opaque", 2, "5m"]),
    ("", "serviceaccounts", {"metadata": meta("default", 86400 * 2)}, ["Name", "Secrets", "Age"],
     ["default", 0, "2d"]),
    ("", "persistentvolumes",
     {"metadata": meta("task-pv-volume"),
      "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
               "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "manual", "volumeMode": "Filesystem",
               "claimRef": {"namespace": "default", "name": "task-pv-claim"}, "hostPath": {"path": "/mnt/data"}},
      "status": {"phase": "Bound"}},
     ["Name", "Capacity", "Access Modes", "Reclaim Policy", "Status", "Claim", "StorageClass",
      "VolumeAttributesClass", "Reason", "Age", "VolumeMode"],
     ["task-pv-volume", "10Gi", "RWO,RWX", "Retain", "Bound", "default/task-pv-claim", "manual", "<unset>", "",
      "5m", "Filesystem"]),
    ("", "persistentvolumes",
     {"metadata": meta("pv2", deletionTimestamp=ts(1),
                       annotations={"volume.beta.kubernetes.io/storage-class": "old"}),
      "spec": {"capacity": {"storage": "1.5Gi"}, "storageClassName": "new"}, "status": {"phase": "Released"}},
     ["Name", "Capacity", "Access Modes", "Reclaim Policy", "Status", "Claim", "StorageClass",
      "VolumeAttributesClass", "Reason", "Age", "VolumeMode"],
     ["pv2", "1536Mi", "", "", "Terminating", "", "old", "<unset>", "", "5m", "<unset>"]),
    ("", "persistentvolumeclaims",
     {"metadata": meta("task-pv-claim"),
      "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "3Gi"}},
               "storageClassName": "manual", "volumeName": "task-pv-volume", "volumeMode": "Filesystem"},
      "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce", "ReadWriteOncePod"],
                 "capacity": {"storage": "10Gi"}}},
     ["Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass", "VolumeAttributesClass", "Age",
      "VolumeMode"],
     ["task-pv-claim", "Bound", "task-pv-volume", "10Gi", "RWO,RWOP", "manual", "<unset>", "5m", "Filesystem"]),
    ("", "persistentvolumeclaims",
     {"metadata": meta("pending"), "spec": {"accessModes": ["ReadWriteOnce"],
                                            "resources": {"requests": {"storage": "3Gi"}}},
      "status": {"phase": "Pending"}},
     ["Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass", "VolumeAttributesClass", "Age",
      "VolumeMode"],
     ["pending", "Pending", "", "", "", "", "<unset>", "5m", "<unset>"]),
    ("", "resourcequotas",
     {"metadata": meta("compute-resources"),
      "spec": {"hard": {"requests.cpu": "1", "requests.memory": "1Gi", "limits.cpu": "2", "limits.memory": "2Gi",
                        "pods": "4"}},
      "status": {"hard": {"requests.cpu": "1", "requests.memory": "1Gi", "limits.cpu": "2", "limits.memory": "2Gi",
                          "pods": "4"},
                 "used": {"requests.cpu": "500m", "requests.memory": "0", "limits.cpu": "1", "pods": "1"}}},
     ["Name", "Request", "Limit", "Age"],
     ["compute-resources", "pods: 1/4, requests.cpu: 500m/1, requests.memory: 0/1Gi",
      "limits.cpu: 1/2, limits.memory: 0/2Gi", "5m"]),
    ("autoscaling", "horizontalpodautoscalers",
     {"metadata": meta("php-apache"),
      "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "php-apache"},
               "minReplicas": 1, "maxReplicas": 10,
               "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                   "type": "Utilization", "averageUtilization": 50}}}]},
      "status": {"currentReplicas": 1, "desiredReplicas": 1,
                 "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {
                     "averageUtilization": 0, "averageValue": "1m"}}}]}},
     ["Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"],
     ["php-apache", "Deployment/php-apache", "cpu: 0%/50%", "1", 10, 1, "5m"]),
    ("autoscaling", "horizontalpodautoscalers",
     {"metadata": meta("multi"),
      "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 5,
               "metrics": [{"type": "Resource", "resource": {"name": "memory", "target": {
                   "type": "AverageValue", "averageValue": "500Mi"}}},
                           {"type": "Pods", "pods": {"metric": {"name": "packets"}, "target": {
                               "type": "AverageValue", "averageValue": "1k"}}},
                           {"type": "Object", "object": {"metric": {"name": "requests"}, "target": {
                               "type": "Value", "value": "10k"}}}]},
      "status": {"currentReplicas": 2}},
     ["Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"],
     ["multi", "Deployment/web", "memory: <unknown>/500Mi, <unknown>/1k + 1 more...", "<unset>", 5, 2, "5m"]),
    ("autoscaling", "horizontalpodautoscalers",
     {"metadata": meta("none"), "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "x"}, "maxReplicas": 3}},
     ["Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"],
     ["none", "Deployment/x", "<none>", "<unset>", 3, 0, "5m"]),
    ("policy", "poddisruptionbudgets",
     {"metadata": meta("zk-pdb"), "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "zk"}}},
      "status": {"disruptionsAllowed": 1}},
     ["Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"], ["zk-pdb", "2", "N/A", 1, "5m"]),
    ("policy", "poddisruptionbudgets",
     {"metadata": meta("pct"), "spec": {"maxUnavailable": "25%"}},
     ["Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"], ["pct", "N/A", "25%", 0, "5m"]),
    ("networking.k8s.io", "ingresses",
     {"metadata": meta("minimal-ingress"),
      "spec": {"ingressClassName": "nginx-example", "rules": [{"host": "foo.bar.com"}, {"http": {}},
                                                              {"host": "*.foo.com"}],
               "tls": [{"hosts": ["foo.bar.com"], "secretName": "s"}]},
      "status": {"loadBalancer": {"ingress": [{"ip": "192.168.1.10"}]}}},
     ["Name", "Class", "Hosts", "Address", "Ports", "Age"],
     ["minimal-ingress", "nginx-example", "foo.bar.com,*.foo.com", "192.168.1.10", "80, 443", "5m"]),
    ("networking.k8s.io", "ingresses",
     {"metadata": meta("many"), "spec": {"rules": [{"host": f"h{i}.example.com"} for i in range(5)]}},
     ["Name", "Class", "Hosts", "Address", "Ports", "Age"],
     ["many", "<none>", "h0.example.com,h1.example.com,h2.example.com + 2 more...", "", "80", "5m"]),
    ("networking.k8s.io", "ingressclasses",
     {"metadata": meta("external-lb"), "spec": {"controller": "example.com/ingress-controller", "parameters": {
         "apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "external-lb"}}},
     ["Name", "Controller", "Parameters", "Age"],
     ["external-lb", "example.com/ingress-controller", "IngressParameters.k8s.example.com/external-lb", "5m"]),
    ("networking.k8s.io", "networkpolicies",
     {"metadata": meta("test-network-policy"), "spec": {"podSelector": {"matchLabels": {"role": "db"}},
                                                        "policyTypes": ["Ingress"]}},
     ["Name", "Pod-Selector", "Age"], ["test-network-policy", "role=db", "5m"]),
    ("networking.k8s.io", "networkpolicies", {"metadata": meta("deny-all"), "spec": {"podSelector": {}}},
     ["Name", "Pod-Selector", "Age"], ["deny-all", "<none>", "5m"]),
    ("coordination.k8s.io", "leases",
     {"metadata": meta("kube-scheduler"), "spec": {"holderIdentity": "node1_abc", "leaseDurationSeconds": 15}},
     ["Name", "Holder", "Age"], ["kube-scheduler", "node1_abc", "5m"]),
    ("storage.k8s.io", "storageclasses",
     {"metadata": meta("standard", annotations={"storageclass.kubernetes.io/is-default-class": "true"}),
      "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"},
     ["Name", "Provisioner", "ReclaimPolicy", "VolumeBindingMode", "AllowVolumeExpansion", "Age"],
     ["standard (default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer", False, "5m"]),
    ("storage.k8s.io", "storageclasses",
     {"metadata": meta("fast"), "provisioner": "kubernetes.io/no-provisioner", "allowVolumeExpansion": True},
     ["Name", "Provisioner", "ReclaimPolicy", "VolumeBindingMode", "AllowVolumeExpansion", "Age"],
     ["fast", "kubernetes.io/no-provisioner", "Delete", "Immediate", True, "5m"]),
    ("storage.k8s.io", "volumeattachments",
     {"metadata": meta("csi-123"), "spec": {"attacher": "ebs.csi.aws.com", "nodeName": "n1",
                                            "source": {"persistentVolumeName": "pv-1"}},
      "status": {"attached": True}},
     ["Name", "Attacher", "PV", "Node", "Attached", "Age"], ["csi-123", "ebs.csi.aws.com", "pv-1", "n1", True, "5m"]),
    ("storage.k8s.io", "csidrivers",
     {"metadata": meta("hostpath.csi.k8s.io"), "spec": {"podInfoOnMount": True,
                                                        "volumeLifecycleModes": ["Persistent", "Ephemeral"]}},
     ["Name", "AttachRequired", "PodInfoOnMount", "StorageCapacity", "TokenRequests", "RequiresRepublish", "Modes",
      "Age"],
     ["hostpath.csi.k8s.io", True, True, False, "<unset>", False, "Persistent,Ephemeral", "5m"]),
    ("rbac.authorization.k8s.io", "rolebindings",
     {"metadata": meta("read-pods"), "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                 "name": "pod-reader"},
      "subjects": [{"kind": "User", "name": "jane"}, {"kind": "User", "name": "joe"},
                   {"kind": "Group", "name": "devs"},
                   {"kind": "ServiceAccount", "name": "ci", "namespace": "tools"}]},
     ["Name", "Role", "Age", "Users", "Groups", "ServiceAccounts"],
     ["read-pods", "Role/pod-reader", "5m", "jane, joe", "devs", "tools/ci"]),
    ("rbac.authorization.k8s.io", "clusterrolebindings",
     {"metadata": meta("cluster-admin", 86400 * 9), "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
      "subjects": [{"kind": "Group", "name": "system:masters"}]},
     ["Name", "Role", "Age", "Users", "Groups", "ServiceAccounts"],
     ["cluster-admin", "ClusterRole/cluster-admin", "9d", "", "system:masters", ""]),
    ("scheduling.k8s.io", "priorityclasses",
     {"metadata": meta("high-priority"), "value": 1000000, "globalDefault": False,
      "preemptionPolicy": "PreemptLowerPriority"},
     ["Name", "Value", "Global-Default", "Age", "PreemptionPolicy"],
     ["high-priority", 1000000, False, "5m", "PreemptLowerPriority"]),
    # No printer: the generic convertor's creation time (RFC 3339, not an age).
    ("rbac.authorization.k8s.io", "roles", {"metadata": meta("pod-reader", 90)}, ["Name", "Created At"],
     ["pod-reader", "2026-01-01T11:58:30Z"]),
    ("rbac.authorization.k8s.io", "clusterroles", {"metadata": {"name": "view"}}, ["Name", "Created At"],
     ["view", "0001-01-01T00:00:00Z"]),
    ("", "limitranges", {"metadata": meta("cpu-limit-range")}, ["Name", "Created At"],
     ["cpu-limit-range", ts(300)]),
    ("apiextensions.k8s.io", "customresourcedefinitions", {"metadata": meta("crontabs.stable.example.com")},
     ["Name", "Created At"], ["crontabs.stable.example.com", ts(300)]),
    # A custom resource whose CRD lists no printer columns: NAME, AGE as apiextensions serves it.
    ("stable.example.com", "crontabs", {"metadata": meta("my-new-cron-object")}, ["Name", "Age"],
     ["my-new-cron-object", "5m"]),
]


@pytest.mark.parametrize(("group", "resource", "obj", "columns", "cells"), CASES,
                         ids=[f"{c[1]}-{c[2]['metadata'].get('name')}" for c in CASES])
def test_columns_and_cells(group: str, resource: str, obj: Obj, columns: list[str], cells: list[Any]) -> None:
    cols = column_definitions(group, resource)
    assert [c["name"] for c in cols] == columns
    got = row_cells(group, resource, obj, NOW)
    assert got == cells
    assert len(got) == len(cols)
    # Cell types follow the real printers' Go types (int64 cells are ints, bools stay bools).
    assert [type(c) for c in got] == [type(c) for c in cells]


WIDE = {
    ("", "pods"): ["IP", "Node", "Nominated Node", "Readiness Gates"],
    ("apps", "deployments"): ["Containers", "Images", "Selector"],
    ("apps", "replicasets"): ["Containers", "Images", "Selector"],
    ("apps", "statefulsets"): ["Containers", "Images"],
    ("apps", "daemonsets"): ["Containers", "Images", "Selector"],
    ("batch", "jobs"): ["Containers", "Images", "Selector"],
    ("batch", "cronjobs"): ["Containers", "Images", "Selector"],
    ("", "services"): ["Selector"],
    ("", "nodes"): ["Internal-IP", "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"],
    ("", "events"): ["Subobject", "Source", "First Seen", "Count", "Name"],
    ("", "persistentvolumes"): ["VolumeMode"],
    ("", "persistentvolumeclaims"): ["VolumeMode"],
    ("rbac.authorization.k8s.io", "rolebindings"): ["Users", "Groups", "ServiceAccounts"],
    ("", "configmaps"): [],
    ("", "namespaces"): [],
}


@pytest.mark.parametrize(("key", "wide"), list(WIDE.items()), ids=[k[1] for k in WIDE])
def test_wide_columns_have_priority_one(key: tuple[str, str], wide: list[str]) -> None:
    cols = column_definitions(*key)
    assert [c["name"] for c in cols if c["priority"] == 1] == wide
    assert all(c["priority"] in (0, 1) for c in cols)


def test_column_types_and_formats() -> None:
    types = {c["name"]: c["type"] for c in column_definitions("batch", "cronjobs")}
    assert types["Suspend"] == "boolean" and types["Active"] == "integer" and types["Schedule"] == "string"
    rs = {c["name"]: c["type"] for c in column_definitions("apps", "replicasets")}
    assert rs["Desired"] == rs["Current"] == rs["Ready"] == "integer"
    assert [c["format"] for c in column_definitions("", "configmaps")] == ["name", "", ""]
    generic = column_definitions("rbac.authorization.k8s.io", "roles")
    assert generic[1]["type"] == "date"
    assert column_definitions("", "services")[1]["description"] == "The type field of ServiceSpec."


def test_every_served_resource_has_a_table() -> None:
    """Every stored built-in resource yields well-formed columns and a row of the same width."""
    for r in BUILTIN:
        if r.resource in VIRTUAL:
            continue
        cols = column_definitions(r.group, r.resource)
        assert cols[0]["name"] in ("Name", "Last Seen")
        for c in cols:
            assert set(c) == {"name", "type", "format", "description", "priority"}
            assert c["type"] in ("string", "integer", "number", "boolean", "date")
        cells = row_cells(r.group, r.resource, {"metadata": meta("x")}, NOW)
        assert len(cells) == len(cols), r.resource
        # Malformed objects never raise.
        assert len(row_cells(r.group, r.resource, {"metadata": [], "spec": "x", "status": 1}, NOW)) == len(cols)


def test_columns_are_copies() -> None:
    cols = column_definitions("", "pods")
    cols[0]["name"] = "mutated"
    assert column_definitions("", "pods")[0]["name"] == "Name"
    assert has_printer("", "pods") and not has_printer("", "limitranges")


def test_v1_shapes_convert_like_the_apiserver() -> None:
    """podIP fills podIPs, clusterIP fills clusterIPs, a v1 HPA's CPU target reads as a v2 metric."""
    pod = {"metadata": meta("p"), "spec": {"containers": []}, "status": {"phase": "Running", "podIP": "10.0.0.9"}}
    assert row_cells("", "pods", pod, NOW)[5] == "10.0.0.9"
    svc = {"metadata": meta("s"), "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.1", "ports": []}}
    assert row_cells("", "services", svc, NOW)[2] == "10.96.0.1"
    hpa = {"metadata": meta("h"), "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 4,
                                           "targetCPUUtilizationPercentage": 70},
           "status": {"currentReplicas": 2, "currentCPUUtilizationPercentage": 35}}
    assert row_cells("autoscaling", "horizontalpodautoscalers", hpa, NOW)[2] == "cpu: 35%/70%"
    hpa["status"] = {}
    assert row_cells("autoscaling", "horizontalpodautoscalers", hpa, NOW)[2] == "cpu: <unknown>/70%"
