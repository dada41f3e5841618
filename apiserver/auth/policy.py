"""The default RBAC policy kube-apiserver creates at startup (bootstrappolicy, Kubernetes 1.32): cluster roles,
controller roles and their bindings, as full JSON objects labelled ``kubernetes.io/bootstrapping: rbac-defaults``
and annotated ``rbac.authorization.kubernetes.io/autoupdate: "true"``.

Rule data follows Kubernetes' published policy (verbs and resources sorted, groups in policy order). kemu
additions, all named ``kemu:*`` so the real objects stay as they are:

- ``kemu:node`` and ``kemu:node-proxier`` bind ``system:node`` / ``system:node-proxier`` to the group
  ``system:nodes``: kemu has no Node authorizer (kube-apiserver's ``--authorization-mode=Node,RBAC``) and its
  per-node proxy runs with the node's credentials;
- ``kemu:network-policy-agent`` (list/watch pods, namespaces, networkpolicies), bound to ``system:nodes``: the
  per-node proxy also enforces NetworkPolicy (node_agent/netpol), as a CNI's agent would with its own account;
- ``kemu:controller-manager:<controller>`` binds each ``system:controller:<controller>`` role to the user
  ``system:kube-controller-manager``: kemu's controller-manager runs every controller under its own identity
  (``--use-service-account-credentials=false``), not one service account per controller.
"""

from __future__ import annotations

import copy
from typing import Any

from apiserver.auth.rbac import ClusterRoleIndex

Obj = dict[str, Any]
RBAC_V1 = "rbac.authorization.k8s.io/v1"
BOOTSTRAP_LABEL = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
AGG = "rbac.authorization.k8s.io/aggregate-to-"
EVENT_GROUPS = "core events.k8s.io"
READ = "get list watch"
WRITE = "create delete deletecollection patch update"
RW = "create delete deletecollection get list patch update watch"


def r(verbs: str, groups: str, resources: str, names: str = "") -> Obj:
    """A resource rule; arguments are space-separated, ``core`` is the legacy group ""."""
    rule: Obj = {"apiGroups": ["" if g == "core" else g for g in groups.split()],
                 "resources": sorted(resources.split()), "verbs": sorted(verbs.split())}
    if names:
        rule["resourceNames"] = sorted(names.split())
    return rule


def nr(verbs: str, urls: str) -> Obj:
    return {"nonResourceURLs": sorted(urls.split()), "verbs": sorted(verbs.split())}


EVENTS = r("create patch update", EVENT_GROUPS, "events")


def cluster_role(name: str, rules: list[Obj] | None, labels: dict[str, str] | None = None,
                 aggregate_from: str = "") -> Obj:
    obj: Obj = {"apiVersion": RBAC_V1, "kind": "ClusterRole",
                "metadata": {"name": name, "labels": {**BOOTSTRAP_LABEL, **(labels or {})},
                             "annotations": dict(AUTOUPDATE)}}
    if aggregate_from:
        obj["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {AGG + aggregate_from: "true"}}]}
        obj["rules"] = []
    else:
        obj["rules"] = rules or []
    return obj


def binding(name: str, role: str, subjects: list[Obj]) -> Obj:
    obj: Obj = {"apiVersion": RBAC_V1, "kind": "ClusterRoleBinding",
                "metadata": {"name": name, "labels": dict(BOOTSTRAP_LABEL), "annotations": dict(AUTOUPDATE)},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}}
    if subjects:
        obj["subjects"] = subjects
    return obj


def group(name: str) -> Obj:
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": name}


def user(name: str) -> Obj:
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": name}


def service_account(namespace: str, name: str) -> Obj:
    return {"kind": "ServiceAccount", "name": name, "namespace": namespace}


