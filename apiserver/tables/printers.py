"""Column definitions and row cells for built-in resources, one entry per (group, resource).

Each entry mirrors a handler of Kubernetes' internal printers: the same column names, types, formats and
priorities (priority 1 = shown by ``kubectl get -o wide`` only), and cells computed the same way. Like
kube-apiserver, which always generates the wide form, rows carry every column's cell; kubectl drops the
priority-1 ones itself. Integer cells are ints, boolean cells bools, everything else strings, so the JSON is
what the real server sends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from apiserver.tables.descriptions import DOCS
from apiserver.tables.duration import UNKNOWN, between, parse_ts, since
from apiserver.tables.formats import (
    NONE,
    UNSET,
    Obj,
    access_modes,
    bool_ptr,
    containers_cells,
    d,
    format_label_selector,
    format_labels,
    i64,
    int_or_string,
    list_with_more,
    lst,
    meta,
    name,
    path,
    quantity_string,
    s,
    selector_string,
    template_spec,
)
from apiserver.tables.pods import pod_cells

Cells = Callable[[Obj, dt.datetime], list[Any]]


def col(name_: str, type_: str = "string", doc: str = "", priority: int = 0, fmt: str = "") -> Obj:
    """A metav1 TableColumnDefinition; ``doc`` is a DOCS key or literal description text."""
    return {"name": name_, "type": type_, "format": fmt, "description": DOCS.get(doc, doc), "priority": priority}


def name_col() -> Obj:
    return col("Name", "string", "meta.name", fmt="name")


def age_col() -> Obj:
    return col("Age", "string", "meta.creationTimestamp")


CONTAINERS_DOC = "Names of each container in the template."
IMAGES_DOC = "Images referenced by each container in the template."
READY_DOC = "Number of the pod with ready state"


def age_cell(obj: Obj, now: dt.datetime) -> str:
    return since(meta(obj).get("creationTimestamp"), now)


# --- workloads ------------------------------------------------------------------------------------------------

POD_COLUMNS = [
    name_col(),
    col("Ready", doc="The aggregate readiness state of this pod for accepting traffic."),
    col("Status", doc="The aggregate status of the containers in this pod."),
    col("Restarts", doc="The number of times the containers in this pod have been restarted and when the last "
        "container in this pod has restarted."),
    age_col(),
    col("IP", doc="PodStatus.podIP", priority=1),
    col("Node", doc="PodSpec.nodeName", priority=1),
    col("Nominated Node", doc="PodStatus.nominatedNodeName", priority=1),
    col("Readiness Gates", doc="PodSpec.readinessGates", priority=1),
]

POD_TEMPLATE_COLUMNS = [
    name_col(),
    col("Containers", doc=CONTAINERS_DOC),
    col("Images", doc=IMAGES_DOC),
    col("Pod Labels", doc="The labels for the pod template."),
]


def pod_template_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    tpl = d(obj.get("template"))
    names, images = containers_cells(tpl.get("spec"))
    return [name(obj), names, images, format_labels(path(tpl, "metadata", "labels"))]


RC_COLUMNS = [
    name_col(),
    col("Desired", "integer", "ReplicationControllerSpec.replicas"),
    col("Current", "integer", "ReplicationControllerStatus.replicas"),
    col("Ready", "integer", "ReplicationControllerStatus.readyReplicas"),
    age_col(),
    col("Containers", doc=CONTAINERS_DOC, priority=1),
    col("Images", doc=IMAGES_DOC, priority=1),
    col("Selector", doc="ReplicationControllerSpec.selector", priority=1),
]


def rc_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    spec, status = d(obj.get("spec")), d(obj.get("status"))
    names, images = containers_cells(template_spec(obj))
    return [name(obj), i64(spec.get("replicas")), i64(status.get("replicas")), i64(status.get("readyReplicas")),
            age_cell(obj, now), names, images, format_labels(spec.get("selector"))]


RS_COLUMNS = [
    name_col(),
    col("Desired", "integer", "ReplicaSetSpec.replicas"),
    col("Current", "integer", "ReplicaSetStatus.replicas"),
    col("Ready", "integer", "ReplicaSetStatus.readyReplicas"),
    age_col(),
    col("Containers", doc=CONTAINERS_DOC, priority=1),
    col("Images", doc=IMAGES_DOC, priority=1),
    col("Selector", doc="ReplicaSetSpec.selector", priority=1),
]


def rs_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    spec, status = d(obj.get("spec")), d(obj.get("status"))
    names, images = containers_cells(template_spec(obj))
    return [name(obj), i64(spec.get("replicas")), i64(status.get("replicas")), i64(status.get("readyReplicas")),
            age_cell(obj, now), names, images, format_label_selector(spec.get("selector"))]


DEPLOYMENT_COLUMNS = [
    name_col(),
    col("Ready", doc=READY_DOC),
    col("Up-to-date", doc="DeploymentStatus.updatedReplicas"),
    col("Available", doc="DeploymentStatus.availableReplicas"),
    age_col(),
    col("Containers", doc=CONTAINERS_DOC, priority=1),
    col("Images", doc=IMAGES_DOC, priority=1),
    col("Selector", doc="DeploymentSpec.selector", priority=1),
]


def deployment_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    spec, status = d(obj.get("spec")), d(obj.get("status"))
    names, images = containers_cells(template_spec(obj))
    sel = selector_string(spec.get("selector"))
    return [name(obj), f"{i64(status.get('readyReplicas'))}/{i64(spec.get('replicas'))}",
            i64(status.get("updatedReplicas")), i64(status.get("availableReplicas")), age_cell(obj, now),
            names, images, "<invalid>" if sel is None else sel]


STATEFULSET_COLUMNS = [
    name_col(),
    col("Ready", doc=READY_DOC),
    age_col(),
    col("Containers", doc=CONTAINERS_DOC, priority=1),
    col("Images", doc=IMAGES_DOC, priority=1),
]


def statefulset_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    spec, status = d(obj.get("spec")), d(obj.get("status"))
    names, images = containers_cells(template_spec(obj))
    return [name(obj), f"{i64(status.get('readyReplicas'))}/{i64(spec.get('replicas'))}", age_cell(obj, now),
            names, images]


DAEMONSET_COLUMNS = [
    name_col(),
    col("Desired", "integer", "DaemonSetStatus.desiredNumberScheduled"),
    col("Current", "integer", "DaemonSetStatus.currentNumberScheduled"),
    col("Ready", "integer", "DaemonSetStatus.numberReady"),
    col("Up-to-date", "integer", "DaemonSetStatus.updatedNumberScheduled"),
    col("Available", "integer", "DaemonSetStatus.numberAvailable"),
    col("Node Selector", doc="PodSpec.nodeSelector"),
    age_col(),
    col("Containers", doc=CONTAINERS_DOC, priority=1),
    col("Images", doc=IMAGES_DOC, priority=1),
    col("Selector", doc="DaemonSetSpec.selector", priority=1),
]


def daemonset_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    spec, status = d(obj.get("spec")), d(obj.get("status"))
    names, images = containers_cells(template_spec(obj))
    return [name(obj), i64(status.get("desiredNumberScheduled")), i64(status.get("currentNumberScheduled")),
            i64(status.get("numberReady")), i64(status.get("updatedNumberScheduled")),
            i64(status.get("numberAvailable")), format_labels(template_spec(obj).get("nodeSelector")),
            age_cell(obj, now), names, images, format_label_selector(spec.get("selector"))]


JOB_COLUMNS = [
    name_col(),
    col("Status", doc="Status of the job."),
    col("Completions", doc="JobStatus.succeeded"),
    col("Duration", doc="Time required to complete the job."),
    age_col(),
    col("Containers", doc=CONTAINERS_DOC, priority=1),
    col("Images", doc=IMAGES_DOC, priority=1),
    col("Selector", doc="JobSpec.selector", priority=1),
]


def _job_condition(status: Obj, type_: str) -> bool:
    for c in lst(status.get("conditions")):
        if d(c).get("type") == type_:
            return d(c).get("status") == "True"
    return False


def job_status(obj: Obj) -> str:
    status = d(obj.get("status"))
    if _job_condition(status, "Complete"):
        return "Complete"
    if _job_condition(status, "Failed"):
        return "Failed"
    if meta(obj).get("deletionTimestamp"):
        return "Terminating"
    if _job_condition(status, "Suspended"):
        return "Suspended"
    if _job_condition(status, "FailureTarget"):
        return "FailureTarget"
    return "Running"


def job_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    spec, status = d(obj.get("spec")), d(obj.get("status"))
    succeeded = i64(status.get("succeeded"))
    if isinstance(spec.get("completions"), int) and not isinstance(spec.get("completions"), bool):
        completions = f"{succeeded}/{spec['completions']}"
    else:
        parallelism = i64(spec.get("parallelism"))
        completions = f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"
    start, end = parse_ts(status.get("startTime")), parse_ts(status.get("completionTime"))
    duration = ""
    if start is not None:
        duration = between(start, now) if end is None else between(start, end)
    names, images = containers_cells(template_spec(obj))
    return [name(obj), job_status(obj), completions, duration, age_cell(obj, now), names, images,
            format_label_selector(spec.get("selector"))]


CRONJOB_COLUMNS = [
    name_col(),
    col("Schedule", doc="CronJobSpec.schedule"),
    col("Timezone", doc="CronJobSpec.timeZone"),
    col("Suspend", "boolean", "CronJobSpec.suspend"),
    col("Active", "integer", "CronJobStatus.active"),
    col("Last Schedule", doc="CronJobStatus.lastScheduleTime"),
    age_col(),
    col("Containers", doc=CONTAINERS_DOC, priority=1),
    col("Images", doc=IMAGES_DOC, priority=1),
    col("Selector", doc="JobSpec.selector", priority=1),
]


def cronjob_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    spec, status = d(obj.get("spec")), d(obj.get("status"))
    job_spec = d(d(spec.get("jobTemplate")).get("spec"))
    names, images = containers_cells(path(job_spec, "template", "spec"))
    last = since(status.get("lastScheduleTime"), now) if status.get("lastScheduleTime") else NONE
    tz = spec.get("timeZone")
    # Cells carry the suspend flag as text ("True"/"False"/"<unset>") although the column says boolean.
    return [name(obj), s(spec.get("schedule")), tz if isinstance(tz, str) else NONE, bool_ptr(spec.get("suspend")),
            len(lst(status.get("active"))), last, age_cell(obj, now), names, images,
            format_label_selector(job_spec.get("selector"))]


CONTROLLER_REVISION_COLUMNS = [
    name_col(),
    col("Controller", doc="Controller of the object"),
    col("Revision", doc="ControllerRevision.revision"),
    age_col(),
]


def controller_revision_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    controller = NONE
    for ref in lst(meta(obj).get("ownerReferences")):
        ref = d(ref)
        if ref.get("controller") is True:
            api_version = s(ref.get("apiVersion"))
            group = api_version.split("/", 1)[0] if "/" in api_version else ""
            kind = s(ref.get("kind"))
            if not group and not kind:
                controller = s(ref.get("name"))
            else:
                gk = f"{kind}.{group}" if group else kind
                controller = f"{gk.lower()}/{s(ref.get('name'))}"
            break
    return [name(obj), controller, i64(obj.get("revision")), age_cell(obj, now)]


HPA_COLUMNS = [
    name_col(),
    col("Reference", doc="HorizontalPodAutoscalerSpec.scaleTargetRef"),
    col("Targets", doc="HorizontalPodAutoscalerSpec.metrics"),
    col("MinPods", doc="HorizontalPodAutoscalerSpec.minReplicas"),
    col("MaxPods", doc="HorizontalPodAutoscalerSpec.maxReplicas"),
    col("Replicas", doc="HorizontalPodAutoscalerStatus.currentReplicas"),
    age_col(),
]


def _qptr(value: Any) -> str:
    """A *resource.Quantity's String(): "<nil>" for a missing one."""
    return "<nil>" if value is None else quantity_string(value)


