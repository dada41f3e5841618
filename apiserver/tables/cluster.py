"""Printers for cluster-administration APIs: admission configuration, certificates, API priority and fairness,
node runtime classes, CSI node objects, service CIDRs and component statuses.

kemu does not serve all of these today; the entries exist so that serving one later gives the real columns at
once. Same conventions as ``printers``: every column's cell is present and typed as the Go printer types it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from apiserver.tables.duration import NS_PER_SECOND, human_duration
from apiserver.tables.formats import NONE, UNSET, Obj, d, i64, lst, name, path, quantity_string, s
from apiserver.tables.printers import Cells, age_cell, age_col, col, name_col

WEBHOOK_COLUMNS = [
    name_col(),
    col("Webhooks", "integer", "Webhooks indicates the number of webhooks registered in this configuration"),
    age_col(),
]


def webhook_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    return [name(obj), len(lst(obj.get("webhooks"))), age_cell(obj, now)]


VAP_COLUMNS = [
    name_col(),
    col("Validations", "integer", "Validations indicates the number of validation rules defined in this "
        "configuration"),
    col("ParamKind", doc="ParamKind specifies the kind of resources used to parameterize this policy"),
    age_col(),
]


def vap_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    spec = d(obj.get("spec"))
    kind = UNSET
    if isinstance(spec.get("paramKind"), dict):
        kind = f"{s(spec['paramKind'].get('apiVersion'))}/{s(spec['paramKind'].get('kind'))}"
    return [name(obj), len(lst(spec.get("validations"))), kind, age_cell(obj, now)]


VAP_BINDING_COLUMNS = [
    name_col(),
    col("PolicyName", doc="PolicyName indicates the policy definition which the policy binding binded to"),
    col("ParamRef", doc="ParamRef indicates the param resource which sets the configration param"),
    age_col(),
]


def _go_selector_string(sel: Obj) -> str:
    """The generated protobuf String() of a metav1.LabelSelector, which is what the binding printer shows."""
    labels = d(sel.get("matchLabels"))
    ml = "map[string]string{" + "".join(f"{k}: {s(labels[k])}," for k in sorted(labels)) + "}"
    exprs = ""
    for e in lst(sel.get("matchExpressions")):
        e = d(e)
        values = "[" + " ".join(s(v) for v in lst(e.get("values"))) + "]"
        exprs += f"LabelSelectorRequirement{{Key:{s(e.get('key'))},Operator:{s(e.get('operator'))},Values:{values},}},"
    return f"&LabelSelector{{MatchLabels:{ml},MatchExpressions:[]LabelSelectorRequirement{{{exprs}}},}}"


def vap_binding_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    spec = d(obj.get("spec"))
    param = UNSET
    ref = spec.get("paramRef")
    if isinstance(ref, dict):
        if s(ref.get("name")):
            # Without a namespace the printer cannot tell a cluster-scoped param, so it shows "*".
            param = f"{s(ref.get('namespace'))}/{s(ref['name'])}" if s(ref.get("namespace")) else f"*/{s(ref['name'])}"
        elif isinstance(ref.get("selector"), dict):
            param = _go_selector_string(ref["selector"])
    return [name(obj), s(spec.get("policyName")), param, age_cell(obj, now)]


CSR_COLUMNS = [
    name_col(),
    age_col(),
    col("SignerName", doc="CertificateSigningRequestSpec.signerName"),
    col("Requestor", doc="CertificateSigningRequestSpec.request"),
    col("RequestedDuration", doc="CertificateSigningRequestSpec.expirationSeconds"),
    col("Condition", doc="CertificateSigningRequestStatus.conditions"),
]


def csr_condition(obj: Obj) -> str:
    types = {d(c).get("type") for c in lst(path(obj, "status", "conditions"))}
    text = "Denied" if "Denied" in types else "Approved" if "Approved" in types else "Pending"
    if "Failed" in types:
        text += ",Failed"
    if s(path(obj, "status", "certificate")):
        text += ",Issued"
    return text


def csr_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    spec = d(obj.get("spec"))
    duration = NONE
    if spec.get("expirationSeconds") is not None:
        duration = human_duration(i64(spec.get("expirationSeconds")) * NS_PER_SECOND)
    return [name(obj), age_cell(obj, now), s(spec.get("signerName")) or NONE, s(spec.get("username")), duration,
            csr_condition(obj)]


FLOW_SCHEMA_COLUMNS = [
    name_col(),
    col("PriorityLevel", doc="PriorityLevelConfigurationReference.name"),
    col("MatchingPrecedence", doc="FlowSchemaSpec.matchingPrecedence"),
    col("DistinguisherMethod", doc="FlowSchemaSpec.distinguisherMethod"),
    age_col(),
    col("MissingPL", doc="references a broken or non-existent PriorityLevelConfiguration"),
]


def flow_schema_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    spec = d(obj.get("spec"))
    method = NONE
    if isinstance(spec.get("distinguisherMethod"), dict):
        method = s(spec["distinguisherMethod"].get("type"))
    dangling = "?"
    for c in lst(path(obj, "status", "conditions")):
        if d(c).get("type") == "Dangling":
            dangling = s(d(c).get("status"))
            break
    return [name(obj), s(path(spec, "priorityLevelConfiguration", "name")), i64(spec.get("matchingPrecedence")),
            method, age_cell(obj, now), dangling]


PLC_COLUMNS = [
    name_col(),
    col("Type", doc="PriorityLevelConfigurationSpec.type"),
    col("NominalConcurrencyShares", doc="LimitedPriorityLevelConfiguration.nominalConcurrencyShares"),
    col("Queues", doc="QueuingConfiguration.queues"),
    col("HandSize", doc="QueuingConfiguration.handSize"),
    col("QueueLengthLimit", doc="QueuingConfiguration.queueLengthLimit"),
    age_col(),
]


def plc_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    spec = d(obj.get("spec"))
    ncs: Any = NONE
    queues: Any = NONE
    hand: Any = NONE
    qlen: Any = NONE
    limited = spec.get("limited")
    if isinstance(limited, dict):
        ncs = i64(limited.get("nominalConcurrencyShares"))
        queuing = path(limited, "limitResponse", "queuing")
        if isinstance(queuing, dict):
            queues, hand, qlen = i64(queuing.get("queues")), i64(queuing.get("handSize")), \
                i64(queuing.get("queueLengthLimit"))
    return [name(obj), s(spec.get("type")), ncs, queues, hand, qlen, age_cell(obj, now)]


# Go's printer documents Handler with a key ObjectMeta does not have, so the description is empty.
RUNTIME_CLASS_COLUMNS = [name_col(), col("Handler"), age_col()]


def runtime_class_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    return [name(obj), s(obj.get("handler")), age_cell(obj, now)]


CSI_NODE_COLUMNS = [
    name_col(),
    col("Drivers", "integer", "Drivers indicates the number of CSI drivers registered on the node"),
    age_col(),
]


def csi_node_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    return [name(obj), len(lst(path(obj, "spec", "drivers"))), age_cell(obj, now)]


CSI_CAPACITY_COLUMNS = [
    name_col(),
    col("StorageClassName", doc="CSIStorageCapacity.storageClassName"),
    col("Capacity", doc="CSIStorageCapacity.capacity"),
]


def csi_capacity_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    cap = obj.get("capacity")
    return [name(obj), s(obj.get("storageClassName")), UNSET if cap is None else quantity_string(cap)]


SERVICE_CIDR_COLUMNS = [name_col(), col("CIDRs", doc="ServiceCIDRSpec.cidrs"), age_col()]


def service_cidr_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    return [name(obj), ",".join(s(c) for c in lst(path(obj, "spec", "cidrs"))), age_cell(obj, now)]


COMPONENT_STATUS_COLUMNS = [
    name_col(),
    col("Status", doc="Status of the component conditions"),
    col("Message", doc="Message of the component conditions"),
    col("Error", doc="Error of the component conditions"),
]


def component_status_cells(obj: Obj, now: dt.datetime) -> list[Any]:
    status, message, error = "Unknown", "", ""
    for c in lst(obj.get("conditions")):
        c = d(c)
        if c.get("type") == "Healthy":
            status = "Healthy" if c.get("status") == "True" else "Unhealthy"
            message, error = s(c.get("message")), s(c.get("error"))
            break
    return [name(obj), status, message, error]


TABLES: dict[tuple[str, str], tuple[list[Obj], Cells]] = {
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"): (WEBHOOK_COLUMNS, webhook_cells),
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations"): (WEBHOOK_COLUMNS, webhook_cells),
    ("admissionregistration.k8s.io", "validatingadmissionpolicies"): (VAP_COLUMNS, vap_cells),
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings"): (VAP_BINDING_COLUMNS, vap_binding_cells),
    ("certificates.k8s.io", "certificatesigningrequests"): (CSR_COLUMNS, csr_cells),
    ("flowcontrol.apiserver.k8s.io", "flowschemas"): (FLOW_SCHEMA_COLUMNS, flow_schema_cells),
    ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations"): (PLC_COLUMNS, plc_cells),
    ("node.k8s.io", "runtimeclasses"): (RUNTIME_CLASS_COLUMNS, runtime_class_cells),
    ("storage.k8s.io", "csinodes"): (CSI_NODE_COLUMNS, csi_node_cells),
    ("storage.k8s.io", "csistoragecapacities"): (CSI_CAPACITY_COLUMNS, csi_capacity_cells),
    ("networking.k8s.io", "servicecidrs"): (SERVICE_CIDR_COLUMNS, service_cidr_cells),
    ("", "componentstatuses"): (COMPONENT_STATUS_COLUMNS, component_status_cells),
}
