"""Controller names (as kube-controller-manager's --controllers flag spells them) -> classes."""

from __future__ import annotations

from controllers.manager.base import Base
from controllers.manager.deployment import DeploymentController
from controllers.manager.endpoints import EndpointsController, EndpointSliceController
from controllers.manager.gc import GarbageCollector
from controllers.manager.hpa import HPAController
from controllers.manager.job import CronJobController, JobController
from controllers.manager.namespace import NamespaceController
from controllers.manager.nodelifecycle import NodeLifecycleController
from controllers.manager.podgc import PodGC
from controllers.manager.replicaset import ReplicaSetController
from controllers.manager.serviceaccount import ServiceAccountController
from controllers.manager.storage import DisruptionController, QuotaController, VolumeBinder
from controllers.manager.workloads import DaemonSetController, StatefulSetController

CONTROLLERS: dict[str, type[Base]] = {
    "replicaset": ReplicaSetController,
    "deployment": DeploymentController,
    "endpoint": EndpointsController,
    "endpointslice": EndpointSliceController,
    "garbagecollector": GarbageCollector,
    "namespace": NamespaceController,
    "serviceaccount": ServiceAccountController,
    "nodelifecycle": NodeLifecycleController,
    "job": JobController,
    "cronjob": CronJobController,
    "statefulset": StatefulSetController,
    "daemonset": DaemonSetController,
    "persistentvolume-binder": VolumeBinder,
    "resourcequota": QuotaController,
    "disruption": DisruptionController,
    "podgc": PodGC,
    "horizontalpodautoscaling": HPAController,
}


def select(spec: str) -> list[str]:
    """``*`` (all), ``a,b``, ``*,-a`` as the real flag; unknown names are an error."""
    names: list[str] = []
    parts = [p.strip() for p in spec.split(",") if p.strip()] or ["*"]
    if "*" in parts:
        names = list(CONTROLLERS)
    for p in parts:
        if p == "*":
            continue
        if p.startswith("-"):
            if p[1:] not in CONTROLLERS:
                raise ValueError(f'"{p[1:]}" is not in the list of known controllers')
            names = [n for n in names if n != p[1:]]
        else:
            if p not in CONTROLLERS:
                raise ValueError(f'"{p}" is not in the list of known controllers')
            if p not in names:
                names.append(p)
    return names