def _metric_target(spec_part: Obj, status_part: Obj | None) -> str:
    """An Object or External metric: "<current>/<target>", with " (avg)" for an averageValue target."""
    target = d(spec_part.get("target"))
    current = d(status_part.get("current")) if status_part is not None else {}
    if target.get("averageValue") is not None:
        cur = quantity_string(current["averageValue"]) if current.get("averageValue") is not None else UNKNOWN
        return f"{cur}/{quantity_string(target.get('averageValue'))} (avg)"
    cur = _qptr(current.get("value")) if status_part is not None else UNKNOWN
    return f"{cur}/{_qptr(target.get('value'))}"


def hpa_targets(spec: Obj, status: Obj) -> str:
    metrics = lst(spec.get("metrics"))
    if not metrics:
        return NONE
    statuses = [d(x) for x in lst(status.get("currentMetrics"))]
    out: list[str] = []
    for i, raw in enumerate(metrics):
        m = d(raw)
        kind = m.get("type")
        st = statuses[i] if i < len(statuses) else {}
        if kind in ("External", "Object"):
            key = "external" if kind == "External" else "object"
            part, st_part = d(m.get(key)), (d(st[key]) if isinstance(st.get(key), dict) else None)
            out.append(_metric_target(part, st_part))
        elif kind == "Pods":
            part = d(m.get("pods"))
            st_part = d(st["pods"]) if isinstance(st.get("pods"), dict) else None
            cur = _qptr(path(st_part, "current", "averageValue")) if st_part is not None else UNKNOWN
            out.append(f"{cur}/{_qptr(path(part, 'target', 'averageValue'))}")
        elif kind in ("Resource", "ContainerResource"):
            key = "resource" if kind == "Resource" else "containerResource"
            part = d(m.get(key))
            st_part = d(st[key]) if isinstance(st.get(key), dict) else None
            rname = s(part.get("name"))
            target = d(part.get("target"))
            if target.get("averageValue") is not None:
                cur = _qptr(path(st_part, "current", "averageValue")) if st_part is not None else UNKNOWN
                out.append(f"{rname}: {cur}/{quantity_string(target.get('averageValue'))}")
            else:
                util = path(st_part, "current", "averageUtilization")
                cur = f"{i64(util)}%" if st_part is not None and util is not None else UNKNOWN
                tgt = f"{i64(target['averageUtilization'])}%" if target.get("averageUtilization") is not None \
                    else "<auto>"
                out.append(f"{rname}: {cur}/{tgt}")
        else:
            out.append("<unknown type>")
    if len(out) > 2:
        return ", ".join(out[:2]) + f" + {len(out) - 2} more..."
    return ", ".join(out)


