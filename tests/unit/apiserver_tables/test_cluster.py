"""Cluster-administration printers (admission, certificates, flow control, runtime/CSI objects, CIDRs)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from apiserver.tables import column_definitions, row_cells

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
Obj = dict[str, Any]
META = {"name": "x", "creationTimestamp": "2026-01-01T11:00:00Z"}

CASES: list[tuple[str, str, Obj, list[str], list[Any]]] = [
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations",
     {"metadata": META, "webhooks": [{"name": "a.example.com"}, {"name": "b.example.com"}]},
     ["Name", "Webhooks", "Age"], ["x", 2, "60m"]),
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations", {"metadata": META},
     ["Name", "Webhooks", "Age"], ["x", 0, "60m"]),
    ("admissionregistration.k8s.io", "validatingadmissionpolicies",
     {"metadata": META, "spec": {"paramKind": {"apiVersion": "rules.example.com/v1", "kind": "ReplicaLimit"},
                                 "validations": [{"expression": "object.spec.replicas <= 5"}]}},
     ["Name", "Validations", "ParamKind", "Age"], ["x", 1, "rules.example.com/v1/ReplicaLimit", "60m"]),
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings",
     {"metadata": META, "spec": {"policyName": "p", "paramRef": {"name": "limit", "namespace": "default"}}},
     ["Name", "PolicyName", "ParamRef", "Age"], ["x", "p", "default/limit", "60m"]),
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings",
     {"metadata": META, "spec": {"policyName": "p", "paramRef": {"name": "limit"}}},
     ["Name", "PolicyName", "ParamRef", "Age"], ["x", "p", "*/limit", "60m"]),
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings",
     {"metadata": META, "spec": {"policyName": "p", "paramRef": {"selector": {
         "matchLabels": {"b": "2", "a": "1"}, "matchExpressions": [{"key": "k", "operator": "In",
                                                                     "values": ["v1", "v2"]}]}}}},
     ["Name", "PolicyName", "ParamRef", "Age"],
     ["x", "p", "&LabelSelector{MatchLabels:map[string]string{a: 1,b: 2,},MatchExpressions:[]LabelSelectorRequirement"
      "{LabelSelectorRequirement{Key:k,Operator:In,Values:[v1 v2],},},}", "60m"]),
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings", {"metadata": META, "spec": {}},
     ["Name", "PolicyName", "ParamRef", "Age"], ["x", "", "<unset>", "60m"]),
    ("certificates.k8s.io", "certificatesigningrequests",
     {"metadata": META, "spec": {"signerName": "kubernetes.io/kube-apiserver-client", "username": "alice",
                                 "expirationSeconds": 86400},
      "status": {"conditions": [{"type": "Approved", "status": "True"}], "certificate": "LS0t"}},
     ["Name", "Age", "SignerName", "Requestor", "RequestedDuration", "Condition"],
     ["x", "60m", "kubernetes.io/kube-apiserver-client", "alice", "24h", "Approved,Issued"]),
    ("certificates.k8s.io", "certificatesigningrequests",
     {"metadata": META, "spec": {"username": "bob"},
      "status": {"conditions": [{"type": "Approved"}, {"type": "Denied"}, {"type": "Failed"}]}},
     ["Name", "Age", "SignerName", "Requestor", "RequestedDuration", "Condition"],
     ["x", "60m", "<none>", "bob", "<none>", "Denied,Failed"]),
    ("certificates.k8s.io", "certificatesigningrequests", {"metadata": META},
     ["Name", "Age", "SignerName", "Requestor", "RequestedDuration", "Condition"],
     ["x", "60m", "<none>", "", "<none>", "Pending"]),
    ("flowcontrol.apiserver.k8s.io", "flowschemas",
     {"metadata": META, "spec": {"priorityLevelConfiguration": {"name": "workload-high"}, "matchingPrecedence": 500,
                                 "distinguisherMethod": {"type": "ByUser"}},
      "status": {"conditions": [{"type": "Dangling", "status": "False"}]}},
     ["Name", "PriorityLevel", "MatchingPrecedence", "DistinguisherMethod", "Age", "MissingPL"],
     ["x", "workload-high", 500, "ByUser", "60m", "False"]),
    ("flowcontrol.apiserver.k8s.io", "flowschemas",
     {"metadata": META, "spec": {"priorityLevelConfiguration": {"name": "exempt"}, "matchingPrecedence": 1}},
     ["Name", "PriorityLevel", "MatchingPrecedence", "DistinguisherMethod", "Age", "MissingPL"],
     ["x", "exempt", 1, "<none>", "60m", "?"]),
    ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations",
     {"metadata": META, "spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 40, "limitResponse": {
         "type": "Queue", "queuing": {"queues": 128, "handSize": 6, "queueLengthLimit": 50}}}}},
     ["Name", "Type", "NominalConcurrencyShares", "Queues", "HandSize", "QueueLengthLimit", "Age"],
     ["x", "Limited", 40, 128, 6, 50, "60m"]),
    ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations",
     {"metadata": META, "spec": {"type": "Exempt", "exempt": {}}},
     ["Name", "Type", "NominalConcurrencyShares", "Queues", "HandSize", "QueueLengthLimit", "Age"],
     ["x", "Exempt", "<none>", "<none>", "<none>", "<none>", "60m"]),
    ("node.k8s.io", "runtimeclasses", {"metadata": META, "handler": "runc"}, ["Name", "Handler", "Age"],
     ["x", "runc", "60m"]),
    ("storage.k8s.io", "csinodes", {"metadata": META, "spec": {"drivers": [{"name": "d", "nodeID": "n"}]}},
     ["Name", "Drivers", "Age"], ["x", 1, "60m"]),
    ("storage.k8s.io", "csistoragecapacities", {"metadata": META, "storageClassName": "fast", "capacity": "100Gi"},
     ["Name", "StorageClassName", "Capacity"], ["x", "fast", "100Gi"]),
    ("storage.k8s.io", "csistoragecapacities", {"metadata": META, "storageClassName": "fast"},
     ["Name", "StorageClassName", "Capacity"], ["x", "fast", "<unset>"]),
    ("networking.k8s.io", "servicecidrs", {"metadata": META, "spec": {"cidrs": ["10.96.0.0/12", "fd00::/108"]}},
     ["Name", "CIDRs", "Age"], ["x", "10.96.0.0/12,fd00::/108", "60m"]),
    ("", "componentstatuses",
     {"metadata": META, "conditions": [{"type": "Healthy", "status": "True", "message": "ok"}]},
     ["Name", "Status", "Message", "Error"], ["x", "Healthy", "ok", ""]),
    ("", "componentstatuses",
     {"metadata": META, "conditions": [{"type": "Healthy", "status": "False", "error": "refused"}]},
     ["Name", "Status", "Message", "Error"], ["x", "Unhealthy", "", "refused"]),
]


@pytest.mark.parametrize(("group", "resource", "obj", "columns", "cells"), CASES,
                         ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_columns_and_cells(group: str, resource: str, obj: Obj, columns: list[str], cells: list[Any]) -> None:
    cols = column_definitions(group, resource)
    assert [c["name"] for c in cols] == columns
    assert row_cells(group, resource, obj, NOW) == cells
    assert len(row_cells(group, resource, {"metadata": 1, "spec": [], "status": "x"}, NOW)) == len(cols)


def test_descriptions() -> None:
    cols = {c["name"]: c for c in column_definitions("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations")}
    assert cols["HandSize"]["description"] == "The hand size field of QueuingConfiguration."
    assert column_definitions("node.k8s.io", "runtimeclasses")[1]["description"] == ""
