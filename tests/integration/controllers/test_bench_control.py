"""Control-plane benchmark (marked slow): pods scheduled per second (1,000 pending pods over 100 nodes registered
without runtimes) and a 100-replica Deployment's time to all-scheduled. Prints a table; run with
``pytest -m slow -s tests/integration/controllers/test_bench_control.py``."""

from __future__ import annotations

import concurrent.futures
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.controllers.conftest import start_controller_manager, start_scheduler
from tests.integration.controllers.kubelets import Api, node_body
from tests.support.apiserver import ApiServer, start_apiserver
from tests.support.procs import ProcessGroup, wait_for
from tests.support.real_etcd import start_real_etcd

pytestmark = [pytest.mark.integration, pytest.mark.slow]
NODES, PODS, REPLICAS = 100, 1000, 100


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiServer, Api, ProcessGroup]]:
    base: Path = tmp_path_factory.mktemp("bench")
    group = ProcessGroup(base / "logs")
    try:
        members = start_real_etcd(group, base / "etcd", size=1)
        api = start_apiserver(group, [m.client_url for m in members], base / "apiserver")
        rest = Api(api.url, api.token, str(api.ca_file))
        t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        for i in range(NODES):
            name = f"n{i:03d}"
            rest.call("POST", "/api/v1/nodes", node_body(name, cpu="32", memory="64Gi"))
            rest.merge(f"/api/v1/nodes/{name}/status", {"status": {"conditions": [
                {"type": "Ready", "status": "True", "lastHeartbeatTime": t, "lastTransitionTime": t}]}})
        yield api, rest, group
    finally:
        group.close()


def bound(rest: Api, ns: str) -> int:
    return sum(1 for p in rest.call("GET", f"/api/v1/namespaces/{ns}/pods")["items"] if p["spec"].get("nodeName"))


def test_bench_control(plane: tuple[ApiServer, Api, ProcessGroup]) -> None:
    api, rest, group = plane
    start_controller_manager(group, api, "kcm", "--controllers", "serviceaccount,deployment,replicaset")
    for ns in ("bench", "dep"):  # pods need the namespace's default ServiceAccount (admission)
        rest.call("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
        wait_for(lambda ns=ns: rest.call("GET", f"/api/v1/namespaces/{ns}/serviceaccounts/default") is not None,  # type: ignore[misc]
                 30, 0.1, f"default SA in {ns}")
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "bench"},
            "spec": {"containers": [{"name": "c", "image": "pause",
                                     "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        list(ex.map(lambda i: rest.call("POST", "/api/v1/namespaces/bench/pods",
                                        {**body, "metadata": {"name": f"p{i:04d}", "namespace": "bench"}}),
                    range(PODS)))
    t0 = time.monotonic()
    start_scheduler(group, api)
    wait_for(lambda: bound(rest, "bench") == PODS, 600, 0.5, "all pods bound")
    sched_s = time.monotonic() - t0
    t1 = time.monotonic()
    rest.call("POST", "/apis/apps/v1/namespaces/dep/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "big", "namespace": "dep"},
        "spec": {"replicas": REPLICAS, "selector": {"matchLabels": {"app": "big"}},
                 "template": {"metadata": {"labels": {"app": "big"}},
                              "spec": {"containers": [{"name": "c", "image": "pause"}]}}}})
    wait_for(lambda: bound(rest, "dep") == REPLICAS, 600, 0.5, "deployment pods bound")
    dep_s = time.monotonic() - t1
    print(file=sys.stderr)
    print("| measurement | result |", file=sys.stderr)
    print("|---|---|", file=sys.stderr)
    print(f"| {PODS} pending pods over {NODES} nodes, scheduler start to all bound | {sched_s:.1f} s "
          f"({PODS / sched_s:.0f} pods/s, incl. cache sync) |", file=sys.stderr)
    print(f"| Deployment of {REPLICAS} replicas, create to all scheduled | {dep_s:.1f} s |", file=sys.stderr)