def v1_hpa_as_v2(spec: Obj, status: Obj) -> tuple[Obj, Obj]:
    """An autoscaling/v1 HPA's CPU target and current utilization in v2 form, as the v1 conversion does."""
    if "metrics" in spec or "targetCPUUtilizationPercentage" not in spec:
        return spec, status
    target = spec["targetCPUUtilizationPercentage"]
    spec = dict(spec, metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": target}}}])
    if status.get("currentCPUUtilizationPercentage") is not None and "currentMetrics" not in status:
        status = dict(status, currentMetrics=[{"type": "Resource", "resource": {"name": "cpu", "current": {
            "averageUtilization": status["currentCPUUtilizationPercentage"]}}}])
    return spec, status


def hpa_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    spec, status = v1_hpa_as_v2(d(obj.get("spec")), d(obj.get("status")))
    ref = d(spec.get("scaleTargetRef"))
    min_pods = str(i64(spec["minReplicas"])) if spec.get("minReplicas") is not None else UNSET
    return [name(obj), f"{s(ref.get('kind'))}/{s(ref.get('name'))}", hpa_targets(spec, status), min_pods,
            i64(spec.get("maxReplicas")), i64(status.get("currentReplicas")), age_cell(obj, now)]


PDB_COLUMNS = [
    name_col(),
    col("Min Available", doc="The minimum number of pods that must be available."),
    col("Max Unavailable", doc="The maximum number of pods that may be unavailable."),
    col("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."),
    age_col(),
]


def pdb_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    spec = d(obj.get("spec"))
    min_av = int_or_string(spec["minAvailable"]) if spec.get("minAvailable") is not None else "N/A"
    max_un = int_or_string(spec["maxUnavailable"]) if spec.get("maxUnavailable") is not None else "N/A"
    return [name(obj), min_av, max_un, i64(path(obj, "status", "disruptionsAllowed")), age_cell(obj, now)]


# --- services and networking ----------------------------------------------------------------------------------

SERVICE_COLUMNS = [
    name_col(),
    col("Type", doc="ServiceSpec.type"),
    col("Cluster-IP", doc="ServiceSpec.clusterIP"),
    col("External-IP", doc="ServiceSpec.externalIPs"),
    col("Port(s)", doc="ServiceSpec.ports"),
    age_col(),
    col("Selector", doc="ServiceSpec.selector", priority=1),
]


def _lb_ingress(status: Any) -> str:
    """The load balancer's IPs (or hostnames), sorted and unique; the server never clips them (wide form)."""
    found = set()
    for ing in lst(d(status).get("ingress")):
        ing = d(ing)
        if s(ing.get("ip")):
            found.add(s(ing.get("ip")))
        elif s(ing.get("hostname")):
            found.add(s(ing.get("hostname")))
    return ",".join(sorted(found))


def service_external_ip(obj: Obj) -> str:
    spec = d(obj.get("spec"))
    externals = [x for x in lst(spec.get("externalIPs")) if isinstance(x, str)]
    svc_type = spec.get("type")
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(externals) if externals else NONE
    if svc_type == "LoadBalancer":
        lb = _lb_ingress(path(obj, "status", "loadBalancer"))
        if externals:
            return ",".join((lb.split(",") if lb else []) + externals)
        return lb or "<pending>"
    if svc_type == "ExternalName":
        return s(spec.get("externalName"))
    return "<unknown>"


def service_ports(ports: Any) -> str:
    pieces = []
    for p in lst(ports):
        p = d(p)
        if i64(p.get("nodePort")) > 0:
            pieces.append(f"{i64(p.get('port'))}:{i64(p.get('nodePort'))}/{s(p.get('protocol'))}")
        else:
            pieces.append(f"{i64(p.get('port'))}/{s(p.get('protocol'))}")
    return ",".join(pieces)


def service_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    spec = d(obj.get("spec"))
    # As the v1 -> internal conversion: clusterIP fills clusterIPs[0] when only it is set.
    ips = lst(spec.get("clusterIPs"))
    cluster_ip = (s(ips[0]) if ips else "") or s(spec.get("clusterIP")) or NONE
    return [name(obj), s(spec.get("type")), cluster_ip, service_external_ip(obj),
            service_ports(spec.get("ports")) or NONE, age_cell(obj, now), format_labels(spec.get("selector"))]


ENDPOINTS_COLUMNS = [name_col(), col("Endpoints", doc="Endpoints.subsets"), age_col()]


def _join_host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def format_endpoints(obj: Obj) -> str:
    subsets = lst(obj.get("subsets"))
    if not subsets:
        return NONE
    shown: list[str] = []
    limit, more, count = 3, False, 0
    for ss in subsets:
        ss = d(ss)
        addrs = [d(a) for a in lst(ss.get("addresses"))]
        ports = [d(p) for p in lst(ss.get("ports"))]
        if not ports:
            # Headless services may have addresses without ports.
            count += len(addrs)
            for a in addrs:
                if len(shown) == limit:
                    more = True
                    break
                shown.append(s(a.get("ip")))
            continue
        for p in ports:
            count += len(addrs)
            for a in addrs:
                if len(shown) == limit:
                    more = True
                    break
                shown.append(_join_host_port(s(a.get("ip")), i64(p.get("port"))))
    ret = ",".join(shown)
    return f"{ret} + {count - limit} more..." if more else ret


def endpoints_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    return [name(obj), format_endpoints(obj), age_cell(obj, now)]


ENDPOINT_SLICE_COLUMNS = [
    name_col(),
    col("AddressType", doc="EndpointSlice.addressType"),
    col("Ports", doc="EndpointSlice.ports"),
    col("Endpoints", doc="EndpointSlice.endpoints"),
    age_col(),
]


def endpoint_slice_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    limit = 3
    ports: list[str] = []
    pcount = 0
    for p in lst(obj.get("ports")):
        p = d(p)
        if len(ports) < limit:
            num = "*"
            if isinstance(p.get("port"), int) and not isinstance(p.get("port"), bool):
                num = str(p["port"])
            elif isinstance(p.get("name"), str):
                num = p["name"]
            ports.append(num)
        pcount += 1
    addrs: list[str] = []
    acount = 0
    for ep in lst(obj.get("endpoints")):
        for a in lst(d(ep).get("addresses")):
            if len(addrs) < limit:
                addrs.append(s(a))
            acount += 1
    return [name(obj), s(obj.get("addressType")), list_with_more(ports, pcount > limit, pcount, limit),
            list_with_more(addrs, acount > limit, acount, limit), age_cell(obj, now)]


INGRESS_COLUMNS = [
    name_col(),
    col("Class", doc="The name of the IngressClass resource that should be used for additional configuration"),
    col("Hosts", doc="Hosts that incoming requests are matched against before the ingress rule"),
    col("Address", doc="Address is a list containing ingress points for the load-balancer"),
    col("Ports", doc="Ports of TLS configurations that open"),
    age_col(),
]


def ingress_hosts(rules: Any) -> str:
    rs = [d(r) for r in lst(rules)]
    hosts: list[str] = []
    limit, more = 3, False
    for r in rs:
        if len(hosts) == limit:
            more = True
        if not more and s(r.get("host")):
            hosts.append(s(r.get("host")))
    if not hosts:
        return "*"
    ret = ",".join(hosts)
    return f"{ret} + {len(rs) - limit} more..." if more else ret


def ingress_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    spec = d(obj.get("spec"))
    cls = spec.get("ingressClassName")
    return [name(obj), cls if isinstance(cls, str) else NONE, ingress_hosts(spec.get("rules")),
            _lb_ingress(path(obj, "status", "loadBalancer")), "80, 443" if lst(spec.get("tls")) else "80",
            age_cell(obj, now)]


INGRESS_CLASS_COLUMNS = [
    name_col(),
    col("Controller", doc="Controller that is responsible for handling this class"),
    col("Parameters", doc="A reference to a resource with additional parameters"),
    age_col(),
]


def ingress_class_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    spec = d(obj.get("spec"))
    params = NONE
    if isinstance(spec.get("parameters"), dict):
        p = spec["parameters"]
        params = s(p.get("kind"))
        if isinstance(p.get("apiGroup"), str):
            params += "." + p["apiGroup"]
        params += "/" + s(p.get("name"))
    return [name(obj), s(spec.get("controller")), params, age_cell(obj, now)]


NETWORK_POLICY_COLUMNS = [name_col(), col("Pod-Selector", doc="NetworkPolicySpec.podSelector"), age_col()]


def network_policy_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    # The internal type holds podSelector by value, so a missing one is the empty (select-all) selector.
    return [name(obj), format_label_selector(d(path(obj, "spec", "podSelector"))), age_cell(obj, now)]


# --- cluster --------------------------------------------------------------------------------------------------

NODE_COLUMNS = [
    name_col(),
    col("Status", doc="The status of the node"),
    col("Roles", doc="The roles of the node"),
    age_col(),
    col("Version", doc="NodeSystemInfo.kubeletVersion"),
    col("Internal-IP", doc="NodeStatus.addresses", priority=1),
    col("External-IP", doc="NodeStatus.addresses", priority=1),
    col("OS-Image", doc="NodeSystemInfo.osImage", priority=1),
    col("Kernel-Version", doc="NodeSystemInfo.kernelVersion", priority=1),
    col("Container-Runtime", doc="NodeSystemInfo.containerRuntimeVersion", priority=1),
]

ROLE_PREFIX = "node-role.kubernetes.io/"


def node_roles(obj: Obj) -> str:
    roles = set()
    for k, v in d(meta(obj).get("labels")).items():
        if k.startswith(ROLE_PREFIX) and k[len(ROLE_PREFIX):]:
            roles.add(k[len(ROLE_PREFIX):])
        elif k == "kubernetes.io/role" and v:
            roles.add(s(v))
    return ",".join(sorted(roles)) or NONE


def node_status(obj: Obj) -> str:
    ready = None
    for c in lst(path(obj, "status", "conditions")):
        if d(c).get("type") == "Ready":
            ready = d(c)  # the last one wins, as in the printer's map
    parts = ["Unknown"] if ready is None else ["Ready" if ready.get("status") == "True" else "NotReady"]
    if path(obj, "spec", "unschedulable") is True:
        parts.append("SchedulingDisabled")
    return ",".join(parts)


def _node_address(obj: Obj, type_: str) -> str:
    for a in lst(path(obj, "status", "addresses")):
        if d(a).get("type") == type_:
            return s(d(a).get("address"))
    return NONE


def node_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    info = d(path(obj, "status", "nodeInfo"))
    return [name(obj), node_status(obj), node_roles(obj), age_cell(obj, now), s(info.get("kubeletVersion")),
            _node_address(obj, "InternalIP"), _node_address(obj, "ExternalIP"),
            s(info.get("osImage")) or UNKNOWN, s(info.get("kernelVersion")) or UNKNOWN,
            s(info.get("containerRuntimeVersion")) or UNKNOWN]


NAMESPACE_COLUMNS = [name_col(), col("Status", doc="The status of the namespace"), age_col()]


def namespace_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    return [name(obj), s(path(obj, "status", "phase")), age_cell(obj, now)]


EVENT_COLUMNS = [
    col("Last Seen", doc="Event.lastTimestamp"),
    col("Type", doc="Event.type"),
    col("Reason", doc="Event.reason"),
    col("Object", doc="Event.involvedObject"),
    col("Subobject", doc="ObjectReference.fieldPath", priority=1),
    col("Source", doc="Event.source", priority=1),
    col("Message", doc="Event.message"),
    col("First Seen", doc="Event.firstTimestamp", priority=1),
    col("Count", doc="Event.count", priority=1),
    col("Name", doc="meta.name", priority=1, fmt="name"),
]


def core_event(obj: Obj) -> Obj:
    """An events.k8s.io/v1 Event in core/v1 field names (the printers work on the shared internal type)."""
    if "involvedObject" in obj or not any(k in obj for k in ("regarding", "note", "deprecatedCount",
                                                              "deprecatedLastTimestamp", "reportingController")):
        return obj
    return {
        "metadata": obj.get("metadata"),
        "involvedObject": obj.get("regarding"),
        "message": obj.get("note"),
        "reason": obj.get("reason"),
        "type": obj.get("type"),
        "firstTimestamp": obj.get("deprecatedFirstTimestamp"),
        "lastTimestamp": obj.get("deprecatedLastTimestamp"),
        "count": obj.get("deprecatedCount"),
        "source": obj.get("deprecatedSource"),
        "eventTime": obj.get("eventTime"),
        "series": obj.get("series"),
        "reportingComponent": obj.get("reportingController"),
        "reportingInstance": obj.get("reportingInstance"),
    }


def event_cells(raw: Obj, now: dt.datetime) -> list[Any]:
    obj = core_event(raw)
    first = since(obj.get("firstTimestamp"), now)
    if parse_ts(obj.get("firstTimestamp")) is None:
        first = since(obj.get("eventTime"), now)
    last = since(obj.get("lastTimestamp"), now)
    if parse_ts(obj.get("lastTimestamp")) is None:
        last = first
    count = i64(obj.get("count"))
    series = obj.get("series")
    if isinstance(series, dict):
        last = since(series.get("lastObservedTime"), now)
        count = i64(series.get("count"))
    elif count == 0:
        count = 1  # singleton events of the new API carry no count
    inv = d(obj.get("involvedObject"))
    kind = s(inv.get("kind")).lower()
    target = f"{kind}/{s(inv.get('name'))}" if s(inv.get("name")) else kind
    src = d(obj.get("source"))
    component = s(src.get("component")) or s(obj.get("reportingComponent"))
    instance = s(src.get("host")) or s(obj.get("reportingInstance"))
    source = f"{component}, {instance}" if instance else component
    return [last, s(obj.get("type")), s(obj.get("reason")), target, s(inv.get("fieldPath")), source,
            s(obj.get("message")).strip(), first, count, name(raw)]


LEASE_COLUMNS = [name_col(), col("Holder", doc="LeaseSpec.holderIdentity"), age_col()]


def lease_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    return [name(obj), s(path(obj, "spec", "holderIdentity")), age_cell(obj, now)]


PRIORITY_CLASS_COLUMNS = [
    name_col(),
    col("Value", "integer", "PriorityClass.value"),
    col("Global-Default", "boolean", "PriorityClass.globalDefault"),
    age_col(),
    col("PreemptionPolicy", doc="PriorityClass.preemptionPolicy"),
]


def priority_class_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    return [name(obj), i64(obj.get("value")), obj.get("globalDefault") is True, age_cell(obj, now),
            s(obj.get("preemptionPolicy"))]


# --- config and storage ---------------------------------------------------------------------------------------

CONFIGMAP_COLUMNS = [name_col(), col("Data", doc="ConfigMap.data"), age_col()]


def configmap_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    return [name(obj), len(d(obj.get("data"))) + len(d(obj.get("binaryData"))), age_cell(obj, now)]


SECRET_COLUMNS = [name_col(), col("Type", doc="Secret.type"), col("Data", doc="Secret.data"), age_col()]


def secret_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    return [name(obj), s(obj.get("type")), len(d(obj.get("data"))), age_cell(obj, now)]


SERVICE_ACCOUNT_COLUMNS = [name_col(), col("Secrets", doc="ServiceAccount.secrets"), age_col()]


def service_account_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    return [name(obj), len(lst(obj.get("secrets"))), age_cell(obj, now)]


PV_COLUMNS = [
    name_col(),
    col("Capacity", doc="PersistentVolumeSpec.capacity"),
    col("Access Modes", doc="PersistentVolumeSpec.accessModes"),
    col("Reclaim Policy", doc="PersistentVolumeSpec.persistentVolumeReclaimPolicy"),
    col("Status", doc="PersistentVolumeStatus.phase"),
    col("Claim", doc="PersistentVolumeSpec.claimRef"),
    col("StorageClass", doc="StorageClass of the pv"),
    col("VolumeAttributesClass", doc="VolumeAttributesClass of the pv"),
    col("Reason", doc="PersistentVolumeStatus.reason"),
    age_col(),
    col("VolumeMode", doc="PersistentVolumeSpec.volumeMode", priority=1),
]

BETA_STORAGE_CLASS = "volume.beta.kubernetes.io/storage-class"


def storage_class_of(obj: Obj) -> str:
    """GetPersistentVolume(Claim)Class: the beta annotation wins over spec.storageClassName."""
    annotations = d(meta(obj).get("annotations"))
    if BETA_STORAGE_CLASS in annotations:
        return s(annotations[BETA_STORAGE_CLASS])
    return s(path(obj, "spec", "storageClassName"))


def pv_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    spec, status = d(obj.get("spec")), d(obj.get("status"))
    claim = ""
    if isinstance(spec.get("claimRef"), dict):
        claim = f"{s(spec['claimRef'].get('namespace'))}/{s(spec['claimRef'].get('name'))}"
    phase = "Terminating" if meta(obj).get("deletionTimestamp") else s(status.get("phase"))
    sc = storage_class_of(obj)
    vac = spec.get("volumeAttributesClassName")
    mode = spec.get("volumeMode")
    return [name(obj), quantity_string(d(spec.get("capacity")).get("storage")), access_modes(spec.get("accessModes")),
            s(spec.get("persistentVolumeReclaimPolicy")), phase, claim, sc,
            vac if isinstance(vac, str) else UNSET, s(status.get("reason")), age_cell(obj, now),
            mode if isinstance(mode, str) else UNSET]


PVC_COLUMNS = [
    name_col(),
    col("Status", doc="PersistentVolumeClaimStatus.phase"),
    col("Volume", doc="PersistentVolumeClaimSpec.volumeName"),
    col("Capacity", doc="PersistentVolumeClaimStatus.capacity"),
    col("Access Modes", doc="PersistentVolumeClaimStatus.accessModes"),
    col("StorageClass", doc="StorageClass of the pvc"),
    col("VolumeAttributesClass", doc="VolumeAttributesClass of the pvc"),
    age_col(),
    col("VolumeMode", doc="PersistentVolumeClaimSpec.volumeMode", priority=1),
]


def pvc_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    spec, status = d(obj.get("spec")), d(obj.get("status"))
    phase = "Terminating" if meta(obj).get("deletionTimestamp") else s(status.get("phase"))
    capacity = modes = ""
    if s(spec.get("volumeName")):
        modes = access_modes(status.get("accessModes"))
        capacity = quantity_string(d(status.get("capacity")).get("storage"))
    sc = storage_class_of(obj)
    vac = spec.get("volumeAttributesClassName")
    mode = spec.get("volumeMode")
    return [name(obj), phase, s(spec.get("volumeName")), capacity, modes, sc, vac if isinstance(vac, str) else UNSET,
            age_cell(obj, now), mode if isinstance(mode, str) else UNSET]


STORAGE_CLASS_COLUMNS = [
    name_col(),
    col("Provisioner", doc="StorageClass.provisioner"),
    col("ReclaimPolicy", doc="StorageClass.reclaimPolicy"),
    col("VolumeBindingMode", doc="StorageClass.volumeBindingMode"),
    col("AllowVolumeExpansion", doc="StorageClass.allowVolumeExpansion"),
    age_col(),
]

DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                             "storageclass.beta.kubernetes.io/is-default-class")


