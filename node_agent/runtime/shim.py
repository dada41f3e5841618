"""The per-container shim: starts the container's process, writes its logs, records its exit.

``python -m node_agent.runtime.shim BUNDLE [READY_FD]`` (or ``serve(BUNDLE, READY_FD)`` in a child of the runtime's
fork server, node_agent.runtime.forkserver, which saves the interpreter start) reads ``BUNDLE/spec.json`` (written
by the runtime), and:

1. joins the sandbox's namespaces (net, ipc, uts; the pod's or a target container's PID namespace when shared) and
   otherwise unshares a new PID namespace, then forks the container's init;
2. the init (after the shim has put it into the container cgroup) unshares a mount namespace, makes every mount
   private, mounts the overlay root (lowerdir = image rootfs, upper/work in the bundle), /proc, /sys, a minimal
   /dev, /etc/hosts, /etc/hostname, /etc/resolv.conf and the CRI mounts, pivot_roots into it, drops to the
   container's uid/gid and execs the command with the container's environment and working dir;
3. the shim writes ``started.json`` ({pid, start_time, started_at}) once exec succeeded, or ``exit.json`` with
   exit code 128 and the error message if it failed, then writes a newline to READY_FD (the runtime waits on that
   pipe instead of polling); it copies stdout/stderr into the CRI log file (SIGUSR1
   reopens it; it rotates to ``<log>.1`` past ``log_max_bytes``) and finally writes ``exit.json``
   ({exit_code, signal, finished_at}).

Because the exit status is a file, a restarted runtime learns it even if it was down when the container exited.
The shim runs in its own session, detached from the runtime, and never holds the container's cgroup itself.
"""

from __future__ import annotations

import fcntl
import json
import os
import selectors
import signal
import socket
import struct
import sys
import termios
import time
from typing import Any

from node_agent.runtime import attach, logfmt, nsutil

_DEVICES = ("null", "zero", "random", "urandom", "tty", "full")


def _write_json(path: str, data: dict[str, Any]) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(data))
    os.replace(tmp, path)