def _aggregate_roles() -> list[Obj]:
    view = [
        r(READ, "core", "configmaps endpoints persistentvolumeclaims persistentvolumeclaims/status pods "
                        "replicationcontrollers replicationcontrollers/scale serviceaccounts services services/status"),
        r(READ, "core", "bindings events limitranges namespaces/status pods/log pods/status "
                        "replicationcontrollers/status resourcequotas resourcequotas/status"),
        r(READ, "core", "namespaces"),
        r(READ, "discovery.k8s.io", "endpointslices"),
        r(READ, "apps", "controllerrevisions daemonsets daemonsets/status deployments deployments/scale "
                        "deployments/status replicasets replicasets/scale replicasets/status statefulsets "
                        "statefulsets/scale statefulsets/status"),
        r(READ, "autoscaling", "horizontalpodautoscalers horizontalpodautoscalers/status"),
        r(READ, "batch", "cronjobs cronjobs/status jobs jobs/status"),
        r(READ, "extensions", "daemonsets daemonsets/status deployments deployments/scale deployments/status "
                              "ingresses ingresses/status networkpolicies replicasets replicasets/scale "
                              "replicasets/status replicationcontrollers/scale"),
        r(READ, "policy", "poddisruptionbudgets poddisruptionbudgets/status"),
        r(READ, "networking.k8s.io", "ingresses ingresses/status networkpolicies"),
    ]
    edit = [
        r(READ, "core", "pods/attach pods/exec pods/portforward pods/proxy secrets services/proxy"),
        r("impersonate", "core", "serviceaccounts"),
        r(WRITE, "core", "pods pods/attach pods/exec pods/portforward pods/proxy"),
        r("create", "core", "pods/eviction"),
        r(WRITE, "core", "configmaps events persistentvolumeclaims replicationcontrollers "
                         "replicationcontrollers/scale secrets serviceaccounts services services/proxy"),
        r("create", "core", "serviceaccounts/token"),
        r(WRITE, "apps", "daemonsets deployments deployments/rollback deployments/scale replicasets "
                         "replicasets/scale statefulsets statefulsets/scale"),
        r(WRITE, "autoscaling", "horizontalpodautoscalers"),
        r(WRITE, "batch", "cronjobs jobs"),
        r(WRITE, "extensions", "daemonsets deployments deployments/rollback deployments/scale ingresses "
                               "networkpolicies replicasets replicasets/scale replicationcontrollers/scale"),
        r(WRITE, "policy", "poddisruptionbudgets"),
        r(WRITE, "networking.k8s.io", "ingresses networkpolicies"),
        r(RW, "coordination.k8s.io", "leases"),
    ]
    admin = [
        r("create", "authorization.k8s.io", "localsubjectaccessreviews"),
        r(RW, "rbac.authorization.k8s.io", "rolebindings roles"),
    ]
    return [
        cluster_role("admin", None, aggregate_from="admin"),
        cluster_role("cluster-admin", [r("*", "*", "*"), nr("*", "*")]),
        cluster_role("edit", None, {AGG + "admin": "true"}, aggregate_from="edit"),
        cluster_role("view", None, {AGG + "edit": "true"}, aggregate_from="view"),
        cluster_role("system:aggregate-to-admin", admin, {AGG + "admin": "true"}),
        cluster_role("system:aggregate-to-edit", edit, {AGG + "edit": "true"}),
        cluster_role("system:aggregate-to-view", view, {AGG + "view": "true"}),
    ]


