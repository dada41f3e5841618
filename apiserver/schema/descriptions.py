"""Short descriptions of our own for the top-level kinds and the common object sections (shown by kubectl explain).

Kubernetes' own description texts are not reused; these are brief, neutral lines written for kemu. Fields without an
entry get no description.
"""

from __future__ import annotations

KINDS: dict[str, str] = {
    "Pod": "A group of containers scheduled together on one node, sharing network and storage.",
    "Service": "A stable virtual address and name in front of a set of pods chosen by a label selector.",
    "Endpoints": "The addresses and ports that currently back a service.",
    "ConfigMap": "Non-secret configuration data as key-value pairs.",
    "Secret": "Sensitive data (tokens, keys, passwords) as base64-encoded key-value pairs.",
    "ServiceAccount": "An identity for processes running in pods.",
    "Namespace": "A scope for names; most objects live in exactly one namespace.",
    "Node": "A machine (physical or virtual) that runs pods.",
    "Event": "A report of something that happened to an object in the cluster.",
    "PersistentVolume": "A piece of storage provisioned for the cluster.",
    "PersistentVolumeClaim": "A request for storage by a user, bound to a persistent volume.",
    "ResourceQuota": "Limits on the total resources a namespace may consume.",
    "LimitRange": "Default and allowed resource amounts for objects in a namespace.",
    "PodTemplate": "A reusable template for creating pods.",
    "ReplicationController": "Keeps a fixed number of pod replicas running (older form of ReplicaSet).",
    "Binding": "Binds a pod to a node.",
    "Deployment": "Declarative updates for pods and ReplicaSets: keeps the desired replicas of a pod template "
                  "running and rolls out template changes.",
    "ReplicaSet": "Keeps a stable number of pod replicas running.",
    "StatefulSet": "Manages pods with stable identities and per-pod persistent storage.",
    "DaemonSet": "Runs one copy of a pod on each eligible node.",
    "ControllerRevision": "An immutable snapshot of a controller's state, used for rollbacks.",
    "Job": "Runs pods until a given number of them complete successfully.",
    "CronJob": "Creates jobs on a repeating schedule.",
    "HorizontalPodAutoscaler": "Scales a workload's replica count from observed metrics.",
    "PodDisruptionBudget": "Limits how many pods of a set may be voluntarily disrupted at once.",
    "NetworkPolicy": "Allowed network traffic to and from a set of pods.",
    "Ingress": "Rules routing external HTTP(S) traffic to services.",
    "IngressClass": "The controller that implements a class of ingresses.",
    "EndpointSlice": "A subset of the endpoints backing a service.",
    "StorageClass": "A class of storage that volumes can be provisioned from dynamically.",
    "Role": "A namespaced set of permissions.",
    "ClusterRole": "A cluster-wide set of permissions.",
    "RoleBinding": "Grants the permissions of a role to subjects within a namespace.",
    "ClusterRoleBinding": "Grants the permissions of a cluster role to subjects cluster-wide.",
    "PriorityClass": "A named scheduling priority for pods.",
    "Lease": "A lightweight lock record, used for leader election and node heartbeats.",
    "CustomResourceDefinition": "Defines a new resource type served by the API server.",
    "Scale": "The desired and observed replica count of a scalable resource.",
    "Eviction": "A request to evict a pod, subject to disruption budgets.",
    "TokenRequest": "A request for a service account token.",
    "SelfSubjectAccessReview": "Asks whether the current user may perform an action.",
    "SubjectAccessReview": "Asks whether a given user may perform an action.",
    "TokenReview": "Asks the API server to authenticate a token.",
}

FIELDS: dict[str, str] = {
    "apiVersion": "The versioned schema of this object, as <group>/<version> (just <version> for the core group).",
    "kind": "The type of this object, in CamelCase.",
    "metadata": "Standard object metadata: name, namespace, labels, annotations and server-set fields.",
    "spec": "The desired state of the object.",
    "status": "The most recently observed state of the object, written by the system.",
    "items": "The objects in this list.",
}


def kind_description(kind: str) -> str:
    return KINDS.get(kind, f"{kind} object." if kind else "")
