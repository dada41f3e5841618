"""The control plane's load balancer as a real process (`python -m kemu.launcher.lb`) in front of real TCP backends:
round-robin, byte-exact pass-through with half-close, a dead backend skipped without a failed client connection,
its recovery picked up by the health checks, and bad flags refused with a one-line error."""

from __future__ import annotations

import json
import socket
import socketserver
import subprocess
import threading
from collections import Counter
from pathlib import Path

import pytest

from tests.support.procs import PYTHON, REPO, ProcessGroup, free_port, port_open, wait_for

pytestmark = pytest.mark.integration


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(10)
        sock.sendall(f"{self.server.name}\n".encode())  # type: ignore[attr-defined]
        received = b""
        while data := sock.recv(4096):
            received += data
            sock.sendall(data)
        sock.sendall(f"bye {len(received)}".encode())   # after the client's half-close


class _Backend:
    def __init__(self, name: str, port: int) -> None:
        self.name, self.port = name, port
        self.server: socketserver.ThreadingTCPServer | None = None
        self.start()

    def start(self) -> None:
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), _Handler)
        server.daemon_threads = True
        server.name = self.name  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.server = server

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def _hello(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.settimeout(5)
        return s.makefile().readline().strip()


def _status(path: Path) -> dict[str, bool]:
    return {b["address"]: b["healthy"] for b in json.loads(path.read_text())["backends"]}


def test_round_robin_pass_through_failover_and_recovery(procs: ProcessGroup, tmp_path: Path) -> None:
    backends = [_Backend(n, free_port()) for n in ("a", "b", "c")]
    port, status = free_port(), tmp_path / "lb.json"
    try:
        procs.start("lb", [PYTHON, "-m", "kemu.launcher.lb", "--listen", f"127.0.0.1:{port}",
                           *[a for b in backends for a in ("--backend", f"127.0.0.1:{b.port}")],
                           "--health-interval", "0.2", "--status-file", str(status)])
        wait_for(lambda: port_open(port), timeout_s=30, what="the load balancer's port")
        wait_for(lambda: all(_status(status).values()), timeout_s=30, what="all backends healthy")

        assert Counter(_hello(port) for _ in range(6)) == {"a": 2, "b": 2, "c": 2}

        payload = bytes(range(256)) * 1000
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.settimeout(10)
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            got = b""
            while data := s.recv(65536):
                got += data
        name, _, rest = got.partition(b"\n")
        assert name in (b"a", b"b", b"c")
        assert rest == payload + f"bye {len(payload)}".encode(), "bytes pass unchanged; the half-close goes through"

        backends[1].stop()
        answers = [_hello(port) for _ in range(9)]
        assert set(answers) == {"a", "c"}, "no client connection fails while a backend is down"
        wait_for(lambda: _status(status)[f"127.0.0.1:{backends[1].port}"] is False, timeout_s=10,
                 what="the status file marking the dead backend")

        backends[1].start()
        wait_for(lambda: all(_status(status).values()), timeout_s=30, what="the backend healthy again")
        assert "b" in {_hello(port) for _ in range(6)}
        assert f"backend 127.0.0.1:{backends[1].port} UNHEALTHY" in procs.log("lb")
    finally:
        for b in backends:
            b.stop()


@pytest.mark.parametrize("argv", [["--listen", "nowhere", "--backend", "127.0.0.1:1"],
                                  ["--listen", "127.0.0.1:1", "--backend", "x:y"]])
def test_bad_flags_are_one_line_errors(argv: list[str]) -> None:
    r = subprocess.run([PYTHON, "-m", "kemu.launcher.lb", *argv], capture_output=True, text=True, timeout=30,
                       cwd=REPO)
    assert r.returncode == 1
    assert r.stderr.startswith("error: invalid address") and "Traceback" not in r.stderr