def _system_roles() -> list[Obj]:
    approver = "system:certificates.k8s.io:"
    return [
        cluster_role("system:auth-delegator", [r("create", "authentication.k8s.io", "tokenreviews"),
                                               r("create", "authorization.k8s.io", "subjectaccessreviews")]),
        cluster_role("system:basic-user", [
            r("create", "authorization.k8s.io", "selfsubjectaccessreviews selfsubjectrulesreviews"),
            r("create", "authentication.k8s.io", "selfsubjectreviews")]),
        cluster_role(approver + "certificatesigningrequests:nodeclient",
                     [r("create", "certificates.k8s.io", "certificatesigningrequests/nodeclient")]),
        cluster_role(approver + "certificatesigningrequests:selfnodeclient",
                     [r("create", "certificates.k8s.io", "certificatesigningrequests/selfnodeclient")]),
        *[cluster_role(approver + f"{signer}-approver",
                       [r("approve", "certificates.k8s.io", "signers", f"kubernetes.io/{signer}")])
          for signer in ("kube-apiserver-client", "kube-apiserver-client-kubelet", "kubelet-serving",
                         "legacy-unknown")],
        cluster_role("system:discovery", [nr("get", "/api /api/* /apis /apis/* /healthz /livez /openapi "
                                                    "/openapi/* /readyz /version /version/")]),
        cluster_role("system:heapster", [r(READ, "core", "events namespaces nodes pods"),
                                         r(READ, "extensions", "deployments")]),
        cluster_role("system:kube-aggregator", [r(READ, "core", "endpoints services")]),
        cluster_role("system:kube-controller-manager", [
            EVENTS,
            r("create", "coordination.k8s.io", "leases"),
            r("get update", "coordination.k8s.io", "leases", "kube-controller-manager"),
            r("create", "core", "secrets serviceaccounts"),
            r("delete", "core", "secrets"),
            r("get", "core", "configmaps namespaces secrets serviceaccounts"),
            r("update", "core", "secrets serviceaccounts"),
            r("create", "authentication.k8s.io", "tokenreviews"),
            r("create", "authorization.k8s.io", "subjectaccessreviews"),
            r("list watch", "*", "*"),
            r("create", "core", "serviceaccounts/token"),
        ]),
        cluster_role("system:kube-dns", [r("list watch", "core", "endpoints services")]),
        cluster_role("system:kube-scheduler", [
            EVENTS,
            r("create", "coordination.k8s.io", "leases"),
            r("get update", "coordination.k8s.io", "leases", "kube-scheduler"),
            r(READ, "core", "nodes"),
            r("delete get list watch", "core", "pods"),
            r("create", "core", "bindings pods/binding"),
            r("patch update", "core", "pods/status"),
            r(READ, "core", "replicationcontrollers services"),
            r(READ, "apps extensions", "replicasets"),
            r(READ, "apps", "statefulsets"),
            r(READ, "policy", "poddisruptionbudgets"),
            r(READ, "core", "persistentvolumeclaims persistentvolumes"),
            r("create", "authentication.k8s.io", "tokenreviews"),
            r("create", "authorization.k8s.io", "subjectaccessreviews"),
            r(READ, "storage.k8s.io", "csinodes"),
            r(READ, "core", "namespaces"),
            r(READ, "storage.k8s.io", "csidrivers"),
            r(READ, "storage.k8s.io", "csistoragecapacities"),
        ]),
        cluster_role("system:kubelet-api-admin", [r(READ, "core", "nodes"), r("proxy", "core", "nodes"),
                                                  r("*", "core", "nodes/log nodes/metrics nodes/proxy nodes/stats")]),
        cluster_role("system:monitoring", [nr("get", "/healthz /healthz/* /livez /livez/* /metrics /metrics/slis "
                                                     "/readyz /readyz/*")]),
        cluster_role("system:node", [
            r("create", "authentication.k8s.io", "tokenreviews"),
            r("create", "authorization.k8s.io", "localsubjectaccessreviews subjectaccessreviews"),
            r(READ, "core", "services"),
            r("create get list watch", "core", "nodes"),
            r("patch update", "core", "nodes/status"),
            r("patch update", "core", "nodes"),
            r("create patch update", "core", "events"),
            r(READ, "core", "pods"),
            r("create delete", "core", "pods"),
            r("patch update", "core", "pods/status"),
            r("create", "core", "pods/eviction"),
            r(READ, "core", "configmaps secrets"),
            r("get", "core", "persistentvolumeclaims persistentvolumes"),
            r("get", "core", "endpoints"),
            r("create get list watch", "certificates.k8s.io", "certificatesigningrequests"),
            r("create delete get patch update", "coordination.k8s.io", "leases"),
            r("get", "storage.k8s.io", "volumeattachments"),
            r("create", "core", "serviceaccounts/token"),
            r("get patch update", "core", "persistentvolumeclaims/status"),
            r(READ, "storage.k8s.io", "csidrivers"),
            r("create delete get patch update", "storage.k8s.io", "csinodes"),
            r(READ, "node.k8s.io", "runtimeclasses"),
        ]),
        cluster_role("system:node-bootstrapper",
                     [r("create get list watch", "certificates.k8s.io", "certificatesigningrequests")]),
        cluster_role("system:node-problem-detector", [r("get", "core", "nodes"), r("patch", "core", "nodes/status"),
                                                      EVENTS]),
        cluster_role("system:node-proxier", [r("list watch", "core", "endpoints services"), r(READ, "core", "nodes"),
                                             EVENTS, r("list watch", "discovery.k8s.io", "endpointslices")]),
        cluster_role("system:persistent-volume-provisioner", [
            r("create delete get list watch", "core", "persistentvolumes"),
            r("get list update watch", "core", "persistentvolumeclaims"),
            r(READ, "storage.k8s.io", "storageclasses"),
            r("watch", "core", "events"),
            EVENTS,
        ]),
        cluster_role("system:public-info-viewer", [nr("get", "/healthz /livez /readyz /version /version/")]),
        cluster_role("system:service-account-issuer-discovery",
                     [nr("get", "/.well-known/openid-configuration /openid/v1/jwks")]),
        cluster_role("system:volume-scheduler", [
            r("get list patch update watch", "core", "persistentvolumes"),
            r(READ, "storage.k8s.io", "storageclasses"),
            r("get list patch update watch", "core", "persistentvolumeclaims"),
        ]),
    ]