def storage_class_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    annotations = d(meta(obj).get("annotations"))
    shown = name(obj)
    if any(annotations.get(a) == "true" for a in DEFAULT_CLASS_ANNOTATIONS):
        shown += " (default)"
    reclaim = obj.get("reclaimPolicy")
    binding = obj.get("volumeBindingMode")
    return [shown, s(obj.get("provisioner")), reclaim if isinstance(reclaim, str) else "Delete",
            binding if isinstance(binding, str) else "Immediate", obj.get("allowVolumeExpansion") is True,
            age_cell(obj, now)]


VOLUME_ATTACHMENT_COLUMNS = [
    name_col(),
    col("Attacher", doc="VolumeAttachmentSpec.attacher", fmt="name"),
    col("PV", doc="VolumeAttachmentSource.persistentVolumeName"),
    col("Node", doc="VolumeAttachmentSpec.nodeName"),
    col("Attached", "boolean", "VolumeAttachmentStatus.attached"),
    age_col(),
]


def volume_attachment_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    spec = d(obj.get("spec"))
    return [name(obj), s(spec.get("attacher")), s(path(spec, "source", "persistentVolumeName")),
            s(spec.get("nodeName")), path(obj, "status", "attached") is True, age_cell(obj, now)]


CSI_DRIVER_COLUMNS = [
    name_col(),
    col("AttachRequired", "boolean", "CSIDriverSpec.attachRequired"),
    col("PodInfoOnMount", "boolean", "CSIDriverSpec.podInfoOnMount"),
    col("StorageCapacity", "boolean", "CSIDriverSpec.storageCapacity"),
    col("TokenRequests", doc="CSIDriverSpec.tokenRequests"),
    col("RequiresRepublish", "boolean", "CSIDriverSpec.requiresRepublish"),
    col("Modes", doc="CSIDriverSpec.volumeLifecycleModes"),
    age_col(),
]


