"""Pure parts of the apiserver core: request parsing, metadata rules, discovery shapes, keys, tokens, allocation."""

from __future__ import annotations

import random

import pytest

from apiserver import discovery, errors, objects, requestinfo
from apiserver.allocator import ip_candidates, port_candidates
from apiserver.resources import Registry
from apiserver.storage import decode_continue, encode, encode_continue

pytestmark = pytest.mark.unit
REG = Registry()


@pytest.mark.parametrize(("method", "path", "query", "want"), [
    ("GET", "/api/v1/namespaces/ns/pods", {}, ("list", "", "ns", "pods", "", "")),
    ("GET", "/api/v1/namespaces/ns/pods", {"watch": "true"}, ("watch", "", "ns", "pods", "", "")),
    ("GET", "/api/v1/watch/namespaces/ns/pods", {}, ("watch", "", "ns", "pods", "", "")),
    ("GET", "/api/v1/namespaces/ns/pods/x/log", {}, ("get", "", "ns", "pods", "x", "log")),
    ("POST", "/api/v1/namespaces/ns/pods/x/binding", {}, ("create", "", "ns", "pods", "x", "binding")),
    ("GET", "/api/v1/namespaces/ns", {}, ("get", "", "ns", "namespaces", "ns", "")),
    ("PUT", "/api/v1/namespaces/ns/finalize", {}, ("update", "", "ns", "namespaces", "ns", "finalize")),
    ("GET", "/api/v1/nodes", {}, ("list", "", "", "nodes", "", "")),
    ("DELETE", "/apis/apps/v1/namespaces/d/deployments", {}, ("deletecollection", "apps", "d", "deployments", "", "")),
    ("PATCH", "/apis/apps/v1/namespaces/d/deployments/w/scale", {}, ("patch", "apps", "d", "deployments", "w",
                                                                      "scale")),
    ("GET", "/apis/apps/v1/deployments", {}, ("list", "apps", "", "deployments", "", "")),
])
def test_request_info(method: str, path: str, query: dict[str, str], want: tuple[str, ...]) -> None:
    ri = requestinfo.parse(method, path, query)
    assert ri.resource_request
    assert (ri.verb, ri.group, ri.namespace, ri.resource, ri.name, ri.subresource) == want


@pytest.mark.parametrize("path", ["/version", "/healthz", "/api", "/apis", "/apis/apps", "/openapi/v3"])
def test_non_resource(path: str) -> None:
    assert not requestinfo.parse("GET", path, {}).resource_request


def test_keys_follow_kube_apiserver_layout() -> None:
    def key(g: str, res: str, ns: str, n: str) -> str:
        r = REG.get(g, "v1", res)
        assert r is not None
        return r.key(ns, n)
    assert key("", "pods", "default", "p") == "/registry/pods/default/p"
    assert key("", "nodes", "", "n1") == "/registry/minions/n1"
    assert key("", "services", "default", "s") == "/registry/services/specs/default/s"
    assert key("apps", "deployments", "d", "w") == "/registry/deployments/d/w"
    assert key("apiextensions.k8s.io", "customresourcedefinitions", "", "a.b") == \
        "/registry/apiextensions.k8s.io/customresourcedefinitions/a.b"


def test_continue_token_round_trip_and_rejects_garbage() -> None:
    tok = encode_continue(b"/registry/pods/default/b\x00", 42, "/registry/pods/")
    assert decode_continue(tok, "/registry/pods/") == (b"/registry/pods/default/b\x00", 42)
    with pytest.raises(ValueError):
        decode_continue("not-a-token", "/registry/pods/")
    evil = encode_continue(b"/registry/pods/../secrets/x", 1, "/registry/pods/")
    with pytest.raises(ValueError):
        decode_continue(evil, "/registry/pods/")


def test_stored_form_has_no_resource_version() -> None:
    assert b"resourceVersion" not in encode({"metadata": {"name": "a", "resourceVersion": "5"}})


def test_prepare_create_sets_server_fields_and_drops_status() -> None:
    pods = REG.get("", "v1", "pods")
    assert pods is not None
    obj = objects.prepare_create(pods, {"metadata": {"name": "p", "uid": "client", "resourceVersion": "9"},
                                        "spec": {}, "status": {"phase": "Running"}}, "ns", "2026-01-01T00:00:00Z",
                                 lambda: "u-1")
    assert obj["metadata"] == {"name": "p", "namespace": "ns", "uid": "u-1",
                               "creationTimestamp": "2026-01-01T00:00:00Z", "generation": 1}
    assert obj["status"] == {"phase": "Pending"} and obj["kind"] == "Pod" and obj["apiVersion"] == "v1"


def test_update_bumps_generation_only_on_spec_change_and_keeps_status() -> None:
    deps = REG.get("apps", "v1", "deployments")
    assert deps is not None
    old = {"metadata": {"name": "d", "namespace": "n", "uid": "u", "generation": 3, "creationTimestamp": "t"},
           "spec": {"replicas": 1}, "status": {"replicas": 1}}
    labels_only = objects.prepare_update(deps, {"metadata": {"name": "d", "labels": {"a": "b"}},
                                                "spec": {"replicas": 1}, "status": {"replicas": 9}}, old)
    assert labels_only["metadata"]["generation"] == 3 and labels_only["status"] == {"replicas": 1}
    assert labels_only["metadata"]["uid"] == "u"
    objects.bump_generation(deps, labels_only, old)
    assert labels_only["metadata"]["generation"] == 3
    spec = objects.prepare_update(deps, {"metadata": {"name": "d"}, "spec": {"replicas": 2}}, old)
    objects.bump_generation(deps, spec, old)
    assert spec["metadata"]["generation"] == 4
    status = objects.prepare_status_update(deps, {"metadata": {}, "spec": {"replicas": 7},
                                                  "status": {"replicas": 2}}, old)
    assert status["spec"] == {"replicas": 1} and status["status"] == {"replicas": 2}


