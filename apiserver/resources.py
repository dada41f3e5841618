"""The registry of served resources: what exists, where it lives in etcd, how it is named in discovery.

A ``Resource`` is one (group, version, resource) the server serves. Built-in ones are the table below; custom
resources are added at run time from CustomResourceDefinitions (``Registry.add``). Storage keys follow
kube-apiserver's layout: ``/registry/<resource>/<namespace>/<name>`` for core and most built-in groups (with the
real exceptions below, e.g. nodes live under ``minions``), and ``/registry/<group>/<resource>/...`` for custom
resources.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    kind: str
    resource: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    storage_prefix: str = ""           # defaults to resource (or group/resource for custom resources)
    has_status: bool = False           # status is a subresource: the main resource ignores status and vice versa
    list_kind: str = ""
    crd: bool = False
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def prefix(self) -> str:
        return "/registry/" + (self.storage_prefix or self.resource) + "/"

    def key(self, namespace: str, name: str) -> str:
        return self.prefix + (f"{namespace}/{name}" if self.namespaced else name)

    def list_prefix(self, namespace: str) -> str:
        return self.prefix + (f"{namespace}/" if self.namespaced and namespace else "")

    def descriptor(self) -> dict[str, object]:
        """The plain-dict ResourceDesc the schema/OpenAPI module takes."""
        return {"group": self.group, "version": self.version, "kind": self.kind, "resource": self.resource,
                "namespaced": self.namespaced, "verbs": list(self.verbs), "subresources": list(self.subresources),
                "shortNames": list(self.short_names)}


def _r(group: str, version: str, kind: str, resource: str, namespaced: bool = True, short: str = "",
       cats: str = "", sub: str = "", verbs: tuple[str, ...] = ALL_VERBS, storage: str = "") -> Resource:
    subs = tuple(s for s in sub.split(",") if s)
    return Resource(group, version, kind, resource, namespaced, tuple(s for s in short.split(",") if s),
                    tuple(c for c in cats.split(",") if c), subs, verbs, storage, "status" in subs)


_CREATE_ONLY = ("create",)
BUILTIN: tuple[Resource, ...] = (
    _r("", "v1", "Namespace", "namespaces", False, "ns", sub="status,finalize"),
    _r("", "v1", "Pod", "pods", short="po", cats="all", sub="status,binding,eviction,log,exec,attach,portforward,"
       "ephemeralcontainers"),
    _r("", "v1", "Service", "services", short="svc", cats="all", sub="status,proxy", storage="services/specs"),
    _r("", "v1", "Endpoints", "endpoints", short="ep", storage="services/endpoints"),
    _r("", "v1", "ConfigMap", "configmaps", short="cm"),
    _r("", "v1", "Secret", "secrets"),
    _r("", "v1", "ServiceAccount", "serviceaccounts", short="sa", sub="token", storage="serviceaccounts"),
    _r("", "v1", "Node", "nodes", False, "no", sub="status,proxy", storage="minions"),
    _r("", "v1", "Event", "events", short="ev"),
    _r("", "v1", "PersistentVolume", "persistentvolumes", False, "pv", sub="status"),
    _r("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short="pvc", sub="status"),
    _r("", "v1", "ResourceQuota", "resourcequotas", short="quota", sub="status"),
    _r("", "v1", "LimitRange", "limitranges", short="limits"),
    _r("", "v1", "ReplicationController", "replicationcontrollers", short="rc", cats="all", sub="status,scale",
       storage="controllers"),
    _r("", "v1", "PodTemplate", "podtemplates"),
    _r("", "v1", "Binding", "bindings", verbs=_CREATE_ONLY),
    _r("apps", "v1", "Deployment", "deployments", short="deploy", cats="all", sub="status,scale"),
    _r("apps", "v1", "ReplicaSet", "replicasets", short="rs", cats="all", sub="status,scale"),
    _r("apps", "v1", "StatefulSet", "statefulsets", short="sts", cats="all", sub="status,scale"),
    _r("apps", "v1", "DaemonSet", "daemonsets", short="ds", cats="all", sub="status"),
    _r("apps", "v1", "ControllerRevision", "controllerrevisions"),
    _r("batch", "v1", "Job", "jobs", cats="all", sub="status", storage="jobs"),
    _r("batch", "v1", "CronJob", "cronjobs", short="cj", cats="all", sub="status", storage="cronjobs"),
    _r("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", short="hpa", cats="all",
       sub="status"),
    _r("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", short="hpa", cats="all",
       sub="status"),
    _r("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short="pdb", sub="status"),
    _r("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short="netpol"),
    _r("networking.k8s.io", "v1", "Ingress", "ingresses", short="ing", sub="status", storage="ingress"),
    _r("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False),
    _r("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
    _r("coordination.k8s.io", "v1", "Lease", "leases", storage="leases"),
    _r("events.k8s.io", "v1", "Event", "events", short="ev", storage="events"),
    _r("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, "sc"),
    _r("storage.k8s.io", "v1", "CSIDriver", "csidrivers", False),
    _r("storage.k8s.io", "v1", "VolumeAttachment", "volumeattachments", False, sub="status"),
    _r("rbac.authorization.k8s.io", "v1", "Role", "roles", storage="roles"),
    _r("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", storage="rolebindings"),
    _r("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False, storage="clusterroles"),
    _r("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False,
       storage="clusterrolebindings"),
    _r("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False, "pc"),
    _r("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False, "crd,crds",
       sub="status", storage="apiextensions.k8s.io/customresourcedefinitions"),
    _r("metrics.k8s.io", "v1beta1", "PodMetrics", "pods", verbs=("get", "list")),
    _r("metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes", False, verbs=("get", "list")),
    _r("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False,
       verbs=_CREATE_ONLY),
    _r("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", False, verbs=_CREATE_ONLY),
    _r("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews", False, verbs=_CREATE_ONLY),
    _r("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", False, verbs=_CREATE_ONLY),
    _r("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", False, verbs=_CREATE_ONLY),
)

# The version each group prefers (first in discovery), in the order kube-apiserver lists groups.
GROUP_ORDER = ("", "apps", "events.k8s.io", "authentication.k8s.io", "authorization.k8s.io", "autoscaling", "batch",
               "networking.k8s.io", "policy", "rbac.authorization.k8s.io", "storage.k8s.io", "apiextensions.k8s.io",
               "scheduling.k8s.io", "coordination.k8s.io", "discovery.k8s.io")
# Virtual resources: created and answered, never stored.
VIRTUAL = {"bindings", "selfsubjectaccessreviews", "selfsubjectrulesreviews", "subjectaccessreviews",
           "tokenreviews", "selfsubjectreviews"}


class Registry:
    """Lookup of served resources by (group, version, resource) and by kind; custom resources come and go."""

    def __init__(self, resources: tuple[Resource, ...] = BUILTIN) -> None:
        self._by_gvr: dict[tuple[str, str, str], Resource] = {}
        for r in resources:
            self.add(r)

    def add(self, r: Resource) -> None:
        self._by_gvr[(r.group, r.version, r.resource)] = r

    def remove_group_resource(self, group: str, resource: str) -> None:
        for k in [k for k in self._by_gvr if k[0] == group and k[2] == resource]:
            del self._by_gvr[k]

    def get(self, group: str, version: str, resource: str) -> Resource | None:
        return self._by_gvr.get((group, version, resource))

    def all(self) -> list[Resource]:
        return list(self._by_gvr.values())

    def by_kind(self, group: str, kind: str) -> Resource | None:
        for r in self._by_gvr.values():
            if r.group == group and r.kind == kind:
                return r
        return None

    def group_versions(self) -> dict[str, list[str]]:
        """group -> versions, preferred first, groups in kube-apiserver's order (custom groups after)."""
        out: dict[str, list[str]] = {}
        for r in self._by_gvr.values():
            vs = out.setdefault(r.group, [])
            if r.version not in vs:
                vs.append(r.version)
        for vs in out.values():
            vs.sort(key=_version_priority)
        order = {g: i for i, g in enumerate(GROUP_ORDER)}
        return dict(sorted(out.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))

    def resources_of(self, group: str, version: str) -> list[Resource]:
        return sorted((r for r in self._by_gvr.values() if r.group == group and r.version == version),
                      key=lambda r: r.resource)


def _version_priority(v: str) -> tuple[int, int, int]:
    """Kubernetes version ordering: GA > beta > alpha, higher numbers first."""
    import re

    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", v)
    if not m:
        return (3, 0, 0)
    major = int(m.group(1))
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (stage, -major, -int(m.group(3) or 0))
