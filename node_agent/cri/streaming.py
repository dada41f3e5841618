"""The CRI streaming server: Exec, Attach and PortForward over WebSocket on 127.0.0.1 (random port).

The CRI Exec/Attach/PortForward calls only register a request and return a one-time URL
``http://127.0.0.1:<port>/<kind>/<token>``; the kubelet (or a test) connects there with a WebSocket.

Attach bridges to the container's own stdio through its shim's socket (node_agent.runtime.attach).
Exec and Attach speak the Kubernetes remotecommand channel protocol (subprotocols ``v5.channel.k8s.io``,
``v4.channel.k8s.io``, ``channel.k8s.io``): every binary frame starts with a channel byte -- 0 stdin, 1 stdout,
2 stderr, 3 error/status, 4 resize ({"Width", "Height"} JSON) and, in v5, 255 = close the channel named by the next
byte (stdin EOF). On exit, v4/v5 send a metav1 Status on channel 3: ``Success``, or ``Failure`` with reason
``NonZeroExitCode`` and ``details.causes[{reason: ExitCode, message: "<n>"}]``; the v1 protocol sends only an error
text. A tty exec runs on a pty (stdout only, resize applies TIOCSWINSZ).

PortForward (subprotocol ``v4.channel.k8s.io``, as the kubelet's WebSocket port-forward), for each ``?port=P``:
channel 2i carries data, 2i+1 errors, and the first frame on each carries the port as two little-endian bytes.
The connection to the port is made from inside the pod's network namespace by a short-lived thread that
setns()es itself (a socket keeps the namespace it was created in). A frame ``255, 2i`` (v5's close-channel
convention) half-closes port i's connection; the WebSocket closes once every pod connection has ended.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import pty
import secrets
import signal
import socket
import struct
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from node_agent.runtime import attach, nsutil
from node_agent.runtime.runtime import Runtime

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io")
# the kubelet's WebSocket port-forward speaks v4.channel.k8s.io (or no subprotocol); portforward.k8s.io is SPDY's
# name, accepted too
PF_PROTOCOLS = ("v4.channel.k8s.io", "portforward.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
TOKEN_TTL_S = 60.0


@dataclass
class Pending:
    kind: str  # exec | attach | portforward
    target: str  # container id or sandbox id
    cmd: list[str] = field(default_factory=list)
    tty: bool = False
    stdin: bool = False
    stdout: bool = True
    stderr: bool = True
    ports: list[int] = field(default_factory=list)
    expires: float = 0.0


def status_json(exit_code: int, message: str = "") -> bytes:
    if exit_code == 0 and not message:
        return json.dumps({"metadata": {}, "status": "Success"}).encode()
    st: dict[str, Any] = {"metadata": {}, "status": "Failure",
                          "message": message or f"command terminated with non-zero exit code: exit status {exit_code}",
                          "reason": "NonZeroExitCode" if not message else "InternalError"}
    if not message:
        st["details"] = {"causes": [{"reason": "ExitCode", "message": str(exit_code)}]}
    return json.dumps(st).encode()


_TIOCGPTN = 0x80045430  # linux: the pty number of a ptmx master
_TIOCSPTLCK = 0x40045431  # linux: (un)lock the slave


def _container_pty(runtime: Any, cid: str) -> tuple[int, int]:
    """A pty from the container's own devpts instance (its /dev/pts is a new instance), so that ``tty`` and
    ttyname() inside the container find the terminal as /dev/pts/N; the host's pty when that is not reachable."""
    try:
        root = f"/proc/{int(runtime.container(cid)['init_pid'])}/root/dev/pts"
        master = os.open(f"{root}/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except (OSError, KeyError, TypeError, ValueError, AttributeError):
        return pty.openpty()
    try:
        fcntl.ioctl(master, _TIOCSPTLCK, struct.pack("i", 0))
        n = struct.unpack("I", fcntl.ioctl(master, _TIOCGPTN, struct.pack("I", 0)))[0]
        slave = os.open(f"{root}/{n}", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        os.close(master)
        return pty.openpty()
    return master, slave


class StreamingServer:
    def __init__(self, runtime: Runtime, host: str = "127.0.0.1", clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.runtime = runtime
        self.host = host
        self.clock = clock
        self.pending: dict[str, Pending] = {}
        self.port = 0
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/exec/{token}", self._exec)
        app.router.add_get("/attach/{token}", self._attach)
        app.router.add_get("/portforward/{token}", self._portforward)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, 0)
        await site.start()
        server: Any = site._server
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def register(self, p: Pending) -> str:
        now = self.clock()
        for t in [t for t, q in self.pending.items() if q.expires < now]:
            del self.pending[t]
        p.expires = now + TOKEN_TTL_S
        token = secrets.token_urlsafe(16)
        self.pending[token] = p
        return f"http://{self.host}:{self.port}/{p.kind}/{token}"

    def _take(self, request: web.Request, kind: str) -> Pending:
        p = self.pending.pop(request.match_info["token"], None)
        if p is None or p.kind != kind or p.expires < self.clock():
            raise web.HTTPNotFound(text="unknown or expired streaming token")
        return p

    async def _exec(self, request: web.Request) -> web.StreamResponse:
        p = self._take(request, "exec")
        ws = web.WebSocketResponse(protocols=PROTOCOLS, max_msg_size=0)
        await ws.prepare(request)
        proto = ws.ws_protocol or "channel.k8s.io"
        try:
            argv, env, files = self.runtime.exec_argv(p.target, p.cmd)
        except Exception as e:
            await _send(ws, ERROR, status_json(1, str(e)) if proto != "channel.k8s.io" else str(e).encode())
            await ws.close()
            return ws
        code = await self._run(ws, proto, argv, env, files, p)
        if proto == "channel.k8s.io":
            if code != 0:
                await _send(ws, ERROR, f"command terminated with non-zero exit code: exit status {code}".encode())
        else:
            await _send(ws, ERROR, status_json(code))
        await ws.close()
        return ws

    async def _run(self, ws: web.WebSocketResponse, proto: str, argv: list[str], env: dict[str, str],
                   files: list[str], p: Pending) -> int:
        loop = asyncio.get_running_loop()

        master = -1
        if p.tty:
            master, slave = _container_pty(self.runtime, p.target)
            # setsid -c: a new session with the pty as controlling terminal, without Python after fork
            proc = await asyncio.create_subprocess_exec("setsid", "-c", *argv, stdin=slave, stdout=slave,
                                                        stderr=slave, env=env)
            os.close(slave)
            outs: list[tuple[int, int]] = [(master, STDOUT)]
            stdin_fd = master
        else:
            in_r, in_w = os.pipe()
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            proc = await asyncio.create_subprocess_exec(*argv, stdin=in_r, stdout=out_w, stderr=err_w, env=env,
                                                        start_new_session=True)
            for fd in (in_r, out_w, err_w):
                os.close(fd)
            outs = [(out_r, STDOUT), (err_r, STDERR)]
            stdin_fd = in_w
            if not p.stdin:
                os.close(in_w)
                stdin_fd = -1
        queue: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        open_outs = len(outs)

        async def sender() -> None:
            # one sender keeps the frames of each channel in the order they were read
            while (item := await queue.get()) is not None:
                await _send(ws, *item)

        def reader(fd: int, ch: int) -> None:
            nonlocal open_outs
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if data:
                if (ch == STDOUT and p.stdout) or (ch == STDERR and p.stderr):
                    queue.put_nowait((ch, data))
                return
            loop.remove_reader(fd)
            if fd != master:
                os.close(fd)
            open_outs -= 1
            if open_outs == 0:
                queue.put_nowait(None)

        for fd, ch in outs:
            os.set_blocking(fd, False)
            loop.add_reader(fd, reader, fd, ch)

        async def pump_in() -> None:
            nonlocal stdin_fd
            async for msg in ws:
                if msg.type != WSMsgType.BINARY or not msg.data:
                    continue
                ch, data = msg.data[0], msg.data[1:]
                if ch == STDIN and stdin_fd >= 0:
                    await loop.run_in_executor(None, _write_all, stdin_fd, data)
                elif ch == RESIZE and master >= 0:
                    size = json.loads(data or b"{}")
                    fcntl.ioctl(master, termios.TIOCSWINSZ,
                                struct.pack("HHHH", int(size.get("Height", 24)), int(size.get("Width", 80)), 0, 0))
                elif ch == CLOSE and data[:1] == bytes([STDIN]) and stdin_fd >= 0 and stdin_fd != master:
                    os.close(stdin_fd)
                    stdin_fd = -1
            # the client went away: end the command
            if proc.returncode is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL) if not p.tty else proc.kill()
                except ProcessLookupError:
                    pass

        pump = asyncio.ensure_future(pump_in())
        send = asyncio.ensure_future(sender())
        code = await proc.wait()
        try:
            await asyncio.wait_for(asyncio.shield(send), 2.0)
        except TimeoutError:
            send.cancel()
        for fd, _ in outs:
            loop.remove_reader(fd)
        if master >= 0:
            os.close(master)
        elif stdin_fd >= 0:
            os.close(stdin_fd)
        pump.cancel()
        return 128 - code if code < 0 else code

    async def _attach(self, request: web.Request) -> web.StreamResponse:
        """Bridge the WebSocket to the shim's attach socket: the container's own stdin, stdout and stderr."""
        p = self._take(request, "attach")
        ws = web.WebSocketResponse(protocols=PROTOCOLS, max_msg_size=0)
        await ws.prepare(request)
        v1 = ws.ws_protocol in (None, "channel.k8s.io")
        try:
            reader, writer = await asyncio.open_unix_connection(attach.socket_name(p.target))
        except OSError as e:
            msg = f"cannot attach to container {p.target}: {e}"
            await _send(ws, ERROR, msg.encode() if v1 else status_json(1, msg))
            await ws.close()
            return ws

        async def from_client() -> None:
            async for msg in ws:
                if msg.type != WSMsgType.BINARY or not msg.data:
                    continue
                ch, data = msg.data[0], msg.data[1:]
                if ch == STDIN and p.stdin:
                    writer.write(attach.frame(attach.STDIN, data))
                elif ch == RESIZE:
                    writer.write(attach.frame(attach.RESIZE, data))
                elif ch == CLOSE and data[:1] == bytes([STDIN]):
                    writer.write(attach.frame(attach.CLOSE, b""))
                await writer.drain()

        pump = asyncio.ensure_future(from_client())
        buf = bytearray()
        code: int | None = None
        while code is None and (chunk := await reader.read(65536)):
            buf += chunk
            for ch, data in attach.parse(buf):
                if ch == attach.EXIT:
                    code = int(data or b"0")
                elif (ch == attach.STDOUT and p.stdout) or (ch == attach.STDERR and p.stderr):
                    await _send(ws, ch, data)
        pump.cancel()
        writer.close()
        if code is not None and not v1:
            await _send(ws, ERROR, status_json(code))
        await ws.close()
        return ws

    async def _portforward(self, request: web.Request) -> web.StreamResponse:
        p = self._take(request, "portforward")
        ports = [int(x) for x in request.query.getall("port", [])] or p.ports
        ws = web.WebSocketResponse(protocols=PF_PROTOCOLS, max_msg_size=0)
        await ws.prepare(request)
        netns = self.runtime.netns_path(p.target)
        loop = asyncio.get_running_loop()
        writers: dict[int, asyncio.StreamWriter] = {}
        open_copies: set[int] = set()
        tasks = []
        for i, port in enumerate(ports):
            await _send(ws, 2 * i, struct.pack("<H", port))
            await _send(ws, 2 * i + 1, struct.pack("<H", port))
            try:
                sock = await loop.run_in_executor(None, _connect_in_netns, netns, port)
            except OSError as e:
                await _send(ws, 2 * i + 1, f"error forwarding port {port}: {e}".encode())
                continue
            reader, writer = await asyncio.open_connection(sock=sock)
            writers[2 * i] = writer
            open_copies.add(2 * i)

            async def copy_out(r: asyncio.StreamReader = reader, ch: int = 2 * i) -> None:
                while data := await r.read(65536):
                    await _send(ws, ch, data)
                open_copies.discard(ch)
                if not open_copies:  # every pod connection ended: so does the stream (the client sees EOF)
                    await ws.close()

            tasks.append(asyncio.ensure_future(copy_out()))
        async for msg in ws:
            if msg.type == WSMsgType.BINARY and msg.data and msg.data[0] in writers:
                writers[msg.data[0]].write(msg.data[1:])
                await writers[msg.data[0]].drain()
            elif msg.type == WSMsgType.BINARY and msg.data[:1] == bytes([CLOSE]) and msg.data[1:2] \
                    and msg.data[1] in writers and writers[msg.data[1]].can_write_eof():
                writers[msg.data[1]].write_eof()  # the client half-closed: the pod reads EOF
        for t in tasks:
            t.cancel()
        for w in writers.values():
            w.close()
        return ws


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            time.sleep(0.005)
            continue
        view = view[n:]


def _connect_in_netns(netns: str, port: int) -> socket.socket:
    result: list[Any] = []

    def work() -> None:
        try:
            # setns changes only this thread's namespace, and the thread ends right after
            nsutil.setns(netns, nsutil.CLONE_NEWNET)
            result.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        except OSError as e:
            result.append(e)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    if isinstance(result[0], OSError):
        raise result[0]
    sock: socket.socket = result[0]
    sock.setblocking(False)
    return sock


async def _send(ws: web.WebSocketResponse, ch: int, data: bytes) -> None:
    if not ws.closed:
        try:
            await ws.send_bytes(bytes([ch]) + data)
        except ConnectionError:
            pass