def _touch(path: str, is_dir: bool) -> None:
    if is_dir:
        os.makedirs(path, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not os.path.exists(path):
            open(path, "a").close()


def _setup_root(spec: dict[str, Any]) -> None:
    m = nsutil
    m.unshare(m.CLONE_NEWNS)
    m.mount("none", "/", None, m.MS_REC | m.MS_PRIVATE)
    b = spec["bundle"]
    root = f"{b}/merged"
    m.mount("overlay", root, "overlay", 0, f"lowerdir={spec['lower']},upperdir={b}/upper,workdir={b}/work")
    _touch(f"{root}/proc", True)
    m.mount("proc", f"{root}/proc", "proc", m.MS_NOSUID | m.MS_NODEV | m.MS_NOEXEC)
    _touch(f"{root}/sys", True)
    try:
        m.mount("sysfs", f"{root}/sys", "sysfs", m.MS_NOSUID | m.MS_NODEV | m.MS_NOEXEC | m.MS_RDONLY)
    except OSError:
        # sysfs of a foreign network namespace may be refused; bind the host's read-only instead
        m.mount("/sys", f"{root}/sys", None, m.MS_BIND | m.MS_REC)
    dev = f"{root}/dev"
    _touch(dev, True)
    m.mount("tmpfs", dev, "tmpfs", m.MS_NOSUID, "mode=755,size=65536k")
    for d in _DEVICES:
        _touch(f"{dev}/{d}", False)
        m.mount(f"/dev/{d}", f"{dev}/{d}", None, m.MS_BIND)
    os.makedirs(f"{dev}/pts")
    m.mount("devpts", f"{dev}/pts", "devpts", m.MS_NOSUID | m.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620")
    os.symlink("pts/ptmx", f"{dev}/ptmx")
    os.makedirs(f"{dev}/shm")
    m.mount("shm", f"{dev}/shm", "tmpfs", m.MS_NOSUID | m.MS_NODEV | m.MS_NOEXEC, "mode=1777,size=65536k")
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{dev}/{name}")
    for name in ("hosts", "hostname", "resolv.conf"):
        dst = nsutil.resolve_in_root(root, f"/etc/{name}")
        _touch(dst, False)
        m.mount(f"{b}/etc/{name}", dst, None, m.MS_BIND)
    for mt in spec["mounts"]:
        dst = nsutil.resolve_in_root(root, mt["container_path"])
        _touch(dst, os.path.isdir(mt["host_path"]))
        m.mount(mt["host_path"], dst, None, m.MS_BIND | m.MS_REC)
        if mt.get("readonly"):
            m.mount("none", dst, None, m.MS_BIND | m.MS_REMOUNT | m.MS_RDONLY)
    if spec.get("readonly_rootfs"):
        m.mount("none", root, None, m.MS_BIND | m.MS_REMOUNT | m.MS_RDONLY)
    os.chdir(root)
    m.pivot_root(".", ".")
    m.umount2(".", m.MNT_DETACH)
    os.chdir("/")


def _init(spec: dict[str, Any], sync_r: int, err_w: int, tty_slave: int | None) -> None:
    """The container's init, between fork and exec. Never returns."""
    try:
        os.read(sync_r, 1)  # the shim has put us into the cgroup
        os.close(sync_r)
        if tty_slave is not None:
            os.setsid()
            fcntl.ioctl(tty_slave, termios.TIOCSCTTY, 0)
        _setup_root(spec)
        if spec.get("caps") is not None:
            nsutil.limit_capabilities(spec["caps"])
        os.setgroups([])
        os.setgid(spec["gid"])
        os.setuid(spec["uid"])
        cwd = spec["cwd"] or "/"
        try:
            os.chdir(cwd)
        except FileNotFoundError:
            os.makedirs(cwd, exist_ok=True)
            os.chdir(cwd)
        env = dict(e.split("=", 1) for e in spec["env"])
        os.execvpe(spec["argv"][0], spec["argv"], env)
    except BaseException as e:  # report any failure to the shim; never run shim code here
        msg = f"{type(e).__name__}: {e}" if not isinstance(e, OSError) else str(e)
        if isinstance(e, FileNotFoundError) and spec["argv"] and e.filename in (None, spec["argv"][0]):
            msg = f'exec: "{spec["argv"][0]}": executable file not found in $PATH'
        try:
            os.write(err_w, msg.encode()[:4000])
        finally:
            os._exit(128)


class LogWriter:
    def __init__(self, path: str, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.f = self._open()

    def _open(self) -> Any:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        return open(self.path, "ab", buffering=0)

    def reopen(self) -> None:
        self.f.close()
        self.f = self._open()

    def write(self, records: list[bytes]) -> None:
        for r in records:
            pos = self.f.tell()
            if self.max_bytes and pos and pos + len(r) > self.max_bytes:
                # one rotated generation, as the kubelet's default of keeping a couple of files
                self.f.close()
                os.replace(self.path, self.path + ".1")
                self.f = self._open()
            self.f.write(r)


def run(bundle: str, ready_fd: int) -> int:
    with open(f"{bundle}/spec.json") as f:
        spec = json.load(f)
    ns = spec["ns"]
    listener = attach.listen(spec["id"]) if spec.get("id") else None  # before setns: in the runtime's netns
    for kind, flag in (("ipc", nsutil.CLONE_NEWIPC), ("uts", nsutil.CLONE_NEWUTS), ("net", nsutil.CLONE_NEWNET)):
        if ns.get(kind):
            nsutil.setns(ns[kind], flag)
    if ns.get("pid"):
        nsutil.setns(ns["pid"], nsutil.CLONE_NEWPID)
    else:
        nsutil.unshare(nsutil.CLONE_NEWPID)
    sync_r, sync_w = os.pipe()
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    tty = bool(spec.get("tty"))
    stdin_w = -1  # where attached clients' stdin goes
    if tty:
        master, slave = os.openpty()
        out_fds = {master: "stdout"}
        child_io = (slave if spec.get("stdin") else os.open(os.devnull, os.O_RDONLY), slave, slave)
        stdin_w = master if spec.get("stdin") else -1
    else:
        o_r, o_w = os.pipe()
        e_r, e_w = os.pipe()
        out_fds = {o_r: "stdout", e_r: "stderr"}
        if spec.get("stdin"):
            in_r, stdin_w = os.pipe()
            os.set_inheritable(stdin_w, False)
            child_io = (in_r, o_w, e_w)
        else:
            child_io = (os.open(os.devnull, os.O_RDONLY), o_w, e_w)
    # The loop below sleeps until output, an attach client or a signal: SIGCHLD (the init exited) and SIGUSR1
    # (reopen the log) write to this pipe, so an idle container costs no periodic wake-ups. Set before the fork so
    # an init that dies at once is not missed; both ends close at the init's exec.
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    pid = os.fork()
    if pid == 0:
        os.close(sync_w)
        os.close(err_r)
        for fd in out_fds:
            os.close(fd)
        if listener is not None:
            listener.close()
        if stdin_w >= 0 and not tty:
            os.close(stdin_w)
        for i, fd in enumerate(child_io):
            os.dup2(fd, i)
        _init(spec, sync_r, err_w, 0 if tty else None)
    os.close(sync_r)
    os.close(err_w)
    for fd in set(child_io):
        os.close(fd)
    try:
        for f in spec["cgroup_procs"]:
            with open(f, "w") as cg:
                cg.write(str(pid))
    except OSError as e:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        _write_json(f"{bundle}/exit.json", {"exit_code": 128, "signal": 0, "finished_at": time.time_ns(),
                                            "start_error": f"joining cgroup: {e}"})
        _ready(ready_fd)
        return 1
    os.write(sync_w, b"x")
    os.close(sync_w)
    err = b""
    while chunk := os.read(err_r, 4096):
        err += chunk
    os.close(err_r)
    if err:
        os.waitpid(pid, 0)
        _write_json(f"{bundle}/exit.json", {"exit_code": 128, "signal": 0, "finished_at": time.time_ns(),
                                            "start_error": err.decode(errors="replace")})
        _ready(ready_fd)
        return 0
    _write_json(f"{bundle}/started.json", {"pid": pid, "start_time": nsutil.proc_start_time(pid),
                                           "started_at": time.time_ns()})
    _ready(ready_fd)
    logs = LogWriter(spec["log_path"], int(spec.get("log_max_bytes") or 0))
    reopen = False

    def on_usr1(*_: object) -> None:
        nonlocal reopen
        reopen = True

    signal.signal(signal.SIGUSR1, on_usr1)
    splitters = {fd: logfmt.LineSplitter(name) for fd, name in out_fds.items()}
    sel = selectors.DefaultSelector()
    for fd in out_fds:
        sel.register(fd, selectors.EVENT_READ, "out")
    att = _Attached(sel, stdin_w, tty, bool(spec.get("stdin_once")))
    if listener is not None:
        sel.register(listener, selectors.EVENT_READ, "listen")
    sel.register(wake_r, selectors.EVENT_READ, "wake")
    status: int | None = None
    exited_at = 0.0
    open_outs = len(out_fds)
    while open_outs:
        # once the init exited, poll: escaped processes may keep a pipe open (see the 2 s cut-off below)
        events = sel.select(timeout=None if status is None else 0.2)
        if reopen:  # after select: a reopen requested while we waited applies to what it returned
            reopen = False
            logs.reopen()
        for key, _ in events:
            if key.data == "wake":
                while True:
                    try:
                        if not os.read(wake_r, 512):
                            break
                    except BlockingIOError:
                        break
                continue
            if key.data == "listen":
                att.accept(key.fileobj)  # type: ignore[arg-type]
                continue
            if key.data == "client":
                att.readable(key.fileobj)  # type: ignore[arg-type]
                continue
            fd = int(key.fd)
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""  # a pty master reads EIO once the slave side is gone
            now = time.time_ns()
            if data:
                logs.write(splitters[fd].feed(data, now))
                att.output(attach.STDERR if out_fds[fd] == "stderr" else attach.STDOUT, data)
            else:
                logs.write(splitters[fd].flush(now))
                sel.unregister(fd)
                if fd != stdin_w:
                    os.close(fd)
                open_outs -= 1
        if status is None:
            wpid, st = os.waitpid(pid, os.WNOHANG)
            if wpid:
                status, exited_at = st, time.monotonic()
        elif time.monotonic() - exited_at > 2.0:
            break  # processes that escaped the container's PID namespace keep a pipe open; stop reading them
    if status is None:
        _, status = os.waitpid(pid, 0)
    finished = time.time_ns()
    for sp in splitters.values():
        logs.write(sp.flush(finished))
    if os.WIFSIGNALED(status):
        code, sig = 128 + os.WTERMSIG(status), os.WTERMSIG(status)
    else:
        code, sig = os.WEXITSTATUS(status), 0
    _write_json(f"{bundle}/exit.json", {"exit_code": code, "signal": sig, "finished_at": finished})
    att.close(code)
    if listener is not None:
        listener.close()
    return 0


class _Attached:
    """Clients attached through the shim's socket: their stdin goes to the container, its output to them."""

    def __init__(self, sel: selectors.BaseSelector, stdin_w: int, tty: bool, stdin_once: bool) -> None:
        self.sel = sel
        self.stdin_w = stdin_w
        self.tty = tty
        self.stdin_once = stdin_once
        self.clients: dict[socket.socket, bytearray] = {}

    def accept(self, listener: socket.socket) -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        conn.setblocking(False)
        self.clients[conn] = bytearray()
        self.sel.register(conn, selectors.EVENT_READ, "client")

    def _drop(self, conn: socket.socket) -> None:
        self.sel.unregister(conn)
        self.clients.pop(conn, None)
        conn.close()
        if self.stdin_once:
            self._close_stdin()  # the first attached session ends the container's input

    def _close_stdin(self) -> None:
        if self.stdin_w >= 0 and not self.tty:
            os.close(self.stdin_w)
        self.stdin_w = -1

    def readable(self, conn: socket.socket) -> None:
        try:
            data = conn.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        buf = self.clients[conn]
        buf += data
        for ch, payload in attach.parse(buf):
            if ch == attach.STDIN and self.stdin_w >= 0:
                try:
                    os.write(self.stdin_w, payload)
                except OSError:
                    self._close_stdin()
            elif ch == attach.CLOSE:
                if self.tty and self.stdin_w >= 0:
                    os.write(self.stdin_w, b"\x04")  # end of input on a terminal
                else:
                    self._close_stdin()
            elif ch == attach.RESIZE and self.tty and self.stdin_w >= 0:
                size = json.loads(payload or b"{}")
                fcntl.ioctl(self.stdin_w, termios.TIOCSWINSZ,
                            struct.pack("HHHH", int(size.get("Height", 24)), int(size.get("Width", 80)), 0, 0))

    def output(self, channel: int, data: bytes) -> None:
        for conn in list(self.clients):
            try:
                conn.settimeout(1.0)  # a stuck client is dropped rather than stalling the container's output
                conn.sendall(attach.frame(channel, data))
                conn.setblocking(False)
            except OSError:
                self._drop(conn)

    def close(self, exit_code: int) -> None:
        self.stdin_once = False
        self.output(attach.EXIT, str(exit_code).encode())
        for conn in list(self.clients):
            self._drop(conn)


def _ready(fd: int) -> None:
    """Tell the runtime that started.json or exit.json is written (it blocks on this pipe, no polling)."""
    if fd >= 0:
        try:
            os.write(fd, b"\n")
            os.close(fd)
        except OSError:
            pass  # the runtime went away; the files still tell the next one


def main() -> int:
    bundle = sys.argv[1]
    ready_fd = int(sys.argv[2]) if len(sys.argv) > 2 else -1
    return serve(bundle, ready_fd)


def serve(bundle: str, ready_fd: int) -> int:
    """The shim's whole life (``main`` from a command line; node_agent.runtime.forkserver calls it in a fork)."""
    if ready_fd >= 0:
        os.set_inheritable(ready_fd, False)  # never leak it into the container
    try:
        return run(bundle, ready_fd)
    except BaseException:
        import traceback

        with open(f"{bundle}/shim-error.txt", "w") as f:
            f.write(traceback.format_exc())
        if not os.path.exists(f"{bundle}/exit.json"):
            _write_json(f"{bundle}/exit.json", {"exit_code": 128, "signal": 0, "finished_at": time.time_ns(),
                                                "start_error": traceback.format_exc(limit=1).strip()[-500:]})
        _ready(ready_fd)
        return 1


if __name__ == "__main__":
    sys.exit(main())