def csi_driver_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    spec = d(obj.get("spec"))
    tokens = UNSET
    if isinstance(spec.get("tokenRequests"), list):
        tokens = ",".join(s(d(t).get("audience")) for t in spec["tokenRequests"])
    modes = ",".join(s(m) for m in lst(spec.get("volumeLifecycleModes"))) or NONE
    return [name(obj), spec.get("attachRequired") is not False, spec.get("podInfoOnMount") is True,
            spec.get("storageCapacity") is True, tokens, spec.get("requiresRepublish") is True, modes,
            age_cell(obj, now)]


RESOURCE_QUOTA_COLUMNS = [
    name_col(),
    col("Request", doc="Request represents a minimum amount of cpu/memory that a container may consume."),
    col("Limit", doc="Limits control the maximum amount of cpu/memory that a container may use independent of "
        "contention on the node."),
    age_col(),
]


def resource_quota_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    status = d(obj.get("status"))
    hard, used = d(status.get("hard")), d(status.get("used"))
    requests: list[str] = []
    limits: list[str] = []
    for res in sorted(hard):
        pieces = res.split(".")
        target = limits if len(pieces) > 1 and pieces[0] == "limits" else requests
        target.append(f"{res}: {quantity_string(used.get(res))}/{quantity_string(hard[res])}")
    return [name(obj), ", ".join(requests), ", ".join(limits), age_cell(obj, now)]


