from __future__ import annotations

import subprocess
import sys

import pytest

from node_agent.__main__ import host_capacity, parse_args

pytestmark = pytest.mark.unit


def test_flags_and_kubelet_aliases() -> None:
    a = parse_args(["--node-name", "n1", "--apiserver", "http://127.0.0.1:6443", "--cri-socket", "/run/c.sock",
                    "--capacity", "cpu=4,memory=8Gi,pods=110", "--pod-cidr", "10.244.1.0/24"])
    assert (a.node_name, a.cri_socket, a.node_lease_duration, a.lease_renew_interval, a.port) == (
        "n1", "/run/c.sock", 40, 10.0, 10250)
    b = parse_args(["--hostname-override", "n2", "--apiserver", "http://x", "--container-runtime-endpoint",
                    "unix:///run/c.sock", "--node-ip", "10.0.0.5", "--node-lease-duration-seconds", "20"])
    assert (b.node_name, b.cri_socket, b.address, b.node_lease_duration) == ("n2", "unix:///run/c.sock", "10.0.0.5", 20)
    cap = host_capacity()
    assert int(cap["cpu"]) >= 1 and cap["memory"].endswith("Ki") and cap["pods"] == "110"


def test_bad_flags_give_clear_errors(tmp_path: object) -> None:
    r = subprocess.run([sys.executable, "-m", "node_agent", "--apiserver", "http://x"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2 and "the following arguments are required: --node-name" in r.stderr
    r = subprocess.run([sys.executable, "-m", "node_agent", "--node-name", "n", "--apiserver", "http://x",
                        "--cri-socket", "/nonexistent.sock", "--token-file", "/nonexistent/token"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and r.stderr.startswith("node_agent: ") and "Traceback" not in r.stderr
