"""A fork server for the runtime's per-pod processes: container shims and sandbox holders.

Starting a shim as ``python -m node_agent.runtime.shim`` costs a fresh interpreter and its imports (~30-40 ms of
CPU per container), and a holder as ``unshare`` + ``sh`` + ``hostname`` + ``ip`` + ``sleep`` five execs per pod. The
fork server is one small single-threaded Python process, started by the runtime, that has the shim's modules
imported and forks a child per request, so a shim costs a fork and a holder a fork plus one exec (``sleep``).

Protocol (``SOCK_SEQPACKET`` socket pair, one JSON message per request, file descriptors as SCM_RIGHTS):
  {"kind": "shim", "bundle": B, "log": L} + [ready_w]  -> the child writes ``<pid>\n`` to ready_w, then runs
      node_agent.runtime.shim's ``serve(B, ready_w)`` (which writes ``\n`` once the container started or failed)
  {"kind": "holder", "hostname": H, "host_network": bool, "log": L} + [ready_w]
      -> the child unshares IPC (+ net and UTS unless host network), sets the hostname, brings ``lo`` up, writes
         ``ready <pid> <pid>`` to ready_w and execs ``sleep infinity`` (so the holder is the namespace owner itself)
There is no reply: everything the runtime learns comes through ready_w, and end-of-file on it without the expected
line means the child (or the fork) failed; the server logs why on its stderr. So the runtime's threads never wait
for each other's round trips: a request costs them one sendmsg, and the server only forks.
Children start a new session (they outlive the runtime and the server), reset signal dispositions, and send their
stdout/stderr to L. The server reaps its children on SIGCHLD and ignores their statuses (exit statuses travel
through the shim's files). It exits when the runtime's end of the socket closes.
The runtime side (``ForkServer``) restarts the server if it died and serialises requests (one fork at a time).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from typing import Any

from node_agent.runtime import nsutil, shim

_MAX_MSG = 65536


def _child_common(sock: socket.socket, log: str) -> None:
    sock.close()
    os.setsid()
    for sig in (signal.SIGCHLD, signal.SIGPIPE, signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)
    os.chdir("/")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)


def _holder(req: dict[str, Any], ready_w: int, sleep_bin: str) -> None:
    """Never returns: execs ``sleep infinity`` inside the new namespaces, or exits 1 with the error on stderr."""
    try:
        flags = nsutil.CLONE_NEWIPC
        if not req.get("host_network"):
            flags |= nsutil.CLONE_NEWNET | nsutil.CLONE_NEWUTS
        nsutil.unshare(flags)
        if not req.get("host_network"):
            nsutil.sethostname(str(req.get("hostname") or "")[:64])
            nsutil.link_up("lo")
        pid = os.getpid()
        os.write(ready_w, f"ready {pid} {pid}\n".encode())
        os.close(ready_w)
        os.execv(sleep_bin, ["sleep", "infinity"])
    except BaseException as e:
        try:
            os.write(2, f"pod sandbox holder: {e}\n".encode())
        finally:
            os._exit(1)


def _child(sock: socket.socket, req: dict[str, Any], fds: list[int], sleep_bin: str) -> None:
    """The forked child: never returns to the server loop."""
    code = 1
    try:
        _child_common(sock, str(req["log"]))
        if req["kind"] == "holder":
            _holder(req, fds[0], sleep_bin)
        elif req["kind"] == "shim":
            os.write(fds[0], f"{os.getpid()}\n".encode())
            code = shim.serve(str(req["bundle"]), fds[0])
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _reap(*_: object) -> None:
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def serve(sock: socket.socket) -> int:
    # Reap children as they exit (rather than SIG_IGN's auto-reaping) so their CPU time is accounted to us.
    signal.signal(signal.SIGCHLD, _reap)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a ^C meant for the runtime: we end when its socket closes
    sleep_bin = shutil.which("sleep") or "/bin/sleep"
    while True:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(sock, _MAX_MSG, 4)
        except InterruptedError:
            continue
        except OSError:
            return 0
        if not msg:
            return 0  # the runtime is gone
        try:
            req = json.loads(msg)
            if req.get("kind") not in ("holder", "shim") or len(fds) != 1 or not req.get("log"):
                raise ValueError(f"bad request {msg[:200]!r} with {len(fds)} fds")
            if os.fork() == 0:
                _child(sock, req, fds, sleep_bin)
        except (ValueError, OSError) as e:
            # closing the ready pipe below without a line tells the runtime the request failed
            print(f"fork server: {e}", file=sys.stderr, flush=True)
        finally:
            for fd in fds:
                os.close(fd)


class ForkServerError(Exception):
    pass


class ForkServer:
    """The runtime's handle on its fork server (started on first use, restarted when it died)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.lock = threading.Lock()
        self.sock: socket.socket | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    def _start(self) -> socket.socket:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen([sys.executable, "-S", "-m", "node_agent.runtime.forkserver",
                                          str(theirs.fileno())], pass_fds=(theirs.fileno(),), cwd="/", env=self.env,
                                         stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
        # reap it whenever it exits (it is our child); the thread ends with it
        threading.Thread(target=self.proc.wait, daemon=True).start()
        self.sock = ours
        return ours

    def spawn(self, request: dict[str, Any], fd: int) -> None:
        """Ask for a child for ``request``, handing it ``fd`` (the caller then reads that pipe's other end).
        Raises ForkServerError when the server cannot be reached even after a restart."""
        data = json.dumps(request).encode()
        with self.lock:
            for attempt in (0, 1):
                sock = self.sock if self.sock is not None and self.proc is not None and self.proc.poll() is None \
                    else self._start()
                try:
                    socket.send_fds(sock, [data], [fd])
                    return
                except OSError as e:
                    self.close_locked()
                    if attempt:
                        raise ForkServerError(f"the fork server is unreachable: {e}") from e

    def close_locked(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def close(self) -> None:
        with self.lock:
            self.close_locked()


def main() -> int:
    fd = int(sys.argv[1])
    sock = socket.socket(fileno=fd)
    return serve(sock)


if __name__ == "__main__":
    sys.exit(main())