# --- RBAC -----------------------------------------------------------------------------------------------------

def _binding_columns(what: str) -> list[Obj]:
    doc = "RoleBinding.roleRef" if what == "roleBinding" else "ClusterRoleBinding.roleRef"
    return [
        name_col(),
        col("Role", doc=doc),
        age_col(),
        col("Users", doc=f"Users in the {what}", priority=1),
        col("Groups", doc=f"Groups in the {what}", priority=1),
        col("ServiceAccounts", doc=f"ServiceAccounts in the {what}", priority=1),
    ]


def binding_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    ref = d(obj.get("roleRef"))
    users: list[str] = []
    groups: list[str] = []
    sas: list[str] = []
    for subj in lst(obj.get("subjects")):
        subj = d(subj)
        kind = subj.get("kind")
        if kind == "ServiceAccount":
            sas.append(f"{s(subj.get('namespace'))}/{s(subj.get('name'))}")
        elif kind == "User":
            users.append(s(subj.get("name")))
        elif kind == "Group":
            groups.append(s(subj.get("name")))
    return [name(obj), f"{s(ref.get('kind'))}/{s(ref.get('name'))}", age_cell(obj, now), ", ".join(users),
            ", ".join(groups), ", ".join(sas)]


# --- the registry ---------------------------------------------------------------------------------------------