def _controller_roles() -> dict[str, list[Obj]]:
    """system:controller:<name> rules, for the controllers kube-controller-manager 1.32 runs by default."""
    apps_ext = "apps extensions"
    return {
        "attachdetach-controller": [
            r("list watch", "core", "persistentvolumeclaims persistentvolumes"), r(READ, "core", "nodes"),
            r("patch update", "core", "nodes/status"), r("list watch", "core", "pods"), EVENTS,
            r("create delete get list watch", "storage.k8s.io", "volumeattachments"),
            r(READ, "storage.k8s.io", "csidrivers"), r(READ, "storage.k8s.io", "csinodes")],
        "certificate-controller": [
            r("delete get list watch", "certificates.k8s.io", "certificatesigningrequests"),
            r("update", "certificates.k8s.io",
              "certificatesigningrequests/approval certificatesigningrequests/status"),
            r("approve", "certificates.k8s.io", "signers", "kubernetes.io/kube-apiserver-client-kubelet"),
            r("sign", "certificates.k8s.io", "signers", "kubernetes.io/kube-apiserver-client "
              "kubernetes.io/kube-apiserver-client-kubelet kubernetes.io/kubelet-serving kubernetes.io/legacy-unknown"),
            r("create", "authorization.k8s.io", "subjectaccessreviews"), EVENTS],
        "clusterrole-aggregation-controller": [
            r("escalate get list patch update watch", "rbac.authorization.k8s.io", "clusterroles")],
        "cronjob-controller": [
            r("get list update watch", "batch", "cronjobs"),
            r("create delete get list patch update watch", "batch", "jobs"),
            r("update", "batch", "cronjobs/status"), r("update", "batch", "cronjobs/finalizers"),
            r("delete list watch", "core", "pods"), EVENTS],
        "daemon-set-controller": [
            r(READ, apps_ext, "daemonsets"), r("update", apps_ext, "daemonsets/status"),
            r("update", apps_ext, "daemonsets/finalizers"), r("list watch", "core", "nodes"),
            r("create delete list patch watch", "core", "pods"), r("create", "core", "pods/binding"),
            r("create delete get list patch update watch", "apps", "controllerrevisions"), EVENTS],
        "deployment-controller": [
            r("get list update watch", apps_ext, "deployments"), r("update", apps_ext, "deployments/status"),
            r("update", apps_ext, "deployments/finalizers"),
            r("create delete get list patch update watch", apps_ext, "replicasets"),
            r("get list update watch", "core", "pods"), EVENTS],
        "disruption-controller": [
            r(READ, apps_ext, "deployments"), r(READ, apps_ext, "replicasets"),
            r(READ, "core", "replicationcontrollers"), r(READ, "policy", "poddisruptionbudgets"),
            r(READ, "apps", "statefulsets"), r("update", "policy", "poddisruptionbudgets/status"),
            r("patch update", "core", "pods/status"), r("get", "*", "*/scale"), EVENTS],
        "endpoint-controller": [
            r(READ, "core", "pods services"), r("create delete get list update watch", "core", "endpoints"),
            r("create", "core", "endpoints/restricted"), EVENTS],
        "endpointslice-controller": [
            r(READ, "core", "nodes pods services"), r("update", "core", "services/finalizers"),
            r("create delete get list update watch", "discovery.k8s.io", "endpointslices"), EVENTS],
        "endpointslicemirroring-controller": [
            r(READ, "core", "endpoints services"), r("update", "core", "services/finalizers"),
            r("update", "core", "endpoints/finalizers"),
            r("create delete get list update watch", "discovery.k8s.io", "endpointslices"), EVENTS],
        "ephemeral-volume-controller": [
            r(READ, "core", "pods"), r("update", "core", "pods/finalizers"),
            r("create get list watch", "core", "persistentvolumeclaims"), EVENTS],
        "expand-controller": [
            r("get list patch update watch", "core", "persistentvolumes"),
            r("patch update", "core", "persistentvolumeclaims/status"),
            r(READ, "core", "persistentvolumeclaims"), EVENTS],
        "generic-garbage-collector": [r("delete get list patch update watch", "*", "*"), EVENTS],
        "horizontal-pod-autoscaler": [
            r(READ, "autoscaling", "horizontalpodautoscalers"),
            r("update", "autoscaling", "horizontalpodautoscalers/status"), r("get update", "*", "*/scale"),
            r("list watch", "core", "pods"), r("list watch", "metrics.k8s.io", "pods"),
            r(READ, "custom.metrics.k8s.io", "*"), r(READ, "external.metrics.k8s.io", "*"), EVENTS],
        "job-controller": [
            r("get list patch update watch", "batch", "jobs"), r("update", "batch", "jobs/status"),
            r("update", "batch", "jobs/finalizers"), r("create delete list patch watch", "core", "pods"), EVENTS],
        "legacy-service-account-token-cleaner": [
            r("get", "core", "configmaps", "kube-apiserver-legacy-service-account-token-tracking"),
            r("delete patch", "core", "secrets")],
        "namespace-controller": [
            r("delete get list watch", "core", "namespaces"),
            r("update", "core", "namespaces/finalize namespaces/status"),
            r("delete deletecollection get list watch", "*", "*")],
        "node-controller": [
            r("delete get list patch update watch", "core", "nodes"), r("patch update", "core", "nodes/status"),
            r("patch update", "core", "pods/status"), r("delete get list watch", "core", "pods"), EVENTS],
        "persistent-volume-binder": [
            r("create delete get list update watch", "core", "persistentvolumes"),
            r("update", "core", "persistentvolumes/status"),
            r("get list update watch", "core", "persistentvolumeclaims"),
            r("update", "core", "persistentvolumeclaims/status"),
            r("create delete get list watch", "core", "pods"), r(READ, "storage.k8s.io", "storageclasses"),
            r("list watch", "core", "nodes"), EVENTS, r("watch", "core", "events")],
        "pod-garbage-collector": [
            r("delete list watch", "core", "pods"), r(READ, "core", "nodes"), r("patch", "core", "pods/status")],
        "pv-protection-controller": [r("get list update watch", "core", "persistentvolumes"), EVENTS],
        "pvc-protection-controller": [
            r("get list update watch", "core", "persistentvolumeclaims"),
            r("update", "core", "persistentvolumeclaims/status"), r(READ, "core", "pods"), EVENTS],
        "replicaset-controller": [
            r("get list update watch", apps_ext, "replicasets"), r("update", apps_ext, "replicasets/status"),
            r("update", apps_ext, "replicasets/finalizers"), r("create delete list patch watch", "core", "pods"),
            EVENTS],
        "replication-controller": [
            r("get list update watch", "core", "replicationcontrollers"),
            r("update", "core", "replicationcontrollers/status"),
            r("update", "core", "replicationcontrollers/finalizers"),
            r("create delete list patch watch", "core", "pods"), EVENTS],
        "resourcequota-controller": [
            r("list watch", "*", "*"), r("update", "core", "resourcequotas/status"), EVENTS],
        "root-ca-cert-publisher": [r("create update", "core", "configmaps"), EVENTS],
        "route-controller": [r("list watch", "core", "nodes"), r("patch", "core", "nodes/status"), EVENTS],
        "service-account-controller": [r("create", "core", "serviceaccounts"), EVENTS],
        "service-controller": [
            r(READ, "core", "services"), r("patch update", "core", "services/status"),
            r("list watch", "core", "nodes"), EVENTS],
        "statefulset-controller": [
            r("list watch", "core", "pods"), r(READ, "apps", "statefulsets"),
            r("update", "apps", "statefulsets/status"), r("update", "apps", "statefulsets/finalizers"),
            r("create delete get patch update", "core", "pods"),
            r("create delete get list patch update watch", "apps", "controllerrevisions"),
            r("create get list watch", "core", "persistentvolumeclaims"),
            r("delete update", "core", "persistentvolumeclaims"), r("update", "core", "pods/finalizers"), EVENTS],
        "ttl-after-finished-controller": [r("delete get list watch", "batch", "jobs"), EVENTS],
        "ttl-controller": [r("list patch update watch", "core", "nodes"), EVENTS],
    }


