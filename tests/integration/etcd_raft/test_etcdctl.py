"""Debian's etcdctl 3.4 against a 3-member cluster: the same commands and assertions on real etcd and on ours."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.real_etcd import ETCDCTL, EtcdMember

pytestmark = pytest.mark.integration


class Ctl:
    def __init__(self, members: list[EtcdMember]) -> None:
        self.endpoints = ",".join(f"127.0.0.1:{m.client_port}" for m in members)

    def __call__(self, *args: str, stdin: str | None = None, timeout: float = 20, check: bool = True) -> str:
        proc = subprocess.run([ETCDCTL, f"--endpoints={self.endpoints}", *args], input=stdin, capture_output=True,
                              text=True, timeout=timeout, env={"ETCDCTL_API": "3"})
        if check:
            assert proc.returncode == 0, f"etcdctl {' '.join(args)}: {proc.stderr}"
        return proc.stdout if check else proc.stdout + proc.stderr

    def until_killed(self, args: list[str], after_s: float) -> str:
        proc = subprocess.Popen([ETCDCTL, f"--endpoints={self.endpoints}", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env={"ETCDCTL_API": "3"})
        try:
            out, _ = proc.communicate(timeout=after_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        return out

    def json(self, *args: str) -> dict:
        return dict(json.loads(self(*args, "-w", "json")))


def test_put_get_options_and_delete(any_etcd: list[EtcdMember]) -> None:
    ctl = Ctl(any_etcd)
    for k, v in [("a/1", "x"), ("a/2", "y"), ("a/3", "z"), ("b", "w")]:
        assert ctl("put", k, v).strip() == "OK"
    assert ctl("get", "--prefix", "a/").split() == ["a/1", "x", "a/2", "y", "a/3", "z"]
    assert ctl("get", "--prefix", "a/", "--keys-only").split() == ["a/1", "a/2", "a/3"]
    assert ctl("get", "--prefix", "a/", "--limit", "2").split() == ["a/1", "x", "a/2", "y"]
    ctl("put", "a/1", "x2")
    first = ctl.json("get", "a/1")["kvs"][0]
    assert (first["version"], first["create_revision"]) == (2, 2)
    assert ctl("get", "a/1", f"--rev={first['create_revision']}").split() == ["a/1", "x"]
    assert ctl("del", "a/2", "--prev-kv").split() == ["1", "a/2", "y"]
    assert ctl.json("get", "b")["header"]["revision"] == 7


def test_txn_watch_and_compaction(any_etcd: list[EtcdMember]) -> None:
    ctl = Ctl(any_etcd)
    ctl("put", "k", "1")
    ctl("put", "k", "2")
    out = ctl("txn", stdin='value("k") = "2"\n\nput k 3\n\nput k nope\n\n')
    assert out.split() == ["SUCCESS", "OK"]
    assert ctl("get", "k", "--print-value-only").strip() == "3"
    watched = ctl.until_killed(["watch", "k", "--rev=1"], after_s=2.0)   # etcdctl watch runs until killed
    assert "PUT\nk\n1\nPUT\nk\n2\nPUT\nk\n3" in watched
    assert ctl("compaction", "3").strip() == "compacted revision 3"
    assert "required revision has been compacted" in ctl("get", "k", "--rev=2", check=False)


def test_leases(any_etcd: list[EtcdMember]) -> None:
    ctl = Ctl(any_etcd)
    lease_id = ctl("lease", "grant", "30").split()[1]
    ctl("put", "--lease", lease_id, "lk", "lv")
    assert "attached keys([lk])" in ctl("lease", "timetolive", lease_id, "--keys")
    assert f"lease {lease_id} keepalived with TTL(30)" in ctl("lease", "keep-alive", "--once", lease_id)
    assert lease_id in ctl("lease", "list")
    assert ctl("lease", "revoke", lease_id).strip() == f"lease {lease_id} revoked"
    assert ctl("get", "lk") == ""
    assert "requested lease not found" in ctl("lease", "revoke", lease_id, check=False)


def test_cluster_and_maintenance_views(any_etcd: list[EtcdMember], tmp_path: Path) -> None:
    ctl = Ctl(any_etcd)
    members = ctl.json("member", "list")["members"]
    assert sorted(m["name"] for m in members) == sorted(m.name for m in any_etcd)
    statuses = json.loads(ctl("endpoint", "status", "-w", "json"))
    leaders = {s["Status"]["leader"] for s in statuses}
    assert len(statuses) == 3 and len(leaders) == 1
    assert sum(s["Status"]["leader"] == s["Status"]["header"]["member_id"] for s in statuses) == 1
    table = ctl("endpoint", "status", "-w", "table")
    assert table.count("| true ") + table.count("|      true |") >= 1
    assert ctl("endpoint", "health", check=False).count("is healthy") == 3     # etcdctl prints it on stderr
    assert ctl("alarm", "list") == ""
    assert ctl("defrag").count("Finished defragmenting") == 3
    first = f"--endpoints=127.0.0.1:{any_etcd[0].client_port}"
    snap = subprocess.run([ETCDCTL, first, "snapshot", "save", str(tmp_path / "snap.db")], capture_output=True,
                          text=True, timeout=30, env={"ETCDCTL_API": "3"})
    assert snap.returncode == 0 and "Snapshot saved" in snap.stdout + snap.stderr