TABLES: dict[tuple[str, str], tuple[list[Obj], Cells]] = {
    ("", "pods"): (POD_COLUMNS, pod_cells),
    ("", "podtemplates"): (POD_TEMPLATE_COLUMNS, pod_template_cells),
    ("", "replicationcontrollers"): (RC_COLUMNS, rc_cells),
    ("", "services"): (SERVICE_COLUMNS, service_cells),
    ("", "endpoints"): (ENDPOINTS_COLUMNS, endpoints_cells),
    ("", "nodes"): (NODE_COLUMNS, node_cells),
    ("", "namespaces"): (NAMESPACE_COLUMNS, namespace_cells),
    ("", "events"): (EVENT_COLUMNS, event_cells),
    ("", "configmaps"): (CONFIGMAP_COLUMNS, configmap_cells),
    ("", "secrets"): (SECRET_COLUMNS, secret_cells),
    ("", "serviceaccounts"): (SERVICE_ACCOUNT_COLUMNS, service_account_cells),
    ("", "persistentvolumes"): (PV_COLUMNS, pv_cells),
    ("", "persistentvolumeclaims"): (PVC_COLUMNS, pvc_cells),
    ("", "resourcequotas"): (RESOURCE_QUOTA_COLUMNS, resource_quota_cells),
    ("apps", "deployments"): (DEPLOYMENT_COLUMNS, deployment_cells),
    ("apps", "replicasets"): (RS_COLUMNS, rs_cells),
    ("apps", "statefulsets"): (STATEFULSET_COLUMNS, statefulset_cells),
    ("apps", "daemonsets"): (DAEMONSET_COLUMNS, daemonset_cells),
    ("apps", "controllerrevisions"): (CONTROLLER_REVISION_COLUMNS, controller_revision_cells),
    ("batch", "jobs"): (JOB_COLUMNS, job_cells),
    ("batch", "cronjobs"): (CRONJOB_COLUMNS, cronjob_cells),
    ("autoscaling", "horizontalpodautoscalers"): (HPA_COLUMNS, hpa_cells),
    ("policy", "poddisruptionbudgets"): (PDB_COLUMNS, pdb_cells),
    ("networking.k8s.io", "ingresses"): (INGRESS_COLUMNS, ingress_cells),
    ("networking.k8s.io", "ingressclasses"): (INGRESS_CLASS_COLUMNS, ingress_class_cells),
    ("networking.k8s.io", "networkpolicies"): (NETWORK_POLICY_COLUMNS, network_policy_cells),
    ("discovery.k8s.io", "endpointslices"): (ENDPOINT_SLICE_COLUMNS, endpoint_slice_cells),
    ("coordination.k8s.io", "leases"): (LEASE_COLUMNS, lease_cells),
    ("events.k8s.io", "events"): (EVENT_COLUMNS, event_cells),
    ("storage.k8s.io", "storageclasses"): (STORAGE_CLASS_COLUMNS, storage_class_cells),
    ("storage.k8s.io", "volumeattachments"): (VOLUME_ATTACHMENT_COLUMNS, volume_attachment_cells),
    ("storage.k8s.io", "csidrivers"): (CSI_DRIVER_COLUMNS, csi_driver_cells),
    ("rbac.authorization.k8s.io", "rolebindings"): (_binding_columns("roleBinding"), binding_cells),
    ("rbac.authorization.k8s.io", "clusterrolebindings"): (_binding_columns("clusterRoleBinding"), binding_cells),
    ("scheduling.k8s.io", "priorityclasses"): (PRIORITY_CLASS_COLUMNS, priority_class_cells),
}

# Groups Kubernetes itself serves: their resources without a printer (roles, clusterroles, limitranges,
# customresourcedefinitions, ...) get the generic NAME / CREATED AT table.
BUILTIN_GROUPS = frozenset({
    "", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "discovery.k8s.io", "coordination.k8s.io",
    "events.k8s.io", "storage.k8s.io", "rbac.authorization.k8s.io", "scheduling.k8s.io", "apiextensions.k8s.io",
    "authorization.k8s.io", "authentication.k8s.io", "admissionregistration.k8s.io", "certificates.k8s.io",
    "flowcontrol.apiserver.k8s.io", "node.k8s.io", "resource.k8s.io", "storagemigration.k8s.io",
    "internal.apiserver.k8s.io", "apiregistration.k8s.io", "extensions",
})