def test_field_sets_for_selectors() -> None:
    pods = REG.get("", "v1", "pods")
    events = REG.get("", "v1", "events")
    assert pods is not None and events is not None
    fs = objects.field_set(pods, {"metadata": {"name": "p", "namespace": "n"}, "spec": {"nodeName": "n1"},
                                  "status": {"phase": "Running"}})
    assert fs["spec.nodeName"] == "n1" and fs["status.phase"] == "Running" and fs["metadata.name"] == "p"
    ev = objects.field_set(events, {"metadata": {"name": "e"}, "involvedObject": {"name": "x", "uid": "u"},
                                    "source": {"component": "kubelet"}})
    assert ev["involvedObject.uid"] == "u" and ev["source"] == "kubelet"
    assert "spec.nodeName" not in objects.field_labels(events)


def test_aggregated_discovery_shape() -> None:
    core = discovery.aggregated(REG, legacy=True)
    assert core["kind"] == "APIGroupDiscoveryList" and core["apiVersion"] == "apidiscovery.k8s.io/v2"
    (item,) = core["items"]
    assert "name" not in item["metadata"]
    pods = next(r for r in item["versions"][0]["resources"] if r["resource"] == "pods")
    assert pods["scope"] == "Namespaced" and pods["shortNames"] == ["po"] and pods["categories"] == ["all"]
    assert {"subresource": "status", "verbs": ["get", "patch", "update"],
            "responseKind": {"group": "", "version": "v1", "kind": "Pod"}} in pods["subresources"]
    groups = [i["metadata"]["name"] for i in discovery.aggregated(REG, legacy=False)["items"]]
    assert groups[0] == "apps" and "" not in groups
    legacy = discovery.api_resource_list(REG, "apps", "v1")
    assert legacy is not None
    names = [r["name"] for r in legacy["resources"]]
    assert "deployments" in names and "deployments/scale" in names


def test_status_messages_as_kubernetes_words_them() -> None:
    assert errors.not_found("apps", "deployments", "x").message == 'deployments.apps "x" not found'
    assert errors.conflict("", "pods", "p").message == ('Operation cannot be fulfilled on pods "p": the object has '
                                                        'been modified; please apply your changes to the latest '
                                                        'version and try again')
    inv = errors.invalid("", "ConfigMap", "B", [{"reason": "FieldValueInvalid", "field": "metadata.name",
                                                 "message": 'Invalid value: "B": bad'}])
    assert inv.message == 'ConfigMap "B" is invalid: metadata.name: Invalid value: "B": bad'
    assert inv.status()["details"]["causes"][0]["field"] == "metadata.name"


def test_allocation_candidates_cover_the_range_once() -> None:
    ips = list(ip_candidates("10.96.0.0/29", random.Random(1)))
    assert sorted(ips) == [f"10.96.0.{i}" for i in range(2, 7)]
    ports = list(port_candidates(30000, 30009, random.Random(2)))
    assert sorted(ports) == list(range(30000, 30010))


def test_events_api_is_a_view_of_core_events() -> None:
    from apiserver.conversion import core_to_events, events_to_core

    core = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}, "involvedObject": {"name": "p"},
            "message": "hi", "reason": "Started", "source": {"component": "kubelet"}, "count": 2,
            "firstTimestamp": "t1", "lastTimestamp": "t2", "reportingComponent": "kubelet", "type": "Normal"}
    ev = core_to_events(core)
    assert ev["apiVersion"] == "events.k8s.io/v1" and ev["regarding"] == {"name": "p"} and ev["note"] == "hi"
    assert ev["deprecatedCount"] == 2 and ev["deprecatedSource"] == {"component": "kubelet"}
    assert events_to_core(ev) == core


def test_hpa_v1_is_a_view_of_v2() -> None:
    from apiserver.conversion import hpa_v1_to_v2, hpa_v2_to_v1

    v1 = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
          "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                   "minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 50}}
    v2 = hpa_v1_to_v2(v1)
    assert v2["spec"]["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 50}
    assert hpa_v2_to_v1(v2) == v1
    no_target = hpa_v1_to_v2({**v1, "spec": {k: v for k, v in v1["spec"].items()
                                             if k != "targetCPUUtilizationPercentage"}})
    assert no_target["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 80


def test_metrics_from_a_kubelet_summary() -> None:
    import datetime as dt

    from apiserver.metrics import node_metrics, pod_metrics

    now = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    summary = {"node": {"cpu": {"usageNanoCores": 250_000_000}, "memory": {"workingSetBytes": 2 * 1024 * 1024}},
               "pods": [{"podRef": {"name": "p", "namespace": "ns"},
                         "containers": [{"name": "c", "cpu": {"usageNanoCores": 5}, "memory": {}}]}]}
    (pm,) = pod_metrics(summary, now)
    assert pm["metadata"]["name"] == "p" and pm["containers"] == [{"name": "c", "usage": {"cpu": "5n",
                                                                                            "memory": "0Ki"}}]
    assert node_metrics("n", summary, now)["usage"] == {"cpu": "250000000n", "memory": "2048Ki"}
