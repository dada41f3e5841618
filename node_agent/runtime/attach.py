"""Attaching to a container's own stdin/stdout/stderr: the shim serves a unix socket, the streaming server bridges it.

The shim listens on an abstract unix socket (``\\0kemu-attach-<container id>``, bound before the shim joins the
pod's network namespace, so it lives in the runtime's). Frames in both directions are ``channel (1 byte) +
length (4 bytes, big endian) + payload``. Client to shim: 0 stdin data, 4 terminal resize ({"Width", "Height"}),
255 close stdin. Shim to client: 1 stdout, 2 stderr, 3 the container's exit code (decimal text) just before the
shim closes the connection.
"""

from __future__ import annotations

import socket
import struct

STDIN, STDOUT, STDERR, EXIT, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
_HDR = struct.Struct(">BI")


def socket_name(container_id: str) -> str:
    return f"\0kemu-attach-{container_id}"


def frame(channel: int, payload: bytes) -> bytes:
    return _HDR.pack(channel, len(payload)) + payload


def parse(buf: bytearray) -> list[tuple[int, bytes]]:
    """Complete frames at the front of ``buf`` (consumed); a partial frame stays for the next read."""
    out = []
    while len(buf) >= _HDR.size:
        ch, n = _HDR.unpack_from(buf)
        if len(buf) < _HDR.size + n:
            break
        out.append((ch, bytes(buf[_HDR.size:_HDR.size + n])))
        del buf[:_HDR.size + n]
    return out


def listen(container_id: str) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(socket_name(container_id))
    s.listen(8)
    s.setblocking(False)
    return s
