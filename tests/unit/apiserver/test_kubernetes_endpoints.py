"""The kubernetes Service's Endpoints and EndpointSlices as apiservers register (pure)."""

from __future__ import annotations

import pytest

from apiserver.kubernetes_endpoints import endpoints_with, slice_name, slice_with

pytestmark = pytest.mark.unit


def test_endpoints_group_addresses_by_port_and_repeat_registration_is_a_no_op() -> None:
    ep = endpoints_with(None, "10.0.0.2", 6443)
    assert ep is not None and ep["subsets"] == [{"addresses": [{"ip": "10.0.0.2"}],
                                                 "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]
    assert ep["metadata"]["labels"] == {"endpointslice.kubernetes.io/skip-mirror": "true"}
    assert endpoints_with(ep, "10.0.0.2", 6443) is None
    two = endpoints_with(ep, "10.0.0.1", 6443)
    assert two is not None and [a["ip"] for a in two["subsets"][0]["addresses"]] == ["10.0.0.1", "10.0.0.2"]
    # kemu's HA layout: one address, several ports -> one subset per port
    ha = endpoints_with(endpoints_with(None, "10.0.0.9", 6445), "10.0.0.9", 6444)
    assert ha is not None and [(s["addresses"], s["ports"][0]["port"]) for s in ha["subsets"]] == [
        ([{"ip": "10.0.0.9"}], 6444), ([{"ip": "10.0.0.9"}], 6445)]


def test_slices_carry_one_port_each() -> None:
    first = slice_with(None, "kubernetes", "10.0.0.2", 6443)
    assert first is not None and first["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}
    assert first["ports"] == [{"name": "https", "port": 6443, "protocol": "TCP"}]
    assert first["endpoints"] == [{"addresses": ["10.0.0.2"],
                                   "conditions": {"ready": True, "serving": True, "terminating": False}}]
    assert slice_with(first, "kubernetes", "10.0.0.2", 6443) is None
    assert slice_name(None, 6444) == "kubernetes"
    assert slice_name(first, 6443) == "kubernetes"
    assert slice_name(first, 6444) == "kubernetes-6444"
    both = slice_with(first, "kubernetes", "10.0.0.1", 6443)
    assert both is not None and [e["addresses"] for e in both["endpoints"]] == [["10.0.0.1"], ["10.0.0.2"]]
