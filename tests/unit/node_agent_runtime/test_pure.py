"""Pure parts of the runtime: image references, argv/env/user rules, CRI log format, cgroup mappings."""

from __future__ import annotations

import pytest

from node_agent.runtime import logfmt, spec
from node_agent.runtime.cgroups import shares_to_weight
from node_agent.runtime.refs import InvalidReference, parse

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("ref", "want"), [
    ("busybox", "docker.io/library/busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36"),
    ("docker.io/library/busybox:latest", "docker.io/library/busybox:latest"),
    ("me/app", "docker.io/me/app:latest"),
    ("localhost:5000/x/y:v2", "localhost:5000/x/y:v2"),
    ("quay.io/a/b", "quay.io/a/b:latest"),
    ("busybox@sha256:" + "a" * 64, "docker.io/library/busybox@sha256:" + "a" * 64),
])
def test_reference_normalisation(ref: str, want: str) -> None:
    assert str(parse(ref)) == want


@pytest.mark.parametrize("ref", ["", "Busybox", "busybox@sha256:xyz", "a:b:c", "busybox:bad tag"])
def test_invalid_references(ref: str) -> None:
    with pytest.raises(InvalidReference):
        parse(ref)


def test_argv_rules() -> None:
    ep, cmd = ["/entry"], ["default"]
    assert spec.argv([], [], ep, cmd) == ["/entry", "default"]
    assert spec.argv(["run"], [], ep, cmd) == ["run"]
    assert spec.argv([], ["x"], ep, cmd) == ["/entry", "x"]
    assert spec.argv(["run"], ["x"], ep, cmd) == ["run", "x"]
    with pytest.raises(spec.SpecError):
        spec.argv([], [], [], [])


def test_environment_merge() -> None:
    env = spec.environment(["PATH=/bin", "A=1"], [("A", "2"), ("B", "x=y")])
    assert env == ["PATH=/bin", "A=2", "B=x=y"]
    assert spec.environment([], [])[0].startswith("PATH=")


def test_user_resolution() -> None:
    passwd = spec.parse_passwd("root:x:0:0::/root:/bin/sh\nwww-data:x:33:33::/:/bin/false\n")
    groups = spec.parse_group("root:x:0:\nwww-data:x:33:\nstaff:x:50:\n")
    assert spec.user(None, None, "", passwd, groups) == (0, 0)
    assert spec.user(None, None, "www-data", passwd, groups) == (33, 33)
    assert spec.user(None, None, "33:staff", passwd, groups) == (33, 50)
    assert spec.user(1000, None, "www-data", passwd, groups) == (1000, 0)
    assert spec.user(33, 7, "", passwd, groups) == (33, 7)
    with pytest.raises(spec.SpecError, match="unable to find user nobody"):
        spec.user(None, None, "nobody", passwd, groups)


def test_resolv_and_hosts() -> None:
    assert spec.resolv_conf(["10.96.0.10"], ["a.svc", "svc"], ["ndots:5"], "host") == (
        "nameserver 10.96.0.10\nsearch a.svc svc\noptions ndots:5\n")
    assert spec.resolv_conf([], [], [], "nameserver 1.1.1.1\n") == "nameserver 1.1.1.1\n"
    assert "10.244.1.5\tweb" in spec.hosts_file("web", "10.244.1.5")
    assert spec.hosts_file("web", "").splitlines()[0] == "127.0.0.1\tlocalhost\tweb"


def test_log_records() -> None:
    assert logfmt.timestamp(1475712429_669794202) == "2016-10-06T00:07:09.669794202Z"
    assert logfmt.timestamp(1_000_000_000) == "1970-01-01T00:00:01.000000000Z"
    sp = logfmt.LineSplitter("stdout", max_line=8)
    out = sp.feed(b"hello\nworld", 0)
    assert out == [b"1970-01-01T00:00:00.000000000Z stdout F hello\n"]
    out = sp.feed(b"-and-more-text\n", 0)
    assert [logfmt.parse(r.rstrip(b"\n"))[2:] for r in out] == [("P", b"world-an"), ("P", b"d-more-t"), ("F", b"ext")]
    assert sp.feed(b"tail", 0) == [] and sp.flush(0) == [b"1970-01-01T00:00:00.000000000Z stdout P tail\n"]
    assert sp.flush(0) == []


def test_shares_to_weight() -> None:
    assert shares_to_weight(2) == 1
    assert shares_to_weight(262144) == 10000
    assert shares_to_weight(1024) == 39
    assert shares_to_weight(0) == 100


def test_capabilities() -> None:
    default = spec.capabilities(False, [], [])
    assert len(default) == 14 and spec.CAPS.index("SYS_ADMIN") not in default
    # Docker's default bounding set, as /proc/<pid>/status prints it
    assert f"{sum(1 << c for c in default):016x}" == "00000000a80425fb"
    assert spec.CAPS.index("NET_ADMIN") in spec.capabilities(False, ["CAP_NET_ADMIN"], [])
    assert spec.capabilities(False, [], ["ALL"]) == []
    assert spec.capabilities(False, ["NET_ADMIN"], ["ALL"]) == []
    assert len(spec.capabilities(True, [], ["ALL"])) == len(spec.CAPS)
    with pytest.raises(spec.SpecError, match="unknown capability"):
        spec.capabilities(False, ["FLY"], [])
