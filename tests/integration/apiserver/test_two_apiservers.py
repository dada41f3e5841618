"""Two apiservers on one etcd_raft store stay consistent: reads, optimistic concurrency and watches cross them."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.apiserver import start_apiserver
from tests.support.procs import ProcessGroup
from tests.support.real_etcd import EtcdMember

pytestmark = pytest.mark.integration


def test_two_apiservers_share_state(raft_etcd: list[EtcdMember], procs: ProcessGroup, tmp_path: Path) -> None:
    urls = [m.client_url for m in raft_etcd]
    a = start_apiserver(procs, urls, tmp_path / "a", name="apiserver-a")
    b = start_apiserver(procs, urls, tmp_path / "b", name="apiserver-b")
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared"}, "data": {"v": "1"}}
    watch_cmd = ["kubectl", "--kubeconfig", str(b.kubeconfig), "--cache-dir", str(b.cache_dir), "get", "cm",
                 "shared", "-w", "-o", "jsonpath={.data.v}{\"\\n\"}", "--request-timeout=10s"]
    a.kubectl("create", "-f", "-", input=json.dumps(cm))
    assert b.kubectl("get", "cm", "shared", "-o", "jsonpath={.data.v}").stdout == "1"
    with subprocess.Popen(watch_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as watcher:
        time.sleep(1.5)
        stale = json.loads(b.kubectl("get", "cm", "shared", "-o", "json").stdout)
        a.kubectl("patch", "cm", "shared", "--type", "merge", "-p", '{"data":{"v":"2"}}')
        stale["data"]["v"] = "lost"
        conflict = b.kubectl("replace", "-f", "-", input=json.dumps(stale), check=False)
        assert conflict.returncode == 1
        assert 'Operation cannot be fulfilled on configmaps "shared": the object has been modified' in conflict.stderr
        time.sleep(1.5)
        watcher.terminate()
        out, _ = watcher.communicate(timeout=10)
    assert out.split() == ["1", "2"]
    assert a.kubectl("get", "cm", "shared", "-o", "jsonpath={.data.v}").stdout == "2"