def _bindings() -> list[Obj]:
    return [
        binding("cluster-admin", "cluster-admin", [group("system:masters")]),
        binding("system:basic-user", "system:basic-user", [group("system:authenticated")]),
        binding("system:discovery", "system:discovery", [group("system:authenticated")]),
        binding("system:kube-controller-manager", "system:kube-controller-manager",
                [user("system:kube-controller-manager")]),
        binding("system:kube-dns", "system:kube-dns", [service_account("kube-system", "kube-dns")]),
        binding("system:kube-scheduler", "system:kube-scheduler", [user("system:kube-scheduler")]),
        binding("system:monitoring", "system:monitoring", [group("system:monitoring")]),
        binding("system:node", "system:node", []),
        binding("system:node-proxier", "system:node-proxier", [user("system:kube-proxy")]),
        binding("system:public-info-viewer", "system:public-info-viewer",
                [group("system:authenticated"), group("system:unauthenticated")]),
        binding("system:service-account-issuer-discovery", "system:service-account-issuer-discovery",
                [group("system:serviceaccounts")]),
        binding("system:volume-scheduler", "system:volume-scheduler", [user("system:kube-scheduler")]),
        # kemu additions (see the module docstring).
        binding("kemu:node", "system:node", [group("system:nodes")]),
        binding("kemu:node-proxier", "system:node-proxier", [group("system:nodes")]),
        binding("kemu:network-policy-agent", "kemu:network-policy-agent", [group("system:nodes")]),
    ]


def bootstrap_objects() -> list[Obj]:
    """Every default ClusterRole, then every default ClusterRoleBinding (fresh objects on each call). Aggregated
    roles carry the rules the clusterrole-aggregation controller would have written into them."""
    roles = _aggregate_roles() + _system_roles()
    roles.append(cluster_role("kemu:network-policy-agent", [r("list watch", "core", "namespaces pods"),
                                                            r("list watch", "networking.k8s.io", "networkpolicies")]))
    controllers = _controller_roles()
    roles += [cluster_role(f"system:controller:{name}", rules) for name, rules in controllers.items()]
    bindings = _bindings()
    for name in controllers:
        role = f"system:controller:{name}"
        bindings.append(binding(role, role, [service_account("kube-system", name)]))
        bindings.append(binding(f"kemu:controller-manager:{name}", role, [user("system:kube-controller-manager")]))
    index = ClusterRoleIndex(roles)
    for role_obj in roles:
        if "aggregationRule" in role_obj:
            role_obj["rules"] = index.rules(role_obj["metadata"]["name"])
    return copy.deepcopy(roles + bindings)
